//! `#[stream_handler]`: parse → validate → expand (the tracing-attributes / thiserror split).

mod batch;
mod expand;
mod parse;
mod publishes;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::errors::Errors;

pub(crate) fn stream_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let err = syn::Error::new(e.span(), "`#[stream_handler]` goes on an `async fn`");
            let err = err.to_compile_error();
            return quote! { #err #item };
        }
    };
    let mut errors = Errors::default();
    let args = parse::parse(attr, &mut errors);
    let checked = validate::validate(&func, &args, &mut errors);
    let krate = args
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::streamkit));
    if !errors.is_empty() {
        // Keep the function so the IDE and the rest of the crate still work; only the real
        // errors show.
        let errs = errors.to_compile_errors();
        return quote! { #errs #func };
    }
    let track = match &checked.catalog {
        Some(c) => c.track(),
        None => crate::catalog::track_env(),
    };
    let expanded = expand::expand(&func, &args, &checked.event_types, &krate);
    quote! { #track #expanded }
}
