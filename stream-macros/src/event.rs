//! `#[derive(Event)]`: parse `#[event(...)]`, validate, expand into one `impl Event` and the
//! registration of its data schema (`schema.rs`).
//!
//! Every error found is reported together, each spanned on its token. When only the arguments
//! are wrong the impl is still emitted (with the default event type), so the rest of the user's
//! crate type-checks and only the real errors show.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, LitStr, Path};

mod schema;

const VALID_KEYS: &str = "`type`, `crate`";
const VALID_NAMES: [&str; 2] = ["type", "crate"];

/// The parsed `#[event(...)]` arguments.
#[derive(Default)]
struct Args {
    event_type: Option<LitStr>,
    krate: Option<(Path, Span)>,
}

/// Collects errors so that all of them are reported in one build (serde_derive's `Ctxt`).
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }
}

pub(crate) fn derive(input: DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let args = parse_args(&input, &mut errors);
    let generic = validate(&input, &args, &mut errors);
    let expanded = if generic {
        TokenStream::new()
    } else {
        expand(&input, &args)
    };
    let errors = errors.0.map(|e| e.to_compile_error());
    quote! { #errors #expanded }
}

fn parse_args(input: &DeriveInput, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("event")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("type") {
                let lit: LitStr = meta.value()?.parse()?;
                if args.event_type.is_some() {
                    errors.push(syn::Error::new_spanned(
                        &meta.path,
                        "`type` specified more than once",
                    ));
                } else {
                    args.event_type = Some(lit);
                }
            } else if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                match lit.parse_with(Path::parse_mod_style) {
                    Ok(path) if args.krate.is_none() => args.krate = Some((path, lit.span())),
                    Ok(_) => errors.push(syn::Error::new_spanned(
                        &meta.path,
                        "`crate` specified more than once",
                    )),
                    Err(_) => errors.push(syn::Error::new_spanned(
                        &lit,
                        format!(
                            "`{}` is not a path; expected the runtime crate's path, such as `crate = \"stream_core\"`",
                            lit.value()
                        ),
                    )),
                }
            } else {
                let key = path_string(&meta.path);
                // Skip the value, if any, so the next argument is still read.
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                errors.push(syn::Error::new_spanned(
                    &meta.path,
                    format!(
                        "unknown attribute `{key}` in `#[event(...)]`; {}expected one of: {VALID_KEYS}",
                        crate::suggest::did_you_mean(&key, VALID_NAMES)
                    ),
                ));
            }
            Ok(())
        });
        if let Err(err) = result {
            errors.push(err);
        }
    }
    args
}

fn path_string(path: &Path) -> String {
    quote!(#path).to_string().replace(' ', "")
}

/// Checks what can be checked before expansion; true when the type is generic (no impl can be
/// emitted for it).
fn validate(input: &DeriveInput, args: &Args, errors: &mut Errors) -> bool {
    if let Some(lit) = &args.event_type {
        let name = lit.value();
        if name.is_empty() {
            errors.push(syn::Error::new_spanned(
                lit,
                "the event type is empty; name it, such as `#[event(type = \"trading_signal\")]`",
            ));
        } else if let Some(bad) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
            errors.push(syn::Error::new_spanned(
                lit,
                format!(
                    "the event type `{}` contains {bad:?}; event types are names such as `trading_signal`",
                    name.escape_debug()
                ),
            ));
        }
    }
    let generics = &input.generics;
    if generics.lt_token.is_some() || generics.where_clause.is_some() {
        let span = if generics.params.is_empty() {
            generics.where_clause.span()
        } else {
            generics.params.span()
        };
        errors.push(syn::Error::new(
            span,
            format!(
                "`#[derive(Event)]` does not support generic types: an event type names one concrete payload; \
                 implement `Event` by hand for each instantiation of `{}`",
                input.ident
            ),
        ));
        return true;
    }
    false
}

fn expand(input: &DeriveInput, args: &Args) -> TokenStream {
    let ident = &input.ident;
    let event_type = match &args.event_type {
        Some(lit) => lit.value(),
        None => snake_case(&ident.to_string()),
    };
    let krate = match &args.krate {
        Some((path, span)) => quote_spanned!(*span=> #path),
        None => quote!(::streamkit),
    };
    let registration = schema::registration(ident, &event_type, &krate);
    quote! {
        #[automatically_derived]
        impl #krate::__private::Event for #ident {
            const EVENT_TYPE: &'static str = #event_type;
        }
        #registration
    }
}

/// `TradingSignal` → `trading_signal`, `HTTPRequest` → `http_request`, `OrderV2` → `order_v2`.
fn snake_case(name: &str) -> String {
    let name = name.strip_prefix("r#").unwrap_or(name);
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                Some(_) => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names() {
        for (name, want) in [
            ("TradingSignal", "trading_signal"),
            ("PnlSnapshot", "pnl_snapshot"),
            ("HTTPRequest", "http_request"),
            ("OrderV2", "order_v2"),
            ("Heartbeat", "heartbeat"),
            ("already_snake", "already_snake"),
            ("ABC", "abc"),
            ("r#Type", "type"),
            ("Order_Placed", "order_placed"),
        ] {
            assert_eq!(snake_case(name), want, "{name}");
        }
    }

    fn expand_str(src: &str) -> String {
        derive(syn::parse_str(src).unwrap()).to_string()
    }

    #[test]
    fn expands_with_the_default_crate_path() {
        let out = expand_str("struct TradingSignal { a: u8 }");
        assert!(
            out.contains(":: streamkit :: __private :: Event for TradingSignal"),
            "{out}"
        );
        assert!(out.contains("\"trading_signal\""), "{out}");
    }

    #[test]
    fn reports_every_error_at_once() {
        let out = expand_str(
            r#"#[event(type = "", colour = "red", type = "x", crate = "not a path")] struct S;"#,
        );
        assert!(out.contains("the event type is empty"), "{out}");
        assert!(out.contains("unknown attribute `colour`"), "{out}");
        assert!(out.contains("`type` specified more than once"), "{out}");
        assert!(out.contains("is not a path"), "{out}");
        // The impl is still emitted so the rest of the crate type-checks.
        assert!(
            out.contains("impl :: streamkit :: __private :: Event for S"),
            "{out}"
        );
    }

    #[test]
    fn generic_types_are_rejected() {
        let out = expand_str("struct W<T> { t: T }");
        assert!(out.contains("does not support generic types"), "{out}");
        assert!(!out.contains("Event for"), "{out}");
    }
}
