//! The record a send writes for an envelope: its bytes, its headers and its event id.

use std::cell::Cell;

use rdkafka::message::{Header, OwnedHeaders};
use serde::Serialize;
use uuid::Uuid;

use crate::envelope::codec::encode::encode_into;
use crate::envelope::event_envelope::EventEnvelope;
use crate::kafka::producer::error::ProduceError;

/// An envelope's record: its bytes, its headers and its event id.
pub(super) fn encode_envelope<T: Serialize>(
    envelope: &EventEnvelope<T>,
) -> Result<(Vec<u8>, OwnedHeaders, Uuid), ProduceError> {
    let mut bytes = record_buffer();
    encode_into(envelope, &mut bytes)?;
    let meta = Meta {
        id: envelope.id,
        correlation_id: envelope.correlation_id,
        causation_id: envelope.causation_id,
        event_type: envelope.event_type.as_str(),
    };
    Ok((bytes, meta.headers(), envelope.id))
}

thread_local! {
    /// The buffer of the last record this thread handed to librdkafka, which copied its bytes.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The largest buffer kept for the next record: a rare large record's is freed.
const SPARE_CAPACITY: usize = 64 * 1024;

/// An empty buffer for a record's bytes: the thread's spare, or a new one.
fn record_buffer() -> Vec<u8> {
    let mut bytes = SPARE.take();
    bytes.clear();
    if bytes.capacity() == 0 {
        bytes.reserve(512);
    }
    bytes
}

/// Keeps `bytes`, handed to librdkafka (which copied them), for the thread's next record.
pub(super) fn recycle(bytes: Vec<u8>) {
    if bytes.capacity() <= SPARE_CAPACITY {
        SPARE.set(bytes);
    }
}

/// The envelope fields copied into record headers.
pub(super) struct Meta<'a> {
    pub(super) id: Uuid,
    pub(super) correlation_id: Uuid,
    pub(super) causation_id: Option<Uuid>,
    pub(super) event_type: &'a str,
}

/// Room for every header a record may get: the four always written, `causation_id`, and
/// `traceparent` with `tracestate`. librdkafka's header list grows by reallocating, once per
/// record if this were short.
const HEADER_ROOM: usize = 7;

impl Meta<'_> {
    pub(super) fn headers(&self) -> OwnedHeaders {
        let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let mut corr = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let mut headers = OwnedHeaders::new_with_capacity(HEADER_ROOM)
            .insert(Header {
                key: "event_type",
                value: Some(self.event_type),
            })
            .insert(Header {
                key: "event_id",
                value: Some(&*self.id.hyphenated().encode_lower(&mut id)),
            })
            .insert(Header {
                key: "correlation_id",
                value: Some(&*self.correlation_id.hyphenated().encode_lower(&mut corr)),
            })
            .insert(Header {
                key: "content-type",
                value: Some("application/json"),
            });
        if let Some(c) = self.causation_id {
            let mut cause = [0u8; uuid::fmt::Hyphenated::LENGTH];
            headers = headers.insert(Header {
                key: "causation_id",
                value: Some(&*c.hyphenated().encode_lower(&mut cause)),
            });
        }
        headers
    }
}
