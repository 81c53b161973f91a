//! The `otel` feature's metrics: the same measurements as the families of
//! [`families`](crate::metrics::families), recorded into OpenTelemetry instruments as well, so
//! that an installed meter provider (an OTLP one: [`crate::otel::meter_provider_from_env`])
//! exports them. Until one is installed ([`crate::otel::install_metrics`]) nothing is recorded.
//!
//! Names follow OpenTelemetry's conventions (dots, the unit apart): `streamkit.handler.duration`
//! in `s` is `streamkit_handler_duration_seconds` on `/metrics`.

use std::sync::{Arc, OnceLock};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter};

use crate::metrics::families::{AGE_BUCKETS, LATENCY_BUCKETS};

/// One instrument per metric family.
pub(crate) struct Instruments {
    pub(crate) handler_duration: Histogram<f64>,
    pub(crate) message_age: Histogram<f64>,
    pub(crate) consumer_lag: Gauge<i64>,
    pub(crate) retries: Counter<u64>,
    pub(crate) dead_letters: Counter<u64>,
    pub(crate) rebalances: Counter<u64>,
    pub(crate) rebalance_duration: Gauge<f64>,
    pub(crate) hook_failures: Counter<u64>,
    pub(crate) producer_queue: Gauge<i64>,
    pub(crate) producer_in_flight: Gauge<i64>,
    pub(crate) producer_connected: Gauge<i64>,
    pub(crate) delivery_latency: Histogram<f64>,
}

static INSTRUMENTS: OnceLock<(Meter, Instruments)> = OnceLock::new();

/// Makes the instruments on `meter`; the first call wins (one provider per process).
pub(crate) fn install(meter: Meter) {
    let _ = INSTRUMENTS.get_or_init(|| {
        let instruments = instruments(&meter);
        (meter, instruments)
    });
}

/// The installed meter, for instruments observed at export time (a service's counters).
pub(crate) fn meter() -> Option<&'static Meter> {
    INSTRUMENTS.get().map(|(meter, _)| meter)
}

/// Runs `record` with the instruments, when a provider is installed.
pub(crate) fn with(record: impl FnOnce(&Instruments)) {
    if let Some((_, instruments)) = INSTRUMENTS.get() {
        record(instruments);
    }
}

/// A `key = value` attribute of a label the families share.
pub(crate) fn label(key: &'static str, value: &Arc<str>) -> KeyValue {
    KeyValue::new(key, value.to_string())
}

fn instruments(meter: &Meter) -> Instruments {
    let histogram = |name: &'static str, help: &'static str, buckets: &[f64]| {
        meter
            .f64_histogram(name)
            .with_description(help)
            .with_unit("s")
            .with_boundaries(buckets.to_vec())
            .build()
    };
    let counter = |name: &'static str, help: &'static str| {
        meter.u64_counter(name).with_description(help).build()
    };
    let gauge = |name: &'static str, help: &'static str| {
        meter.i64_gauge(name).with_description(help).build()
    };
    Instruments {
        handler_duration: histogram(
            "streamkit.handler.duration",
            "Time a handler call took (every attempt), by group and topic",
            &LATENCY_BUCKETS,
        ),
        message_age: histogram(
            "streamkit.message.age",
            "Time from the envelope's timestamp to its handler's success",
            &AGE_BUCKETS,
        ),
        consumer_lag: gauge(
            "streamkit.consumer.lag",
            "Messages between the partition's end and the group's committed offset",
        ),
        retries: counter(
            "streamkit.handler.retries",
            "Handler retries, by error kind",
        ),
        dead_letters: counter(
            "streamkit.dead_letters",
            "Messages written to a dead-letter topic, by error kind",
        ),
        rebalances: counter(
            "streamkit.rebalances",
            "Rebalances the consumer took part in (assignments received)",
        ),
        rebalance_duration: meter
            .f64_gauge("streamkit.rebalance.last_duration")
            .with_description("Time the last rebalance callback took")
            .with_unit("s")
            .build(),
        hook_failures: counter(
            "streamkit.rebalance.hook_failures",
            "Rebalance hooks that failed or ran past their deadline, by hook",
        ),
        producer_queue: gauge(
            "streamkit.producer.queue_depth",
            "Records in the producer's librdkafka queue",
        ),
        producer_in_flight: gauge(
            "streamkit.producer.in_flight",
            "Records sent to a broker and not yet acknowledged",
        ),
        producer_connected: gauge(
            "streamkit.producer.connected",
            "1 while the producer has a connection to at least one broker, else 0",
        ),
        delivery_latency: histogram(
            "streamkit.producer.delivery_latency",
            "Time from handing a record to librdkafka to the broker's acknowledgement",
            &LATENCY_BUCKETS,
        ),
    }
}
