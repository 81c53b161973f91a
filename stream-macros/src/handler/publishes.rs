//! `publishes = "signals.validated"` or `publishes = ["..", ".."]`: the topics a handler
//! declares it publishes to, parsed, checked against the catalog and expanded into
//! `HandlerSpec::publishes`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, ExprArray, LitStr};

use super::parse::lit_str;
use crate::catalog::Loaded;
use crate::errors::Errors;

const EXPECTED: &str = "a topic string such as \"signals.validated\" (a catalog topic on any broker), \"paper.signals.validated\" or \"*.signals.validated\"";

/// The declared outputs as written: one string or a non-empty list of them.
pub(super) fn parse(expr: &Expr, errors: &mut Errors) -> Vec<LitStr> {
    let elems: Vec<&Expr> = match expr {
        Expr::Array(ExprArray { elems, .. }) => {
            if elems.is_empty() {
                errors.push(syn::Error::new_spanned(
                    expr,
                    "`publishes` is empty; name at least one topic, or leave `publishes` out",
                ));
            }
            elems.iter().collect()
        }
        other => vec![other],
    };
    elems
        .into_iter()
        .filter_map(|e| lit_str(e, EXPECTED, errors))
        .collect()
}

/// Each output must be a topic of the catalog: its name without the broker, a full topic, or a
/// pattern matching declared topics; without a catalog, only the grammar is checked.
pub(super) fn validate(outputs: &[LitStr], catalog: Option<&Loaded>, errors: &mut Errors) {
    for lit in outputs {
        if let Err(message) = check(&lit.value(), catalog) {
            errors.push(syn::Error::new(lit.span(), message));
        }
    }
}

fn check(output: &str, catalog: Option<&Loaded>) -> Result<(), String> {
    let Some(loaded) = catalog else {
        let as_name = stream_topics::TopicPattern::parse(&format!("*.{output}"));
        return match (as_name, stream_topics::TopicPattern::parse(output)) {
            (Ok(_), _) | (_, Ok(_)) => Ok(()),
            (_, Err(e)) => Err(e.to_string()),
        };
    };
    let catalog = &loaded.catalog;
    if catalog.topic(output).is_some() {
        return Ok(());
    }
    let (first, rest) = output.split_once('.').unwrap_or((output, ""));
    let is_full =
        catalog.brokers().iter().any(|b| b.as_str() == first) || catalog.topic(rest).is_some();
    if output.contains('*') || is_full {
        let pattern = stream_topics::TopicPattern::parse(output).map_err(|e| e.to_string())?;
        return catalog
            .check_pattern(&pattern)
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    let names: Vec<&str> = catalog.topics().map(|t| t.name()).collect();
    Err(format!(
        "unknown topic `{output}` in `publishes`; {}expected a topic of topics.toml: {}",
        crate::suggest::did_you_mean(output, names.iter().copied()),
        names.join(", "),
    ))
}

/// `.publishes(&[...])` on the handler's spec, when it declares any.
pub(super) fn expand(outputs: &[LitStr]) -> TokenStream {
    if outputs.is_empty() {
        return TokenStream::new();
    }
    quote!(.publishes(&[#(#outputs),*]))
}
