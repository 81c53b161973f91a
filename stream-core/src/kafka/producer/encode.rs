//! The record a send writes for an envelope: its bytes, its headers and its event id.

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
    let mut bytes = Vec::with_capacity(512);
    encode_into(envelope, &mut bytes)?;
    let meta = Meta {
        id: envelope.id,
        correlation_id: envelope.correlation_id,
        causation_id: envelope.causation_id,
        event_type: envelope.event_type.as_str(),
    };
    Ok((bytes, meta.headers(), envelope.id))
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
