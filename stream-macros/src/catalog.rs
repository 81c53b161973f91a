//! The topic catalog at compile time: `topics.toml` next to the crate being compiled.
//!
//! Found through `CARGO_MANIFEST_DIR` (never a path from the user's code), like sqlx finds its
//! offline data. `STREAMKIT_TOPICS_FILE` may name another file (relative to `CARGO_MANIFEST_DIR`,
//! or absolute: it is a build setting, used by our UI tests). The expansion includes the file with
//! `include_str!`, so editing it rebuilds the crate. No broker is ever contacted at compile time.

use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use stream_topics::Catalog;

/// A catalog read from disk, with the path it came from.
pub(crate) struct Loaded {
    pub catalog: Catalog,
    pub path: PathBuf,
}

impl Loaded {
    /// `const _: &str = include_str!("...")`: makes cargo rebuild when the file changes; and
    /// [`track_env`].
    pub(crate) fn track(&self) -> TokenStream {
        let path = self.path.to_string_lossy();
        let env = track_env();
        quote! {
            const _: &str = ::core::include_str!(#path);
            #env
        }
    }
}

/// `option_env!("STREAMKIT_TOPICS_FILE")` in the expansion: rustc records the variable in the
/// crate's dep-info, so cargo rebuilds when it is set, changed or unset (a proc macro's own
/// `std::env::var` is invisible to cargo). A `topics.toml` created where there was none is not
/// seen until the crate is rebuilt for another reason.
pub(crate) fn track_env() -> TokenStream {
    quote! { const _: ::core::option::Option<&str> = ::core::option_env!("STREAMKIT_TOPICS_FILE"); }
}

/// The catalog of the crate being compiled, if it has one. A catalog that does not parse is an
/// error spanned at `span` naming the file.
pub(crate) fn load(span: Span) -> Result<Option<Loaded>, syn::Error> {
    let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        return Ok(None);
    };
    let path = match std::env::var("STREAMKIT_TOPICS_FILE") {
        Ok(file) if !file.is_empty() => PathBuf::from(&dir).join(file),
        _ => PathBuf::from(&dir).join("topics.toml"),
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    match Catalog::parse(&text) {
        Ok(catalog) => Ok(Some(Loaded { catalog, path })),
        Err(e) => Err(syn::Error::new(span, format!("{}: {e}", path.display()))),
    }
}
