//! Parsing `#[stream_handler(...)]` arguments into [`Args`], every mistake collected.

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, ExprLit, Lit, LitBool, LitInt, LitStr, Meta, Path, Token};

use crate::errors::Errors;

pub(crate) const VALID: &str = "topics, group, retry, dlq, dedup, exactly_once, concurrency, order, batch_max, batch_linger_ms, accept, publishes, crate";
const RETRY_VALID: &str = "attempts, backoff_ms, max_backoff_ms";

/// `retry = N` or `retry(attempts = N, backoff_ms = M, max_backoff_ms = K)`.
#[derive(Default)]
pub(crate) struct Retry {
    pub attempts: Option<LitInt>,
    pub backoff_ms: Option<LitInt>,
    pub max_backoff_ms: Option<LitInt>,
}

/// The arguments as written.
#[derive(Default)]
pub(crate) struct Args {
    pub topics: Vec<LitStr>,
    pub topics_span: Option<Span>,
    pub group: Option<LitStr>,
    pub retry: Option<Retry>,
    pub dlq: Option<LitBool>,
    pub dedup: Option<LitBool>,
    /// `exactly_once` or `exactly_once = true|false`.
    pub exactly_once: Option<LitBool>,
    pub concurrency: Option<LitInt>,
    /// `order = "key" | "partition" | "none"`.
    pub order: Option<LitStr>,
    /// `batch_max = N`: the most records in a batch of a `Batch<T>` handler.
    pub batch_max: Option<LitInt>,
    /// `batch_linger_ms = M`: how long a batch waits for more after its first record.
    pub batch_linger_ms: Option<LitInt>,
    /// Event types read besides the payload type's (`accept = ["market_tick"]`).
    pub accept: Option<Vec<LitStr>>,
    /// Declared outputs (`publishes = ["signals.validated"]`).
    pub publishes: Option<Vec<LitStr>>,
    pub krate: Option<Path>,
}

fn once<T>(slot: &mut Option<T>, value: T, name: &str, span: Span, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(syn::Error::new(
            span,
            format!("`{name}` specified more than once"),
        ));
    } else {
        *slot = Some(value);
    }
}

pub(super) fn lit_str(expr: &Expr, what: &str, errors: &mut Errors) -> Option<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        other => {
            errors.push(syn::Error::new_spanned(other, format!("expected {what}")));
            None
        }
    }
}

fn lit_bool(expr: &Expr, name: &str, errors: &mut Errors) -> Option<LitBool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.clone()),
        other => {
            errors.push(syn::Error::new_spanned(
                other,
                format!("`{name}` takes `true` or `false`"),
            ));
            None
        }
    }
}

fn lit_int(expr: &Expr, name: &str, errors: &mut Errors) -> Option<LitInt> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => Some(i.clone()),
        other => {
            errors.push(syn::Error::new_spanned(
                other,
                format!("`{name}` takes a whole number"),
            ));
            None
        }
    }
}

