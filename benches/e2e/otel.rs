//! The `otel` scenario of the e2e bench: the streamkit `pipeline` with OpenTelemetry off, then
//! on, in the same run and round (built with `--features otel`; without it the scenario says it
//! is skipped).
//!
//! "On" is what a deployment with the feature runs: the message span (`streamkit::message`) is
//! an OpenTelemetry span through `tracing-opentelemetry`, every record the handler publishes
//! gets its `traceparent`, and the spans go through the SDK's batch processor to an exporter.
//! The exporter here is the SDK's in-memory one (emptied after each round), so the figure is the
//! process's own cost, without the network and the collector; "off" is the same binary with the
//! layer's filter closed, so the message span is disabled.

#[cfg(feature = "otel")]
mod on {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, Ordering};

    use opentelemetry_sdk::trace::{
        BatchConfigBuilder, BatchSpanProcessor, InMemorySpanExporter, SdkTracerProvider,
    };
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    static ON: AtomicBool = AtomicBool::new(false);
    static EXPORT: OnceLock<(InMemorySpanExporter, SdkTracerProvider)> = OnceLock::new();

    /// Installs the process's subscriber: the OpenTelemetry layer behind the switch, and the
    /// `RUST_LOG` lines when that is set.
    pub fn install() {
        let exporter = InMemorySpanExporter::default();
        let config = BatchConfigBuilder::default()
            .with_max_queue_size(1 << 18)
            .build();
        let processor = BatchSpanProcessor::builder(exporter.clone())
            .with_batch_config(config)
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let _ = EXPORT.set((exporter, provider.clone()));
        let filter = tracing_subscriber::filter::filter_fn(|meta| {
            ON.load(Ordering::Relaxed)
                && meta.target() == stream_core::consumer::MESSAGE_SPAN_TARGET
        });
        let fmt = std::env::var_os("RUST_LOG").is_some().then(|| {
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::EnvFilter::from_default_env())
        });
        tracing_subscriber::registry()
            .with(stream_core::otel::layer_with(provider).with_filter(filter))
            .with(fmt)
            .init();
    }

    pub fn set(on: bool) {
        ON.store(on, Ordering::Relaxed);
    }

    /// Spans exported since the last call (the buffer is emptied).
    pub fn take_exported() -> usize {
        let (exporter, provider) = EXPORT.get().expect("installed");
        let _ = provider.force_flush();
        let n = exporter.get_finished_spans().map_or(0, |s| s.len());
        exporter.reset();
        n
    }

    pub const AVAILABLE: bool = true;
}

#[cfg(not(feature = "otel"))]
mod on {
    pub fn install() {}
    pub fn set(_on: bool) {}
    pub fn take_exported() -> usize {
        0
    }
    pub const AVAILABLE: bool = false;
}

pub use on::{AVAILABLE, install, set, take_exported};
