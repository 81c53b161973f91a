//! [`RawEnvelope`]: an envelope whose payload is still raw JSON, and its typed views.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::envelope::codec::decode::{decode, locate};
use crate::envelope::codec::error::CodecError;
use crate::envelope::event_envelope::EventEnvelope;

/// An envelope whose metadata is decoded and whose `data` is still raw JSON: what the consumer
/// decodes first, to route, deduplicate and trace a record before its payload type is known.
///
/// It is an [`EventEnvelope`] like any other, so its fields, [`EventEnvelope::lineage`] and
/// [`encode`](fn@crate::envelope::codec::encode) work unchanged; encoding it writes `data` back
/// byte for byte.
///
/// ```
/// use stream_core::envelope::codec::RawEnvelope;
///
/// let bytes = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11",
///   "correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper",
///   "event_type":"trading_signal","source":"strategy-runner",
///   "timestamp":"2026-11-26T19:28:45.123456Z","data":{"price": 2450.55}}"#;
/// let raw = RawEnvelope::decode(bytes)?;
/// assert_eq!(raw.event_type, "trading_signal");
/// assert_eq!(raw.data_bytes(), br#"{"price": 2450.55}"#);
/// assert_eq!(raw.lineage().causation_id, raw.id);
/// # Ok::<(), stream_core::envelope::codec::CodecError>(())
/// ```
pub type RawEnvelope = EventEnvelope<Box<RawValue>>;

impl EventEnvelope<Box<RawValue>> {
    /// Decodes the envelope's metadata, leaving `data` as raw JSON.
    ///
    /// ```
    /// use stream_core::envelope::codec::RawEnvelope;
    /// let err = RawEnvelope::decode(b"{}").unwrap_err();
    /// assert_eq!(err.field(), Some("id"));
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        decode(bytes)
    }

    /// Decodes `data` as `T`, keeping the metadata. An error names the field under `data`.
    ///
    /// ```
    /// use stream_core::envelope::codec::RawEnvelope;
    /// # let bytes = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper","event_type":"heartbeat","source":"s","timestamp":"2026-11-26T19:28:45Z","data":{"seq":7}}"#;
    /// #[derive(serde::Deserialize)]
    /// struct Heartbeat { seq: u64 }
    /// let raw = RawEnvelope::decode(bytes)?;
    /// assert_eq!(raw.into_typed::<Heartbeat>()?.data.seq, 7);
    /// # Ok::<(), stream_core::envelope::codec::CodecError>(())
    /// ```
    pub fn into_typed<T: DeserializeOwned>(self) -> Result<EventEnvelope<T>, CodecError> {
        let data = decode_data(&self.data)?;
        Ok(self.map(|_| data))
    }

    /// Like [`RawEnvelope::into_typed`], without consuming the raw envelope (the metadata is
    /// cloned).
    ///
    /// ```
    /// use stream_core::envelope::codec::RawEnvelope;
    /// # let bytes = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper","event_type":"heartbeat","source":"s","timestamp":"2026-11-26T19:28:45Z","data":{"seq":"x"}}"#;
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Heartbeat { seq: u64 }
    /// let raw = RawEnvelope::decode(bytes)?;
    /// let err = raw.to_typed::<Heartbeat>().unwrap_err();
    /// assert_eq!(err.field(), Some("data.seq"));
    /// # Ok::<(), stream_core::envelope::codec::CodecError>(())
    /// ```
    pub fn to_typed<T: DeserializeOwned>(&self) -> Result<EventEnvelope<T>, CodecError> {
        let data = decode_data(&self.data)?;
        Ok(self.as_ref().map(|_| data))
    }

    /// The `data` value's JSON text, exactly as it was in the record.
    ///
    /// ```
    /// # let bytes = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper","event_type":"heartbeat","source":"s","timestamp":"2026-11-26T19:28:45Z","data":[1, 2]}"#;
    /// let raw = stream_core::envelope::codec::RawEnvelope::decode(bytes)?;
    /// assert_eq!(raw.data_bytes(), b"[1, 2]");
    /// # Ok::<(), stream_core::envelope::codec::CodecError>(())
    /// ```
    pub fn data_bytes(&self) -> &[u8] {
        self.data.get().as_bytes()
    }
}

fn decode_data<T: DeserializeOwned>(data: &RawValue) -> Result<T, CodecError> {
    match serde_json::from_str(data.get()) {
        Ok(value) => Ok(value),
        Err(fast) => Err(locate::<T>(
            data.get().as_bytes(),
            fast,
            Some("data"),
            false,
        )),
    }
}
