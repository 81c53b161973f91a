//! [`Outbox`]: what a handler publishes in exactly-once mode, held until its attempt succeeds.
//!
//! Records in a Kafka transaction cannot be taken back one by one: had a failed attempt's records
//! gone to librdkafka, the transaction would carry them to every `read_committed` reader along
//! with the retry's. So in exactly-once mode a handler's publishes are staged here, and handed to
//! the transactional producer only once the handler returns `Ok`; a failed attempt's are dropped.

use std::sync::Mutex;

use rdkafka::message::OwnedHeaders;
use uuid::Uuid;

use crate::kafka::producer::error::ProduceError;

/// One staged record: its topic, key, encoded envelope, headers and event id.
pub(crate) struct StagedRecord {
    pub(crate) topic: String,
    pub(crate) key: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) headers: OwnedHeaders,
    pub(crate) id: Uuid,
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
    /// Stages an encoded record; a record over `limit` bytes (`message.max.bytes`) fails here, in
    /// the handler, not later with its transaction.
    pub(crate) fn stage(
        &self,
        topic: &str,
        key: &str,
        (payload, headers, id): (Vec<u8>, OwnedHeaders, Uuid),
        limit: usize,
    ) -> Result<Uuid, ProduceError> {
        if payload.len() > limit {
            return Err(ProduceError::MessageTooLarge {
                size: payload.len(),
                limit,
                payload,
            });
        }
        self.0.lock().expect("outbox").push(StagedRecord {
            topic: topic.to_owned(),
            key: key.to_owned(),
            payload,
            headers,
            id,
        });
        Ok(id)
    }

    /// Drops what the current attempt staged (it failed).
    pub(crate) fn clear(&self) {
        self.0.lock().expect("outbox").clear();
    }

    /// Takes what the attempt staged, in publish order.
    pub(crate) fn take(&self) -> Vec<StagedRecord> {
        std::mem::take(&mut *self.0.lock().expect("outbox"))
    }
}
