//! The process-wide metric families ([`families`]) and their label sets.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// `group` and `topic`.
pub(crate) type GroupTopic = [(&'static str, Arc<str>); 2];
/// `group`, `topic` and `partition`.
pub(crate) type GroupTopicPartition = (GroupTopic, [(&'static str, i32); 1]);
/// `group` and one more label (`kind`, `hook`).
pub(crate) type GroupAnd = [(&'static str, Arc<str>); 2];
/// `group` alone.
pub(crate) type Group = [(&'static str, Arc<str>); 1];
/// A producer's `client` (its `client.id`).
pub(crate) type Client = [(&'static str, Arc<str>); 1];

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Buckets of the latency histograms (handler, delivery), in seconds: 100 µs to 10 s.
pub(crate) const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Buckets of the end-to-end age histogram, in seconds: 1 ms to 5 min.
pub(crate) const AGE_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

fn latency() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn age() -> Histogram {
    Histogram::new(AGE_BUCKETS)
}

/// Every metric family of the process.
pub(crate) struct Families {
    pub(crate) handler_duration: Histograms<GroupTopic>,
    pub(crate) message_age: Histograms<GroupTopic>,
    pub(crate) consumer_lag: Family<GroupTopicPartition, Gauge>,
    pub(crate) retries: Family<GroupAnd, Counter>,
    pub(crate) dead_letters: Family<GroupAnd, Counter>,
    pub(crate) rebalances: Family<Group, Counter>,
    pub(crate) rebalance_duration: Family<Group, Gauge<f64, AtomicU64>>,
    pub(crate) hook_failures: Family<GroupAnd, Counter>,
    pub(crate) producer_queue: Family<Client, Gauge>,
    pub(crate) producer_in_flight: Family<Client, Gauge>,
    pub(crate) producer_connected: Family<Client, Gauge>,
    pub(crate) delivery_latency: Histograms<Client>,
}

static FAMILIES: LazyLock<Families> = LazyLock::new(|| Families {
    handler_duration: Family::new_with_constructor(latency),
    message_age: Family::new_with_constructor(age),
    consumer_lag: Family::default(),
    retries: Family::default(),
    dead_letters: Family::default(),
    rebalances: Family::default(),
    rebalance_duration: Family::default(),
    hook_failures: Family::default(),
    producer_queue: Family::default(),
    producer_in_flight: Family::default(),
    producer_connected: Family::default(),
    delivery_latency: Family::new_with_constructor(latency),
});

/// The process's metric families.
pub(crate) fn families() -> &'static Families {
    &FAMILIES
}

/// Registers every family in `registry` (counters get `_total` when rendered).
pub(crate) fn register(registry: &mut Registry) {
    let f = families();
    registry.register(
        "streamkit_handler_duration_seconds",
        "Time a handler call took (every attempt), by group and topic",
        f.handler_duration.clone(),
    );
    registry.register(
        "streamkit_message_age_seconds",
        "Time from the envelope's timestamp to its handler's success (end-to-end age)",
        f.message_age.clone(),
    );
    registry.register(
        "streamkit_consumer_lag",
        "Messages between the partition's end and the group's committed offset",
        f.consumer_lag.clone(),
    );
    registry.register(
        "streamkit_handler_retries",
        "Handler retries, by error kind",
        f.retries.clone(),
    );
    registry.register(
        "streamkit_dead_letters",
        "Messages written to a dead-letter topic, by error kind",
        f.dead_letters.clone(),
    );
    registry.register(
        "streamkit_rebalances",
        "Rebalances the consumer took part in (assignments received)",
        f.rebalances.clone(),
    );
    registry.register(
        "streamkit_rebalance_last_duration_seconds",
        "Time the last rebalance callback took (release, commit and hooks on revoke; hooks on assign)",
        f.rebalance_duration.clone(),
    );
    registry.register(
        "streamkit_rebalance_hook_failures",
        "Rebalance hooks that failed or ran past their deadline, by hook",
        f.hook_failures.clone(),
    );
    registry.register(
        "streamkit_producer_queue_depth",
        "Records in the producer's librdkafka queue, waiting to be sent or acknowledged",
        f.producer_queue.clone(),
    );
    registry.register(
        "streamkit_producer_in_flight",
        "Records sent to a broker and not yet acknowledged",
        f.producer_in_flight.clone(),
    );
    registry.register(
        "streamkit_producer_connected",
        "1 while the producer has a connection to at least one broker, else 0",
        f.producer_connected.clone(),
    );
    registry.register(
        "streamkit_producer_delivery_latency_seconds",
        "Time from handing a record to librdkafka to the broker's acknowledgement",
        f.delivery_latency.clone(),
    );
}
