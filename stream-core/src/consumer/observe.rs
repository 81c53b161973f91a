//! What the consumer records into the metric families as a message goes through its life
//! (see [`metrics`](crate::metrics)): handler durations, end-to-end age, retries and dead
//! letters by error kind.

use std::cell::Cell;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use prometheus_client::metrics::histogram::Histogram;

use crate::consumer::pipeline::Pipeline;
use crate::consumer::stats::ConsumerStats;
use crate::handler::{ErrorKind, Incoming};
use crate::metrics::families::families;

/// A group's metric labels and, per topic, its histograms, found without a lock or a shared
/// write (this runs for every message, on every worker): the first topics' histograms stay in
/// slots written once, later topics' behind a lock.
pub(super) struct MessageMetrics {
    pub(super) group: Arc<str>,
    slots: [OnceLock<TopicHistograms>; SLOTS],
    more: RwLock<Vec<TopicHistograms>>,
}

/// Topics whose histograms are found lock-free: a consumer reads a handful.
const SLOTS: usize = 8;

struct TopicHistograms {
    topic: Arc<str>,
    duration: Histogram,
    age: Histogram,
}

impl TopicHistograms {
    fn is(&self, topic: &Arc<str>) -> bool {
        Arc::ptr_eq(&self.topic, topic) || self.topic == *topic
    }
}

impl MessageMetrics {
    pub(super) fn new(group: &str) -> Self {
        Self {
            group: Arc::from(group),
            slots: Default::default(),
            more: RwLock::default(),
        }
    }

    /// Runs `f` with the histograms of `topic`, made on first use.
    fn with_topic<R>(&self, topic: &Arc<str>, f: impl Fn(&TopicHistograms) -> R) -> R {
        for slot in &self.slots {
            match slot.get() {
                Some(t) if t.is(topic) => return f(t),
                Some(_) => continue,
                None => {
                    // Two workers may race for an empty slot: the loser looks on.
                    let _ = slot.set(self.histograms(topic));
                    if let Some(t) = slot.get().filter(|t| t.is(topic)) {
                        return f(t);
                    }
                }
            }
        }
        if let Some(t) = self
            .more
            .read()
            .expect("histograms")
            .iter()
            .find(|t| t.is(topic))
        {
            return f(t);
        }
        let made = self.histograms(topic);
        let out = f(&made);
        self.more.write().expect("histograms").push(made);
        out
    }

    fn histograms(&self, topic: &Arc<str>) -> TopicHistograms {
        let labels = [
            ("group", Arc::clone(&self.group)),
            ("topic", Arc::clone(topic)),
        ];
        let fam = families();
        TopicHistograms {
            topic: Arc::clone(topic),
            duration: fam.handler_duration.get_or_create_owned(&labels),
            age: fam.message_age.get_or_create_owned(&labels),
        }
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
    let now = Instant::now();
    let took = now.saturating_duration_since(started).as_secs_f64();
    let age = handled.then(|| {
        let sent = incoming.envelope.timestamp.timestamp_micros();
        wall_micros_at(now).saturating_sub(sent).max(0) as f64 / 1e6
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

/// How often a thread reads the wall clock again for [`wall_micros_at`].
const WALL_CLOCK_EVERY: Duration = Duration::from_secs(1);

/// The wall clock (microseconds since the epoch) at `now`, a monotonic reading just taken: the
/// thread's last wall-clock reading carried forward, read again once it is
/// [`WALL_CLOCK_EVERY`] old, so a message's age costs no clock read of its own. A step of the
/// wall clock shows in the ages within that second.
fn wall_micros_at(now: Instant) -> i64 {
    thread_local! {
        static BASE: Cell<Option<(Instant, i64)>> = const { Cell::new(None) };
    }
    BASE.with(|base| {
        if let Some((at, wall)) = base.get()
            && let Some(since) = now.checked_duration_since(at)
            && since < WALL_CLOCK_EVERY
        {
            return wall + since.as_micros() as i64;
        }
        let wall = Utc::now().timestamp_micros();
        base.set(Some((now, wall)));
        wall
    })
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use chrono::Utc;

    use super::wall_micros_at;

    #[test]
    fn the_carried_wall_clock_stays_with_the_real_one() {
        for _ in 0..3 {
            let derived = wall_micros_at(Instant::now());
            let real = Utc::now().timestamp_micros();
            assert!((real - derived).abs() < 20_000, "{real} vs {derived}");
            std::thread::sleep(Duration::from_millis(600));
        }
    }
}
