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
//! A program that installs its own subscriber adds [`layer_with`] (or its own
//! `tracing_opentelemetry` layer) to it; the propagation
//! ([`trace_context`](crate::kafka::trace_context)) works with any such layer.

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether the environment names an OTLP endpoint for traces.
pub fn endpoint_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
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
