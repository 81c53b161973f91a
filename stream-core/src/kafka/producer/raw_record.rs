//! Records sent as they are, without an envelope: what dead-letter topics and tools that
//! forward records use.

use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::BaseRecord;
use tokio::sync::oneshot;

use crate::kafka::producer::error::{ProduceError, Stage};
use crate::kafka::producer::message_producer::MessageProducer;

impl MessageProducer {
    /// Sends a record as it is (no envelope, headers as given) and waits for the acknowledgement:
    /// what dead-letter topics and tools that forward records use.
    pub async fn send_record(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
        headers: OwnedHeaders,
    ) -> Result<(), ProduceError> {
        self.send_raw(topic, key, Some(value), headers).await
    }

    /// [`MessageProducer::send_record`] for a value that may be absent: `None` writes a
    /// tombstone (a record with a null value), as Kafka's compacted topics use them.
    ///
    /// A too-large record is [`ProduceError::MessageTooLarge`] when librdkafka refused it against
    /// the producer's `message.max.bytes` and [`ProduceError::RefusedAsTooLarge`] when the broker
    /// did (the topic's limit).
    pub async fn send_raw(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: OwnedHeaders,
    ) -> Result<(), ProduceError> {
        let failed = |error, stage| {
            let payload = value.map(<[u8]>::to_vec).unwrap_or_default();
            ProduceError::from_kafka(error, topic, payload, stage)
        };
        let limit = self.inner.max_message_bytes;
        let started = Instant::now();
        let mut headers = Some(headers);
        let delivery = loop {
            let (outcome, delivery) = oneshot::channel();
            let mut record = BaseRecord::<[u8], [u8], _>::with_opaque_to(topic, Box::new(outcome));
            record.headers = headers.take();
            record.payload = value;
            record.key = key;
            match self.inner.producer().send(record) {
                Ok(()) => break delivery,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), record))
                    if started.elapsed() < self.inner.queue_deadline =>
                {
                    headers = record.headers;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(failed(error, Stage::HandOver { limit })),
            }
        };
        match delivery.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((error, _))) => Err(failed(error, Stage::Delivery)),
            Err(_canceled) => Err(failed(KafkaError::Canceled, Stage::Delivery)),
        }
    }
}