/// `accept = ["market_tick", ...]`: a list of non-empty event type strings.
fn accept_list(expr: &Expr, errors: &mut Errors) -> Vec<LitStr> {
    let Expr::Array(ExprArray { elems, .. }) = expr else {
        errors.push(syn::Error::new_spanned(
            expr,
            "`accept` takes a list of event type strings, e.g. `accept = [\"market_tick\"]`",
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in elems {
        let Some(s) = lit_str(e, "an event type string such as \"market_tick\"", errors) else {
            continue;
        };
        if s.value().trim().is_empty() {
            errors.push(syn::Error::new_spanned(&s, "an event type cannot be empty"));
        } else {
            out.push(s);
        }
    }
    out
}

/// Parses the attribute's tokens.
pub(crate) fn parse(tokens: proc_macro2::TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let metas =
        match syn::parse::Parser::parse2(Punctuated::<Meta, Token![,]>::parse_terminated, tokens) {
            Ok(m) => m,
            Err(e) => {
                errors.push(e);
                return args;
            }
        };
    for meta in metas {
        let name = meta
            .path()
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let span = meta.path().span();
        match (name.as_str(), &meta) {
            ("topics", Meta::NameValue(nv)) => {
                if args.topics_span.is_some() {
                    errors.push(syn::Error::new(span, "`topics` specified more than once"));
                    continue;
                }
                args.topics_span = Some(nv.value.span());
                match &nv.value {
                    Expr::Array(ExprArray { elems, .. }) => {
                        if elems.is_empty() {
                            errors.push(syn::Error::new_spanned(
                                &nv.value,
                                "`topics` is empty; name at least one topic or pattern",
                            ));
                        }
                        for e in elems {
                            if let Some(s) =
                                lit_str(e, "a topic string such as \"paper.signals.raw\"", errors)
                            {
                                args.topics.push(s);
                            }
                        }
                    }
                    other => {
                        if let Some(s) = lit_str(
                            other,
                            "a topic string or a list of them: `topics = \"paper.signals.raw\"` or `topics = [\"a.b.c\", \"*.d.e\"]`",
                            errors,
                        ) {
                            args.topics.push(s);
                        }
                    }
                }
            }
            ("group", Meta::NameValue(nv)) => {
                if let Some(s) = lit_str(&nv.value, "a consumer group name string", errors) {
                    if s.value().trim().is_empty() {
                        errors.push(syn::Error::new_spanned(&s, "`group` is empty"));
                    }
                    once(&mut args.group, s, "group", span, errors);
                }
            }
            ("retry", Meta::NameValue(nv)) => {
                if let Some(n) = lit_int(&nv.value, "retry", errors) {
                    let retry = Retry {
                        attempts: Some(n),
                        ..Retry::default()
                    };
                    once(&mut args.retry, retry, "retry", span, errors);
                }
            }
            ("retry", Meta::List(list)) => {
                let mut retry = Retry::default();
                let inner = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated);
                match inner {
                    Err(e) => errors.push(e),
                    Ok(inner) => {
                        for m in inner {
                            let key = m
                                .path()
                                .get_ident()
                                .map(ToString::to_string)
                                .unwrap_or_default();
                            let Meta::NameValue(nv) = &m else {
                                errors.push(syn::Error::new_spanned(&m, "expected `key = value`"));
                                continue;
                            };
                            let slot = match key.as_str() {
                                "attempts" => &mut retry.attempts,
                                "backoff_ms" => &mut retry.backoff_ms,
                                "max_backoff_ms" => &mut retry.max_backoff_ms,
                                _ => {
                                    errors.push(syn::Error::new_spanned(
                                        m.path(),
                                        format!(
                                            "unknown retry setting `{key}`; {}expected one of: {RETRY_VALID}",
                                            crate::suggest::did_you_mean(&key, RETRY_VALID.split(", "))
                                        ),
                                    ));
                                    continue;
                                }
                            };
                            if let Some(n) = lit_int(&nv.value, &key, errors) {
                                once(slot, n, &key, m.path().span(), errors);
                            }
                        }
                    }
                }
                once(&mut args.retry, retry, "retry", span, errors);
            }
            ("dlq", Meta::NameValue(nv)) => {
                if let Some(b) = lit_bool(&nv.value, "dlq", errors) {
                    once(&mut args.dlq, b, "dlq", span, errors);
                }
            }
            ("dedup", Meta::NameValue(nv)) => {
                if let Some(b) = lit_bool(&nv.value, "dedup", errors) {
                    once(&mut args.dedup, b, "dedup", span, errors);
                }
            }
            ("exactly_once", Meta::Path(p)) => {
                let on = LitBool::new(true, p.span());
                once(&mut args.exactly_once, on, "exactly_once", span, errors);
            }
            ("exactly_once", Meta::NameValue(nv)) => {
                if let Some(b) = lit_bool(&nv.value, "exactly_once", errors) {
                    once(&mut args.exactly_once, b, "exactly_once", span, errors);
                }
            }
            ("concurrency", Meta::NameValue(nv)) => {
                if let Some(n) = lit_int(&nv.value, "concurrency", errors) {
                    once(&mut args.concurrency, n, "concurrency", span, errors);
                }
            }
            ("order", Meta::NameValue(nv)) => {
                if let Some(s) = lit_str(
                    &nv.value,
                    "`order = \"key\"`, `\"partition\"` or `\"none\"`",
                    errors,
                ) {
                    once(&mut args.order, s, "order", span, errors);
                }
            }
            ("batch_max", Meta::NameValue(nv)) => {
                if let Some(n) = lit_int(&nv.value, "batch_max", errors) {
                    once(&mut args.batch_max, n, "batch_max", span, errors);
                }
            }
            ("batch_linger_ms", Meta::NameValue(nv)) => {
                if let Some(n) = lit_int(&nv.value, "batch_linger_ms", errors) {
                    once(
                        &mut args.batch_linger_ms,
                        n,
                        "batch_linger_ms",
                        span,
                        errors,
                    );
                }
            }
            ("accept", Meta::NameValue(nv)) => {
                let accepted = accept_list(&nv.value, errors);
                once(&mut args.accept, accepted, "accept", span, errors);
            }
            ("publishes", Meta::NameValue(nv)) => {
                let outputs = super::publishes::parse(&nv.value, errors);
                once(&mut args.publishes, outputs, "publishes", span, errors);
            }
            ("crate", Meta::NameValue(nv)) => {
                if let Some(s) = lit_str(
                    &nv.value,
                    "the runtime crate's path as a string, such as `crate = \"stream_core\"`",
                    errors,
                ) {
                    match s.parse_with(Path::parse_mod_style) {
                        Ok(p) => once(&mut args.krate, p, "crate", span, errors),
                        Err(_) => errors.push(syn::Error::new_spanned(
                            &s,
                            "expected a path such as \"stream_core\"",
                        )),
                    }
                }
            }
            (
                "topics" | "group" | "dlq" | "dedup" | "concurrency" | "order" | "batch_max"
                | "batch_linger_ms" | "accept" | "publishes" | "crate",
                _,
            )
            | ("exactly_once", Meta::List(_)) => {
                errors.push(syn::Error::new_spanned(
                    &meta,
                    format!("expected `{name} = ...`"),
                ));
            }
            _ => {
                let path = meta.path();
                let shown = quote::quote!(#path).to_string().replace(' ', "");
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "unknown argument `{shown}`; {}expected one of: {VALID}",
                        crate::suggest::did_you_mean(&shown, VALID.split(", "))
                    ),
                ));
            }
        }
    }
    args
}
