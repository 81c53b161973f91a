//! The `otel` feature: OpenTelemetry spans exported over OTLP.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, a
//! `#[stream_service]` binary's logging ([`init_logging`](crate::service::logging::init_logging))
//! adds a `tracing-opentelemetry` layer whose spans go to that endpoint over OTLP/HTTP
//! (protobuf) in batches, named after `OTEL_SERVICE_NAME` (the other standard `OTEL_*`
//! variables, `OTEL_EXPORTER_OTLP_HEADERS` for one, apply as the OpenTelemetry SDK reads them).
//! The consumer's message span (`streamkit::message`, at DEBUG: enable it, e.g.
//! `RUST_LOG=info,streamkit::message=debug`) is then an OpenTelemetry span whose parent is the
//! record's `traceparent`, and what a handler sends inside it carries that span's context.
//!
//! A program that installs its own subscriber adds
//! `tracing_opentelemetry::layer().with_tracer(..)` itself; the propagation below works with any
//! such layer.

use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};
use tracing_subscriber::registry::LookupSpan;

use crate::kafka::trace_context::{TraceContext, TraceParent};

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether the environment names an OTLP endpoint for traces.
pub fn endpoint_configured() -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()))
}

/// The layer exporting spans over OTLP, when the environment names an endpoint (see the module
/// docs); `None` otherwise, or when the exporter cannot be built (said on stderr).
pub fn layer_from_env<S>() -> Option<OpenTelemetryLayer<S, Tracer>>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    if !endpoint_configured() {
        return None;
    }
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("warning: OTLP span exporter not started: {e}");
            return None;
        }
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    Some(layer_with(provider))
}

/// A layer exporting through `provider` (an OTLP one, or the in-memory exporter of a test),
/// which stays installed for [`shutdown`].
pub fn layer_with<S>(provider: SdkTracerProvider) -> OpenTelemetryLayer<S, Tracer>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let tracer = provider.tracer("streamkit");
    let _ = PROVIDER.set(provider);
    tracing_opentelemetry::layer().with_tracer(tracer)
}

/// Exports the spans still buffered and stops the exporter (a service calls it on its way out).
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.force_flush();
        let _ = provider.shutdown();
    }
}

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
