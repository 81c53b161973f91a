//! The `otel` feature: OpenTelemetry spans and metrics exported over OTLP.
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
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) set, the same
//! start-up installs a meter provider ([`meter_provider_from_env`]) that exports every metric of
//! the `/metrics` page over OTLP/HTTP every `OTEL_METRIC_EXPORT_INTERVAL` ms (60 s by default),
//! under OpenTelemetry names (`streamkit.handler.duration`, unit `s`). A program can install a
//! provider of its own with [`install_metrics`] (the in-memory exporter of a test, say).
//!
//! A program that installs its own subscriber adds [`layer_with`] (or its own
//! `tracing_opentelemetry` layer) to it; the propagation
//! ([`trace_context`](crate::kafka::trace_context)) works with any such layer.

use std::sync::OnceLock;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
static METER_PROVIDER: OnceLock<SdkMeterProvider> = OnceLock::new();

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

/// A meter provider exporting over OTLP/HTTP at the periodic interval, when the environment
/// names an endpoint for metrics (see the module docs); `None` otherwise, or when the exporter
/// cannot be built (said on stderr).
pub fn meter_provider_from_env() -> Option<SdkMeterProvider> {
    let named = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    ]
    .iter()
    .any(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()));
    if !named {
        return None;
    }
    match opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => Some(
            SdkMeterProvider::builder()
                .with_periodic_exporter(exporter)
                .build(),
        ),
        Err(e) => {
            eprintln!("warning: OTLP metric exporter not started: {e}");
            None
        }
    }
}

/// Records every metric of the process into `provider` from now on (the first provider
/// installed wins), and keeps it for [`shutdown`].
pub fn install_metrics(provider: SdkMeterProvider) {
    crate::metrics::otlp::install(provider.meter("streamkit"));
    let _ = METER_PROVIDER.set(provider);
}

/// Exports the spans and metrics still buffered and stops the exporters (a service calls it on
/// its way out).
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.force_flush();
        let _ = provider.shutdown();
    }
    if let Some(provider) = METER_PROVIDER.get() {
        let _ = provider.force_flush();
        let _ = provider.shutdown();
    }
}
