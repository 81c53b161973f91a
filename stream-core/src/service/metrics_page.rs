//! The `/metrics` page of a service: the process's metric families
//! (recorded by the producer, the consumer and the rebalance callbacks) and each consumer group's counters, in the Prometheus text
//! format (0.0.4), rendered by `prometheus-client`.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::consumer::StatsSnapshot;
use crate::service::handle::ServiceHandle;

/// The `Content-Type` of the page.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

type Get = fn(&StatsSnapshot) -> u64;

/// The consumer counters: name (counters without `_total`, which the encoder adds), help,
/// type, and how to read it.
const COUNTERS: [(&str, &str, MetricType, Get); 11] = [
    (
        "streamkit_messages_received",
        "Records received from Kafka.",
        MetricType::Counter,
        |s| s.received,
    ),
    (
        "streamkit_messages_handled",
        "Messages whose handler succeeded.",
        MetricType::Counter,
        |s| s.handled,
    ),
    (
        "streamkit_messages_retried",
        "Handler retries.",
        MetricType::Counter,
        |s| s.retried,
    ),
    (
        "streamkit_messages_dead_lettered",
        "Messages written to a dead-letter topic.",
        MetricType::Counter,
        |s| s.dead_lettered,
    ),
    (
        "streamkit_messages_deduplicated",
        "Duplicates skipped.",
        MetricType::Counter,
        |s| s.deduplicated,
    ),
    (
        "streamkit_dedup_unavailable",
        "Messages handled while the dedup store was unavailable.",
        MetricType::Counter,
        |s| s.dedup_unavailable,
    ),
    (
        "streamkit_commits",
        "Offset commits.",
        MetricType::Counter,
        |s| s.commits,
    ),
    (
        "streamkit_commit_failures",
        "Offset commits the broker or the client refused.",
        MetricType::Counter,
        |s| s.commit_failures,
    ),
    (
        "streamkit_partitions_paused",
        "Times a partition was paused because its handler fell behind.",
        MetricType::Counter,
        |s| s.paused,
    ),
    (
        "streamkit_dead_letter_failures",
        "Messages that could not be dead-lettered (each stops its consumer).",
        MetricType::Counter,
        |s| s.dead_letter_failures,
    ),
    (
        "streamkit_assigned_partitions",
        "Partitions currently assigned.",
        MetricType::Gauge,
        |s| s.assigned_partitions,
    ),
];

/// Reads each group's counters at every scrape.
#[derive(Debug)]
struct ConsumerCounters(ServiceHandle);

impl Collector for ConsumerCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.0.stats();
        for (name, help, kind, get) in COUNTERS {
            let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
            for (group, s) in &stats {
                let labels = [("group", group.as_str())];
                let family = metric.encode_family(&labels)?;
                match kind {
                    MetricType::Gauge => ConstGauge::new(get(s) as i64).encode(family)?,
                    _ => ConstCounter::new(get(s)).encode(family)?,
                }
            }
        }
        Ok(())
    }
}

/// The registry a service's page renders: the families and `handle`'s counters.
pub fn registry(handle: &ServiceHandle) -> Registry {
    let mut registry = Registry::default();
    crate::metrics::families::register(&mut registry);
    registry.register_collector(Box::new(ConsumerCounters(handle.clone())));
    registry
}

/// Reports `handle`'s per-group counters to the installed OpenTelemetry meter at each export
/// too (`streamkit_messages_handled` is `streamkit.messages_handled` there).
#[cfg(feature = "otel")]
pub(crate) fn observe_in_otel(handle: &ServiceHandle) {
    let Some(meter) = crate::metrics::otlp::meter() else {
        return;
    };
    for (name, help, kind, get) in COUNTERS {
        let name = name.replacen("streamkit_", "streamkit.", 1);
        let handle = handle.clone();
        let each_group = move |report: &mut dyn FnMut(u64, &[opentelemetry::KeyValue])| {
            for (group, s) in handle.stats() {
                report(get(&s), &[opentelemetry::KeyValue::new("group", group)]);
            }
        };
        match kind {
            MetricType::Gauge => {
                meter
                    .u64_observable_gauge(name)
                    .with_description(help)
                    .with_callback(move |o| each_group(&mut |v, a| o.observe(v, a)))
                    .build();
            }
            _ => {
                meter
                    .u64_observable_counter(name)
                    .with_description(help)
                    .with_callback(move |o| each_group(&mut |v, a| o.observe(v, a)))
                    .build();
            }
        }
    }
}

/// The page's text.
pub fn render(registry: &Registry) -> String {
    let mut out = String::with_capacity(8 * 1024);
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}
