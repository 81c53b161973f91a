//! Batch handlers in `#[stream_handler]`: a function whose argument is a `Batch<T>`, with
//! `batch_max = N` and `batch_linger_ms = M`.

use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Type};

use super::parse::Args;
use crate::errors::Errors;

/// Whether `ty` is a `Batch<..>`.
pub(crate) fn is_batch_type(ty: &Type) -> bool {
    matches!(ty, Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "Batch"))
}

/// The function's `Batch<T>` argument, if it has one.
pub(crate) fn batch_argument(func: &ItemFn) -> Option<&Type> {
    func.sig.inputs.iter().find_map(|a| match a {
        FnArg::Typed(pt) if is_batch_type(&pt.ty) => Some(&*pt.ty),
        _ => None,
    })
}

/// A batch handler takes its `Batch<T>` alone, runs without concurrency or exactly-once, and
/// takes at least one record a batch; `batch_max` and `batch_linger_ms` need a `Batch<T>`.
pub(crate) fn check_batch(func: &ItemFn, args: &Args, errors: &mut Errors) {
    let settings = [&args.batch_max, &args.batch_linger_ms];
    let Some(batch) = batch_argument(func) else {
        for lit in settings.into_iter().flatten() {
            errors.push(syn::Error::new_spanned(
                lit,
                "batch settings need a batch handler: take the records as one `Batch<T>` argument",
            ));
        }
        return;
    };
    if func.sig.inputs.len() > 1 {
        errors.push(syn::Error::new(
            func.sig.inputs.span(),
            "a batch handler takes one argument, its `Batch<T>`",
        ));
    }
    if let Some(m) = &args.batch_max
        && m.base10_parse::<u32>().map_or(true, |n| n == 0)
    {
        errors.push(syn::Error::new_spanned(m, "`batch_max` must be 1 or more"));
    }
    if let Some(l) = &args.batch_linger_ms
        && l.base10_parse::<u64>().is_err()
    {
        errors.push(syn::Error::new_spanned(
            l,
            "`batch_linger_ms` takes milliseconds",
        ));
    }
    let concurrent = args
        .concurrency
        .as_ref()
        .is_some_and(|c| c.base10_parse::<u32>().is_ok_and(|n| n > 1));
    let exactly_once = args.exactly_once.as_ref().is_some_and(|b| b.value);
    if concurrent || exactly_once {
        errors.push(syn::Error::new_spanned(
            batch,
            "a batch handler runs without `concurrency` and without `exactly_once`: a partition's batches are handled one at a time, outside transactions",
        ));
    }
}
