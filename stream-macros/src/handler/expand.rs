//! Generating a `#[stream_handler]`: the function as written, checks spanned on the user's
//! types, and one registry entry that builds the handler's `HandlerSpec`.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, Path, PathArguments, Type};

use super::parse::Args;

/// The `T` of an `Envelope<T>` or `Data<T>` argument whose event type is checked: any `T` but a
/// `Value` (`serde_json::Value`), which reads every event type and implements no `Event`.
fn payload_type(ty: &Type) -> Option<&Type> {
    let Type::Path(tp) = ty else { return None };
    let last = tp.path.segments.last()?;
    if last.ident != "Envelope" && last.ident != "Data" && last.ident != "Batch" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let payload = args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })?;
    match payload {
        Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Value") => None,
        other => Some(other),
    }
}

/// The type of each argument, patterns stripped.
fn arg_types(func: &ItemFn) -> Vec<&Type> {
    func.sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(pt) => Some(&*pt.ty),
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// Every argument must be an extractor: a hidden call spanned on the argument's type, so the
/// `FromMessage` diagnostic points at it.
pub(crate) fn extractor_checks(func: &ItemFn, krate: &Path) -> TokenStream {
    let checks = arg_types(func)
        .into_iter()
        .filter(|ty| !super::batch::is_batch_type(ty))
        .map(|ty| {
            quote_spanned! {ty.span()=>
                __streamkit_is_extractor::<#ty>();
            }
        });
    quote! {
        #[allow(dead_code)]
        const _: () = {
            fn __streamkit_is_extractor<T: #krate::__private::FromMessage>() {}
            fn __streamkit_check() {
                #(#checks)*
            }
        };
    }
}

/// The payload types must carry the event type the catalog gives the handler's topics.
fn event_type_checks(
    func: &ItemFn,
    args: &Args,
    event_types: &BTreeSet<String>,
    krate: &Path,
) -> TokenStream {
    if event_types.is_empty() {
        return TokenStream::new();
    }
    let name = func.sig.ident.unraw().to_string();
    let topics: Vec<String> = args.topics.iter().map(|t| t.value()).collect();
    let wanted: Vec<&String> = event_types.iter().collect();
    let checks = arg_types(func).into_iter().filter_map(payload_type).map(|payload| {
        let shown = quote!(#payload).to_string().replace(' ', "");
        let message = format!(
            "payload type `{shown}` of handler `{name}` must carry event type {} (the event type topics.toml gives `{}`); set `#[event(type = \"{}\")]` on `{shown}` or subscribe it to its own topic",
            wanted.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(" or "),
            topics.join("`, `"),
            wanted[0],
        );
        let conds = wanted.iter().map(|w| {
            quote_spanned! {payload.span()=>
                #krate::__private::str_eq(<#payload as #krate::__private::Event>::EVENT_TYPE, #w)
            }
        });
        quote_spanned! {payload.span()=>
            const _: () = ::core::assert!(#(#conds)||*, #message);
        }
    });
    quote! { #(#checks)* }
}

pub(crate) fn expand(
    func: &ItemFn,
    args: &Args,
    event_types: &BTreeSet<String>,
    krate: &Path,
) -> TokenStream {
    let ident = &func.sig.ident;
    // `r#type` is registered as `type`; the static keeps the exact name so `foo` and `FOO` differ.
    let name = ident.unraw().to_string();
    let topics = args.topics.iter();
    let group = args.group.as_ref().expect("validated");
    let static_name = format_ident!("__STREAMKIT_HANDLER_{}", name);
    let mut options = TokenStream::new();
    if let Some(r) = &args.retry {
        let attempts = r.attempts.as_ref().map(|a| quote!(.max_attempts(#a)));
        let backoff = match (&r.backoff_ms, &r.max_backoff_ms) {
            (None, None) => None,
            (b, m) => {
                let b = b.as_ref().map(|b| quote!(#b)).unwrap_or(quote!(100));
                let m = m.as_ref().map(|m| quote!(#m)).unwrap_or(quote!(10_000));
                Some(quote!(.backoff(
                    ::core::time::Duration::from_millis(#b),
                    ::core::time::Duration::from_millis(#m),
                )))
            }
        };
        options.extend(quote! {
            .retry(#krate::__private::RetryPolicy::default() #attempts #backoff)
        });
    }
    if let Some(d) = &args.dlq {
        options.extend(quote!(.dlq(#d)));
    }
    if let Some(d) = &args.dedup {
        options.extend(quote!(.dedup(#d)));
    }
    if let Some(on) = &args.exactly_once {
        options.extend(quote!(.exactly_once(#on)));
    }
    if let Some(n) = &args.concurrency {
        options.extend(quote!(.concurrency(#n)));
    }
    if let Some(order) = &args.order {
        let mode = match order.value().as_str() {
            "none" => format_ident!("None"),
            "partition" => format_ident!("Partition"),
            _ => format_ident!("Key"),
        };
        options.extend(quote!(.order(#krate::__private::Order::#mode)));
    }
    if let Some(n) = &args.batch_max {
        options.extend(quote!(.batch_max(#n)));
    }
    if let Some(ms) = &args.batch_linger_ms {
        options.extend(quote!(.batch_linger(::core::time::Duration::from_millis(#ms))));
    }
    if let Some(accepted) = &args.accept {
        options.extend(quote!(.accept(&[#(#accepted),*])));
    }
    if let Some(outputs) = &args.publishes {
        options.extend(super::publishes::expand(outputs));
    }
    let constructor = if super::batch::batch_argument(func).is_some() {
        format_ident!("batch")
    } else {
        format_ident!("new")
    };
    let extractors = extractor_checks(func, krate);
    let events = event_type_checks(func, args, event_types, krate);
    quote! {
        #func

        #extractors
        #events

        #[allow(non_upper_case_globals)]
        #[#krate::__private::linkme::distributed_slice(#krate::__private::HANDLERS)]
        #[linkme(crate = #krate::__private::linkme)]
        static #static_name: #krate::__private::HandlerEntry = #krate::__private::HandlerEntry {
            name: #name,
            module_path: ::core::module_path!(),
            make: {
                fn __streamkit_make() -> #krate::__private::HandlerSpec {
                    #krate::__private::HandlerSpec::#constructor(#name, &[#(#topics),*], #group, #ident) #options
                }
                __streamkit_make
            },
        };
    }
}
