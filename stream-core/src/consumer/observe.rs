//! What the consumer records into the metric families as a message goes through its life
//! (see [`metrics`](crate::metrics)): handler durations, end-to-end age, retries and dead
//! letters by error kind.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use crate::consumer::pipeline::Pipeline;
use crate::consumer::stats::ConsumerStats;
use crate::handler::{ErrorKind, Incoming};
use crate::metrics::families::families;

/// A handler call returned (`handled`: successfully), `started` when it was called: its
/// duration, and for a success the message's age (envelope timestamp to now).
pub(super) fn handler_returned(
    pipeline: &Pipeline,
    incoming: &Incoming,
    started: Instant,
    handled: bool,
) {
    let f = families();
    let labels = [
        ("group", Arc::clone(&pipeline.metrics_group)),
        ("topic", Arc::clone(&incoming.record.topic)),
    ];
    f.handler_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    if handled {
        let age = Utc::now().signed_duration_since(incoming.envelope.timestamp);
        let age = age.num_microseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e6;
        f.message_age.get_or_create(&labels).observe(age);
    }
}

/// A handler error of `kind` is retried.
pub(super) fn retried(pipeline: &Pipeline, kind: ErrorKind) {
    ConsumerStats::bump(&pipeline.stats.retried);
    families()
        .retries
        .get_or_create(&[
            ("group", Arc::clone(&pipeline.metrics_group)),
            ("kind", Arc::from(kind.as_str())),
        ])
        .inc();
}

/// A message was dead-lettered for an error of `kind`.
pub(super) fn dead_lettered(pipeline: &Pipeline, kind: ErrorKind) {
    families()
        .dead_letters
        .get_or_create(&[
            ("group", Arc::clone(&pipeline.metrics_group)),
            ("kind", Arc::from(kind.as_str())),
        ])
        .inc();
}
