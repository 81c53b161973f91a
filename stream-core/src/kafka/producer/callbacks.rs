//! [`ProducerCallbacks`]: librdkafka's callbacks into a producer: its log and errors (each
//! failure once, see [`ClientLog`]) and its statistics (queue depth, in-flight records, whether a
//! broker is up).

use std::sync::Arc;

use prometheus_client::metrics::histogram::Histogram;
use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::statistics::Statistics;
use tokio::sync::oneshot;

use crate::kafka::client_log::ClientLog;
use crate::metrics::families::{Client, families};

/// The context of a [`MessageProducer`](crate::kafka::producer::MessageProducer)'s librdkafka
/// client (the `C` of the `BaseProducer<C>` that
/// [`MessageProducer::rdkafka`](crate::kafka::producer::MessageProducer::rdkafka) returns).
#[derive(Debug, Clone)]
pub struct ProducerCallbacks(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    log: ClientLog,
    label: Client,
    /// This producer's delivery latency histogram (looked up once, not per delivery).
    delivery: Histogram,
}

impl ProducerCallbacks {
    /// The callbacks of the producer `client_id`.
    pub(super) fn new(client_id: &str) -> Self {
        let label: Client = [("client", Arc::from(client_id))];
        Self(Arc::new(Shared {
            log: ClientLog::new(format!("producer {client_id}")),
            delivery: families().delivery_latency.get_or_create_owned(&label),
            label,
        }))
    }

    /// A record was acknowledged `seconds` after it was handed over.
    pub(super) fn delivered_after(&self, seconds: f64) {
        self.0.delivery.observe(seconds);
        #[cfg(feature = "otel")]
        crate::metrics::otlp::with(|i| {
            let client = crate::metrics::otlp::label("client", &self.0.label[0].1);
            i.delivery_latency.record(seconds, &[client]);
        });
    }

    /// What its client reported.
    pub(super) fn log(&self) -> &ClientLog {
        &self.0.log
    }
}

/// How librdkafka's delivery of one record ended: acknowledged (when its report was served, as
/// [`sent_at`](super::delivery::sent_at) counts), or failed with the record.
pub(super) type DeliveryOutcome = Result<u32, (KafkaError, OwnedMessage)>;

impl ProducerContext for ProducerCallbacks {
    /// Where the record's outcome goes: the [`PendingDelivery`](crate::kafka::producer::PendingDelivery) that
    /// waits for it.
    type DeliveryOpaque = Box<oneshot::Sender<DeliveryOutcome>>;

    fn delivery(&self, result: &DeliveryResult<'_>, outcome: Self::DeliveryOpaque) {
        let _ = outcome.send(match result {
            Ok(_) => Ok(super::delivery::acked_at()),
            Err((error, message)) => Err((error.clone(), message.detach())),
        });
    }
}

impl ClientContext for ProducerCallbacks {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.0.log.line(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.0.log.error(&error, reason);
    }

    fn stats(&self, statistics: Statistics) {
        self.0.log.statistics(&statistics);
        let f = families();
        let in_flight: i64 = statistics
            .brokers
            .values()
            .map(|b| b.waitresp_msg_cnt)
            .sum();
        f.producer_queue
            .get_or_create(&self.0.label)
            .set(statistics.msg_cnt as i64);
        f.producer_in_flight
            .get_or_create(&self.0.label)
            .set(in_flight);
        f.producer_connected
            .get_or_create(&self.0.label)
            .set(i64::from(self.0.log.connected()));
        #[cfg(feature = "otel")]
        crate::metrics::otlp::with(|i| {
            let client = [crate::metrics::otlp::label("client", &self.0.label[0].1)];
            i.producer_queue.record(statistics.msg_cnt as i64, &client);
            i.producer_in_flight.record(in_flight, &client);
            i.producer_connected
                .record(i64::from(self.0.log.connected()), &client);
        });
    }
}
