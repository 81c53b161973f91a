//! `#[stream_service(name = "...")]` on `async fn main`: parse, validate, and expand into one
//! call of `streamkit::service::runtime::run_service`, where all behaviour lives.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, FnArg, ItemFn, Lit, LitStr, Meta, Path, ReturnType, Token};

use crate::catalog;
use crate::errors::Errors;

const VALID: &str = "name, crate";

pub(crate) fn stream_service(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let err = syn::Error::new(e.span(), "`#[stream_service]` goes on `async fn main`")
                .to_compile_error();
            return quote! { #err #item };
        }
    };
    let mut errors = Errors::default();
    let mut name: Option<LitStr> = None;
    let mut krate: Option<Path> = None;
    match syn::parse::Parser::parse2(Punctuated::<Meta, Token![,]>::parse_terminated, attr) {
        Err(e) => errors.push(e),
        Ok(metas) => {
            for meta in metas {
                let key = meta
                    .path()
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let value = match &meta {
                    Meta::NameValue(nv) => match &nv.value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => Some(s.clone()),
                        other => {
                            errors.push(syn::Error::new_spanned(
                                other,
                                format!("`{key}` takes a string"),
                            ));
                            None
                        }
                    },
                    _ => None,
                };
                match key.as_str() {
                    "name" | "crate" if value.is_none() && !matches!(meta, Meta::NameValue(_)) => {
                        errors.push(syn::Error::new_spanned(
                            &meta,
                            format!("expected `{key} = \"...\"`"),
                        ));
                    }
                    "name" => {
                        if name.is_some() {
                            errors.push(syn::Error::new_spanned(
                                meta.path(),
                                "`name` specified more than once",
                            ));
                        } else if let Some(v) = value {
                            if v.value().trim().is_empty() {
                                errors.push(syn::Error::new_spanned(&v, "`name` is empty"));
                            }
                            name = Some(v);
                        }
                    }
                    "crate" => {
                        if krate.is_some() {
                            errors.push(syn::Error::new_spanned(
                                meta.path(),
                                "`crate` specified more than once",
                            ));
                        } else if let Some(v) = value {
                            match v.parse_with(Path::parse_mod_style) {
                                Ok(p) => krate = Some(p),
                                Err(_) => errors.push(syn::Error::new_spanned(
                                    &v,
                                    "expected a path such as \"stream_core\"",
                                )),
                            }
                        }
                    }
                    _ => errors.push(syn::Error::new_spanned(
                        meta.path(),
                        format!(
                            "unknown argument `{key}`; {}expected one of: {VALID}",
                            crate::suggest::did_you_mean(&key, ["name", "crate"])
                        ),
                    )),
                }
            }
        }
    }
    if name.is_none() {
        errors.push(syn::Error::new(
            Span::call_site(),
            "missing `name`: `#[stream_service(name = \"risk-manager\")]`",
        ));
    }
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "`#[stream_service]` needs `async fn main`",
        ));
    }
    if sig.ident != "main" {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            "`#[stream_service]` goes on `async fn main`",
        ));
    }
    if sig.inputs.len() > 1 {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            "`main` takes nothing, or one `streamkit::Setup` to add state and handlers",
        ));
    }
    if let Some(FnArg::Receiver(r)) = sig.inputs.first() {
        errors.push(syn::Error::new_spanned(r, "`main` cannot take `self`"));
    }
    if let ReturnType::Default = sig.output {
        errors.push(syn::Error::new(
            sig.paren_token.span.close(),
            "`#[stream_service]` needs `main` to return `streamkit::Result<()>`: add `-> streamkit::Result<()>` and end the body with `Ok(())`",
        ));
    }
    let catalog = match catalog::load(Span::call_site()) {
        Ok(c) => c,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if !errors.is_empty() {
        // Keep the body type-checked (and the IDE working) in a function of its own; only the
        // real errors show, not "`main` is not allowed to be `async`".
        let errs = errors.to_compile_errors();
        let inputs = &func.sig.inputs;
        let output = &func.sig.output;
        let body = &func.block;
        return quote! {
            #errs
            #[allow(dead_code)]
            async fn __streamkit_main(#inputs) #output #body
            fn main() {}
        };
    }
    let krate = krate.unwrap_or_else(|| syn::parse_quote!(::streamkit));
    let name = name.expect("checked");
    let inputs = &sig.inputs;
    let output = &sig.output;
    let body = &func.block;
    let attrs = &func.attrs;
    // Spanned on the user's types, so a wrong return type or parameter type is one error on that
    // type ("expected `Result<(), Error>`, found `()`"), not one on the attribute.
    let setup = match inputs.first() {
        Some(FnArg::Typed(pt)) => {
            let span = pt.ty.span();
            quote_spanned!(span=> __streamkit_setup)
        }
        _ => TokenStream::new(),
    };
    let ret_span = match output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => Span::call_site(),
    };
    let awaited = quote_spanned!(ret_span=> __streamkit_future.await);
    let catalog_text = match &catalog {
        Some(c) => {
            let path = c.path.to_string_lossy();
            quote!(::core::option::Option::Some(::core::include_str!(#path)))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #(#attrs)*
        fn main() -> ::std::process::ExitCode {
            async fn __streamkit_main(#inputs) #output #body
            #krate::__private::run_service(
                #name,
                #catalog_text,
                |__streamkit_setup: #krate::__private::Setup| async move {
                    let __streamkit_future = __streamkit_main(#setup);
                    let result: #krate::__private::Result<()> = #awaited;
                    result
                },
            )
        }
    }
}
