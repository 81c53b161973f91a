//! What the consumer records into the metric families as a message goes through its life
//! (see [`metrics`](crate::metrics)): handler durations, end-to-end age, retries and dead
//! letters by error kind.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use chrono::Utc;
use prometheus_client::metrics::histogram::Histogram;

use crate::consumer::pipeline::Pipeline;
use crate::consumer::stats::ConsumerStats;
use crate::handler::{ErrorKind, Incoming};
use crate::metrics::families::families;

/// A group's metric labels and, per topic, its histograms (found by a short scan, not by hashing
/// the labels as the families do: this runs for every message).
pub(super) struct MessageMetrics {
    pub(super) group: Arc<str>,
    topics: RwLock<Vec<TopicHistograms>>,
}

struct TopicHistograms {
    topic: Arc<str>,
    duration: Histogram,
    age: Histogram,
}

impl MessageMetrics {
    pub(super) fn new(group: &str) -> Self {
        Self {
            group: Arc::from(group),
            topics: RwLock::default(),
        }
    }

    /// Runs `f` with the histograms of `topic`, made on first use.
    fn with_topic<R>(&self, topic: &Arc<str>, f: impl Fn(&TopicHistograms) -> R) -> R {
        let same = |t: &&TopicHistograms| Arc::ptr_eq(&t.topic, topic) || t.topic == *topic;
        if let Some(t) = self.topics.read().expect("histograms").iter().find(same) {
            return f(t);
        }
        let labels = [
            ("group", Arc::clone(&self.group)),
            ("topic", Arc::clone(topic)),
        ];
        let fam = families();
        let made = TopicHistograms {
            topic: Arc::clone(topic),
            duration: fam.handler_duration.get_or_create_owned(&labels),
            age: fam.message_age.get_or_create_owned(&labels),
        };
        let out = f(&made);
        self.topics.write().expect("histograms").push(made);
        out
    }
}

/// A handler call returned (`handled`: successfully), `started` when it was called: its
/// duration, and for a success the message's age (envelope timestamp to now).
pub(super) fn handler_returned(
    pipeline: &Pipeline,
    incoming: &Incoming,
    started: Instant,
    handled: bool,
) {
    let took = started.elapsed().as_secs_f64();
    let age = handled.then(|| {
        let age = Utc::now().signed_duration_since(incoming.envelope.timestamp);
        age.num_microseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e6
    });
    pipeline.metrics.with_topic(&incoming.record.topic, |h| {
        h.duration.observe(took);
        if let Some(age) = age {
            h.age.observe(age);
        }
    });
    #[cfg(feature = "otel")]
    crate::metrics::otlp::with(|i| {
        let attributes = [
            crate::metrics::otlp::label("group", &pipeline.metrics.group),
            crate::metrics::otlp::label("topic", &incoming.record.topic),
        ];
        i.handler_duration.record(took, &attributes);
        if let Some(age) = age {
            i.message_age.record(age, &attributes);
        }
    });
}

/// A handler error of `kind` is retried.
pub(super) fn retried(pipeline: &Pipeline, kind: ErrorKind) {
    ConsumerStats::bump(&pipeline.stats.retried);
    families()
        .retries
        .get_or_create(&[
            ("group", Arc::clone(&pipeline.metrics.group)),
            ("kind", Arc::from(kind.as_str())),
        ])
        .inc();
    #[cfg(feature = "otel")]
    crate::metrics::otlp::with(|i| i.retries.add(1, &kind_attributes(pipeline, kind)));
}

/// `group` and `kind`, as the OpenTelemetry instruments take them.
#[cfg(feature = "otel")]
fn kind_attributes(pipeline: &Pipeline, kind: ErrorKind) -> [opentelemetry::KeyValue; 2] {
    [
        crate::metrics::otlp::label("group", &pipeline.metrics.group),
        opentelemetry::KeyValue::new("kind", kind.as_str()),
    ]
}

/// A message was dead-lettered for an error of `kind`.
pub(super) fn dead_lettered(pipeline: &Pipeline, kind: ErrorKind) {
    families()
        .dead_letters
        .get_or_create(&[
            ("group", Arc::clone(&pipeline.metrics.group)),
            ("kind", Arc::from(kind.as_str())),
        ])
        .inc();
    #[cfg(feature = "otel")]
    crate::metrics::otlp::with(|i| i.dead_letters.add(1, &kind_attributes(pipeline, kind)));
}
