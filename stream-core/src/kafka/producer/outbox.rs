//! [`Outbox`]: what a handler publishes in exactly-once mode, held until its attempt succeeds.
//!
//! Records in a Kafka transaction cannot be taken back one by one: had a failed attempt's records
//! gone to librdkafka, the transaction would carry them to every `read_committed` reader along
//! with the retry's. So in exactly-once mode a handler's publishes are staged here, and handed to
//! the transactional producer only once the handler returns `Ok`; a failed attempt's are dropped.

use std::sync::Mutex;

use rdkafka::message::OwnedHeaders;
use uuid::Uuid;

use crate::kafka::producer::delivery::{DeliveryState, PendingDelivery};
use crate::kafka::producer::error::ProduceError;
use crate::kafka::producer::message_producer::{HandOver, MessageProducer};

/// One staged record: its topic, key, encoded envelope, headers and event id.
pub(crate) struct StagedRecord {
    topic: String,
    key: String,
    payload: Vec<u8>,
    headers: OwnedHeaders,
    id: Uuid,
}

/// The records of one message's current handler attempt, in publish order.
#[derive(Default)]
pub struct Outbox(Mutex<Vec<StagedRecord>>);

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|r| r.len()).unwrap_or_default();
        write!(f, "Outbox({n} staged)")
    }
}

impl Outbox {
    /// Drops what the current attempt staged (it failed).
    pub(crate) fn clear(&self) {
        self.0.lock().expect("outbox").clear();
    }

    /// Takes what the attempt staged, in publish order.
    pub(crate) fn take(&self) -> Vec<StagedRecord> {
        std::mem::take(&mut *self.0.lock().expect("outbox"))
    }
}

impl MessageProducer {
    /// Encodes a record as [`MessageProducer::enqueue_with`] would and stages it in `outbox`; the
    /// returned delivery resolves at once. A record over `message.max.bytes` fails here, in the
    /// handler, not later with its transaction.
    pub(super) fn stage(
        &self,
        outbox: &Outbox,
        topic: &str,
        key: &str,
        (payload, headers, id): (Vec<u8>, OwnedHeaders, Uuid),
    ) -> Result<PendingDelivery, ProduceError> {
        let limit = self.inner.max_message_bytes;
        if payload.len() > limit {
            return Err(ProduceError::MessageTooLarge {
                size: payload.len(),
                limit,
                payload,
            });
        }
        outbox.0.lock().expect("outbox").push(StagedRecord {
            topic: topic.to_owned(),
            key: key.to_owned(),
            payload,
            headers,
            id,
        });
        Ok(PendingDelivery {
            state: DeliveryState::Staged,
            id,
            inner: std::sync::Arc::clone(&self.inner),
        })
    }

    /// Hands a staged record to librdkafka (into the open transaction), waiting for room like
    /// [`MessageProducer::enqueue`].
    pub(crate) async fn enqueue_staged(
        &self,
        record: StagedRecord,
    ) -> Result<PendingDelivery, ProduceError> {
        let StagedRecord {
            topic,
            key,
            payload,
            headers,
            id,
        } = record;
        let blocked = match self.hand_over(&topic, &key, payload, headers, id)? {
            HandOver::Queued(delivery) => return Ok(delivery),
            HandOver::Blocked(blocked) => blocked,
        };
        self.wait_for_room(&topic, &key, blocked).await
    }
}
