//! Checking a `#[stream_handler]`: the function's shape, the arguments, and the topics (always
//! against the grammar, and against `topics.toml` when the crate has one).

use std::collections::BTreeSet;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn};

use super::parse::Args;
use crate::catalog;
use crate::errors::Errors;

/// What expansion needs beyond the arguments.
pub(crate) struct Checked {
    /// Event types the handler's topics carry per the catalog (empty without a catalog).
    pub event_types: BTreeSet<String>,
    /// The catalog, to track for rebuilds.
    pub catalog: Option<catalog::Loaded>,
}

pub(crate) fn validate(func: &ItemFn, args: &Args, errors: &mut Errors) -> Checked {
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "`#[stream_handler]` needs an `async fn`; add `async` before `fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a `#[stream_handler]` cannot be generic; name the payload type, e.g. `Envelope<TradingSignal>`",
        ));
    }
    if let Some(FnArg::Receiver(r)) = sig.inputs.first() {
        errors.push(syn::Error::new_spanned(
            r,
            "a `#[stream_handler]` cannot take `self`; write a free `async fn` and share data with `State<S>`",
        ));
    }
    let call_site = Span::call_site();
    if args.group.is_none() {
        errors.push(syn::Error::new(
            call_site,
            "missing `group`: every handler names its consumer group, e.g. `group = \"risk-manager.signals\"`",
        ));
    }
    if args.topics.is_empty() && args.topics_span.is_none() {
        errors.push(syn::Error::new(
            call_site,
            "missing `topics`: name a topic or pattern, e.g. `topics = \"*.signals.raw\"`",
        ));
    }
    check_concurrency(args, errors);
    super::batch::check_batch(func, args, errors);
    if let Some(r) = &args.retry
        && let Some(a) = &r.attempts
        && a.base10_parse::<u32>().map_or(true, |n| n == 0)
    {
        errors.push(syn::Error::new_spanned(
            a,
            "retry attempts count the first attempt too: 1 or more",
        ));
    }

    let catalog = match catalog::load(call_site) {
        Ok(c) => c,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let mut event_types = BTreeSet::new();
    for lit in &args.topics {
        let pattern = match stream_topics::TopicPattern::parse(&lit.value()) {
            Ok(p) => p,
            Err(e) => {
                errors.push(syn::Error::new(lit.span(), e.to_string()));
                continue;
            }
        };
        if let Some(loaded) = &catalog {
            match loaded.catalog.check_pattern(&pattern) {
                Ok(_) => {
                    for t in loaded.catalog.event_types_of(&pattern) {
                        event_types.insert(t.to_owned());
                    }
                }
                Err(e) => errors.push(syn::Error::new(lit.span(), e.to_string())),
            }
        }
    }
    if let Some(outputs) = &args.publishes {
        super::publishes::validate(outputs, catalog.as_ref(), errors);
    }
    let _ = sig.inputs.span();
    Checked {
        event_types,
        catalog,
    }
}

/// `concurrency` is 1 or more; `order` is a known mode, and only with `concurrency` above 1
/// (with 1 every mode is one record at a time); neither goes with `exactly_once`.
fn check_concurrency(args: &Args, errors: &mut Errors) {
    let n = match &args.concurrency {
        Some(c) => match c.base10_parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                errors.push(syn::Error::new_spanned(
                    c,
                    "`concurrency` must be 1 or more",
                ));
                return;
            }
        },
        None => 1,
    };
    let order = args.order.as_ref().map(|o| (o, o.value()));
    if let Some((lit, value)) = &order {
        if !matches!(value.as_str(), "key" | "partition" | "none") {
            errors.push(syn::Error::new_spanned(
                lit,
                format!("unknown order `{value}`; expected \"key\", \"partition\" or \"none\""),
            ));
            return;
        }
        if n == 1 {
            errors.push(syn::Error::new_spanned(
                lit,
                "`order` needs `concurrency` above 1: with one record of a partition at a time, every order is the partition's",
            ));
            return;
        }
        if value == "partition" {
            errors.push(syn::Error::new_spanned(
                lit,
                "`order = \"partition\"` handles one record of a partition at a time, so `concurrency` would do nothing; choose `order = \"key\"` or `\"none\"`, or drop `concurrency`",
            ));
            return;
        }
    }
    if n > 1
        && let Some(on) = &args.exactly_once
        && on.value
    {
        errors.push(syn::Error::new_spanned(
            args.concurrency.as_ref().expect("concurrency above 1"),
            "`concurrency` above 1 does not go with `exactly_once`: a transaction commits contiguous offsets only, so an exactly-once handler takes one record of a partition at a time",
        ));
    }
}
