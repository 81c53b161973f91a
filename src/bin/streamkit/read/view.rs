//! [`RecordView`]: one record as the commands print it, its envelope decoded when it is one.

use chrono::{DateTime, Utc};
use rdkafka::message::{Message, OwnedMessage};
use serde_json::{Value, json};
use stream_core::envelope::codec::RawEnvelope;

use crate::read::headers::raw_headers;

/// A record and what decoding its value as an envelope gave.
pub struct RecordView {
    /// The record as read.
    pub message: OwnedMessage,
    /// The envelope, or why the value is not one (`None` for a record without a value).
    pub envelope: Option<Result<RawEnvelope, String>>,
}

/// How many bytes of an undecodable value are shown.
const SHOWN_BYTES: usize = 200;

impl RecordView {
    /// Decodes `message`'s value.
    pub fn new(message: OwnedMessage) -> Self {
        let envelope = message
            .payload()
            .map(|bytes| RawEnvelope::decode(bytes).map_err(|e| e.to_string()));
        Self { message, envelope }
    }

    /// The envelope, when the value is one.
    pub fn decoded(&self) -> Option<&RawEnvelope> {
        self.envelope.as_ref().and_then(|e| e.as_ref().ok())
    }

    /// The record key as text (lossy).
    pub fn key(&self) -> Option<String> {
        self.message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
    }

    /// A header's value as text (lossy), the last one of that name.
    pub fn header(&self, name: &str) -> Option<String> {
        raw_headers(&self.message)
            .into_iter()
            .rfind(|h| h.name == name.as_bytes())
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    /// Every header, in order, names and values as text (lossy).
    pub fn headers(&self) -> Vec<(String, String)> {
        raw_headers(&self.message)
            .into_iter()
            .map(|h| {
                let value = h.value.as_deref().map(String::from_utf8_lossy);
                (h.name_lossy(), value.unwrap_or_default().into_owned())
            })
            .collect()
    }

    /// The record's timestamp (the producer's create time, or the broker's append time).
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.message
            .timestamp()
            .to_millis()
            .and_then(DateTime::from_timestamp_millis)
    }

    /// `paper.signals.raw/2@1200`
    pub fn coordinates(&self) -> String {
        let m = &self.message;
        format!("{}/{}@{}", m.topic(), m.partition(), m.offset())
    }

    /// One line: time, coordinates, then the envelope's type, ids and data, or `UNDECODABLE`
    /// with the reason and the start of the value.
    pub fn line(&self) -> String {
        let time = self
            .time()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_else(|| "-".into());
        let key = self.key().map(|k| format!(" key={k}")).unwrap_or_default();
        let what = match &self.envelope {
            None => "EMPTY (no value)".to_owned(),
            Some(Ok(e)) => format!(
                "{} id={} correlation={} data={}",
                e.event_type,
                e.id,
                e.correlation_id,
                e.data.get()
            ),
            Some(Err(reason)) => format!("UNDECODABLE ({reason}) value={}", self.value_start()),
        };
        format!("{time} {}{key} {what}", self.coordinates())
    }

    /// The record as one JSON object: coordinates, time, key, headers, and `envelope` or
    /// `undecodable` (with `error` and `value`).
    pub fn to_json(&self) -> Value {
        let m = &self.message;
        let mut object = json!({
            "topic": m.topic(),
            "partition": m.partition(),
            "offset": m.offset(),
            "time": self.time().map(|t| t.to_rfc3339()),
            "key": self.key(),
            "headers": self.headers().into_iter().map(|(k, v)| (k, Value::String(v))).collect::<serde_json::Map<_, _>>(),
        });
        let fields = object.as_object_mut().expect("an object");
        match &self.envelope {
            None => {}
            Some(Ok(e)) => {
                let value = serde_json::to_value(e).unwrap_or(Value::Null);
                fields.insert("envelope".into(), value);
            }
            Some(Err(reason)) => {
                fields.insert("undecodable".into(), Value::Bool(true));
                fields.insert("error".into(), Value::String(reason.clone()));
                fields.insert("value".into(), Value::String(self.value_start()));
            }
        }
        object
    }

    fn value_start(&self) -> String {
        let bytes = self.message.payload().unwrap_or_default();
        let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
        let mut text = String::from_utf8_lossy(shown).into_owned();
        if bytes.len() > SHOWN_BYTES {
            text.push_str(&format!("... ({} bytes)", bytes.len()));
        }
        format!("{text:?}")
    }
}
