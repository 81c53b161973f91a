//! With the `otel` feature: trace context between records and OpenTelemetry spans (the
//! message span's remote parent, the context a send inside a span writes).

use std::str::FromStr;
use std::sync::Arc;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::kafka::trace_context::{TraceContext, TraceParent};

/// The current span's OpenTelemetry context as what a send writes, if it has a valid one; the
/// trace state of `handling` when the span has none of its own.
pub(crate) fn current_context(handling: Option<&TraceContext>) -> Option<TraceContext> {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let otel = context.span();
    let sc = otel.span_context();
    if !sc.is_valid() {
        return None;
    }
    let state = sc.trace_state().header();
    let state = if state.is_empty() {
        handling.and_then(|h| h.state.clone())
    } else {
        Some(Arc::from(state))
    };
    Some(TraceContext {
        parent: TraceParent {
            trace_id: sc.trace_id().to_bytes(),
            parent_id: sc.span_id().to_bytes(),
            flags: sc.trace_flags().to_u8(),
        },
        state,
    })
}

/// Makes `span` (not entered yet) continue the remote `parent`.
pub(crate) fn set_remote_parent(span: &tracing::Span, parent: &TraceParent, state: Option<&[u8]>) {
    let state = state
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| TraceState::from_str(s).ok())
        .unwrap_or_default();
    let remote = SpanContext::new(
        TraceId::from_bytes(parent.trace_id),
        SpanId::from_bytes(parent.parent_id),
        TraceFlags::new(parent.flags),
        true,
        state,
    );
    let context = opentelemetry::Context::new().with_remote_span_context(remote);
    let _ = span.set_parent(context);
}
