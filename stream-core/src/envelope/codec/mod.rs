//! The JSON wire format of envelopes: [`encode`], [`decode`], [`RawEnvelope`] for the dispatch
//! path, and [`CodecError`], which says which field failed and why.
//!
//! This module is the contract with every other service, Python ones included; the full text is
//! `docs/wire-format.md`, and `docs/envelope.schema.json` is its JSON Schema. [`decode`] reads the
//! metadata with a reader of its own (`codec/scan.rs`) and hands only the payload to serde_json;
//! the derived `Deserialize` of [`EventEnvelope`] remains the authority for anything that reader
//! does not take, and for every error. The rules:
//!
//! - **Field order** on write is `id, correlation_id, causation_id, broker, event_type, source,
//!   timestamp, version, data`; `causation_id` is written as `null` when there is none.
//! - **Unknown fields are ignored** on read, so older services read newer envelopes. A missing
//!   `causation_id` reads as none, a missing `version` as 1.
//! - **Timestamps** are written RFC 3339 in UTC with `Z` and exactly six fraction digits
//!   (`2026-11-26T19:28:45.123456Z`). They are read with `Z`, with any offset (converted to UTC),
//!   or with none (a naive time, as Python's `datetime.isoformat()` writes it, is UTC), with zero
//!   to nine fraction digits; the envelope keeps microseconds. See [`timestamp`].
//! - **Decimals** (`rust_decimal::Decimal` fields in payloads) are written as JSON strings
//!   (`"2450.55"`) and read from strings or numbers with no `f64` step in between: a plain
//!   `Decimal` field needs no attribute. This holds because the workspace enables
//!   `rust_decimal/serde-with-arbitrary-precision` (and with it `serde_json/arbitrary_precision`).
//!   That feature has one known cost, documented in `docs/wire-format.md`: an `f64` field inside a
//!   `#[serde(flatten)]`, internally or adjacently tagged, or untagged type cannot read a JSON
//!   number with a fraction (serde-rs/json#721, #1046, #1108); use `Decimal` there.
//!
//! ```
//! use rust_decimal::Decimal;
//! use serde::{Deserialize, Serialize};
//! use stream_core::{envelope::codec, Event, EventEnvelope};
//! use stream_topics::Broker;
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize, stream_macros::Event)]
//! # #[event(crate = "stream_core")]
//! struct TradingSignal { symbol: String, price: Decimal }
//!
//! let env = EventEnvelope::new(
//!     Broker::new("paper")?,
//!     "strategy-runner",
//!     TradingSignal { symbol: "RELIANCE".into(), price: "2450.55".parse()? },
//! );
//! let bytes = codec::encode(&env)?;
//! assert!(std::str::from_utf8(&bytes)?.ends_with(r#""data":{"symbol":"RELIANCE","price":"2450.55"}}"#));
//! assert_eq!(codec::decode::<TradingSignal>(&bytes)?, env);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::envelope::escape::NEEDS_ESCAPE;
use crate::envelope::event_envelope::EventEnvelope;
use crate::envelope::timestamp;

mod hex;
mod scan;

/// An envelope whose metadata is decoded and whose `data` is still raw JSON: what the consumer
/// decodes first, to route, deduplicate and trace a record before its payload type is known.
///
/// It is an [`EventEnvelope`] like any other, so its fields, [`EventEnvelope::lineage`] and
/// [`encode`] work unchanged; encoding it writes `data` back byte for byte.
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

/// Encodes an envelope as its JSON wire form.
///
/// ```
/// # use stream_core::{envelope::codec, EventEnvelope};
/// # use stream_topics::Broker;
/// let env = EventEnvelope::builder("heartbeat", serde_json::json!({"seq": 1}))
///     .broker(Broker::new("paper").unwrap())
///     .source("clock")
///     .build();
/// let json = String::from_utf8(codec::encode(&env)?).unwrap();
/// assert!(json.starts_with(r#"{"id":""#));
/// assert!(json.ends_with(r#""version":1,"data":{"seq":1}}"#));
/// # Ok::<(), stream_core::envelope::codec::CodecError>(())
/// ```
pub fn encode<T: Serialize>(env: &EventEnvelope<T>) -> Result<Vec<u8>, CodecError> {
    let mut buf = Vec::with_capacity(512);
    encode_into(env, &mut buf)?;
    Ok(buf)
}

/// Encodes an envelope, appending its JSON to `buf` (which is not cleared first). On an error
/// `buf` is left as it was.
///
/// ```
/// # use stream_core::{envelope::codec, EventEnvelope};
/// # use stream_topics::Broker;
/// # let env = EventEnvelope::builder("heartbeat", 1).broker(Broker::new("paper").unwrap()).source("clock").build();
/// let mut buf = Vec::new();
/// for _ in 0..3 {
///     buf.clear();
///     codec::encode_into(&env, &mut buf)?;
///     assert_eq!(buf, codec::encode(&env)?);
/// }
/// # Ok::<(), stream_core::envelope::codec::CodecError>(())
/// ```
pub fn encode_into<T: Serialize>(
    env: &EventEnvelope<T>,
    buf: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let start = buf.len();
    let result = write_envelope(env, buf);
    if result.is_err() {
        buf.truncate(start);
    }
    result
}

/// Writes exactly what the envelope's derived `Serialize` writes through serde_json (a property
/// test holds the two equal), but puts the constant keys and the fields that never need escaping
/// (UUIDs, the timestamp) in directly: escaping every key and value byte was a third of the time.
///
/// The constant text comes from templates copied into `buf` whole, and the UUIDs and the
/// timestamp are then written over their placeholders in `buf` itself. Writing them into a
/// buffer on the stack first and copying that cost more than writing them: the copy's wide
/// loads of bytes just stored a few at a time wait for those stores to reach the cache.
fn write_envelope<T: Serialize>(
    env: &EventEnvelope<T>,
    buf: &mut Vec<u8>,
) -> Result<(), CodecError> {
    /// Appends `template` and hands back the appended bytes, to be written over.
    fn append<'b, const N: usize>(buf: &'b mut Vec<u8>, template: &[u8; N]) -> &'b mut [u8; N] {
        let at = buf.len();
        buf.extend_from_slice(template);
        (&mut buf[at..]).try_into().expect("N bytes were appended")
    }
    fn uuid_at(text: &mut [u8], at: usize, id: &uuid::Uuid) {
        let digits = (&mut text[at..at + hex::LEN]).try_into().expect("36 bytes");
        hex::write(id, digits);
    }
    const HEAD: &[u8; 116] = b"{\"id\":\"________-____-____-____-____________\",\
        \"correlation_id\":\"________-____-____-____-____________\",\"causation_id\":";
    const CAUSE: &[u8; 38] = b"\"________-____-____-____-____________\"";
    const TIMESTAMP: &[u8; 53] = b",\"timestamp\":\"____-__-__T__:__:__.______Z\",\"version\":";

    buf.reserve(HEAD.len() + CAUSE.len() + TIMESTAMP.len() + 128);
    let head = append(buf, HEAD);
    uuid_at(head, 7, &env.id);
    uuid_at(head, 63, &env.correlation_id);
    match &env.causation_id {
        Some(id) => uuid_at(append(buf, CAUSE), 1, id),
        None => buf.extend_from_slice(b"null"),
    }
    write_names(env, buf)?;
    let tail = append(buf, TIMESTAMP);
    let at: &mut [u8; timestamp::LEN] =
        (&mut tail[14..14 + timestamp::LEN]).try_into().expect("27");
    timestamp::write_canonical(&env.timestamp, at).map_err(CodecError::encode_message)?;
    match env.version {
        digit @ 0..=9 => buf.push(b'0' + digit as u8),
        version => json(buf, &version)?,
    }
    buf.extend_from_slice(b",\"data\":");
    json(buf, &env.data)?;
    buf.push(b'}');
    Ok(())
}

/// Writes `,"broker":…,"event_type":…,"source":…`, copying each name as it is when it needs no
/// escaping (a broker name never does, nor does a known event type; a `ServiceName` knows).
#[inline]
fn write_names<T>(env: &EventEnvelope<T>, buf: &mut Vec<u8>) -> Result<(), CodecError> {
    buf.extend_from_slice(b",\"broker\":\"");
    buf.extend_from_slice(env.broker.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"event_type\":");
    if env.event_type.is_known() {
        buf.push(b'"');
        buf.extend_from_slice(env.event_type.as_str().as_bytes());
        buf.push(b'"');
    } else {
        plain(buf, env.event_type.as_str())?;
    }
    buf.extend_from_slice(b",\"source\":");
    if env.source.is_plain() {
        buf.push(b'"');
        buf.extend_from_slice(env.source.as_bytes());
        buf.push(b'"');
    } else {
        json(buf, env.source.as_str())?;
    }
    Ok(())
}

fn json<V: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &V) -> Result<(), CodecError> {
    serde_json::to_writer(&mut *buf, value).map_err(|e| CodecError::encode(&e))
}

/// A string, copied as it is when nothing in it needs escaping (custom event types nearly never
/// do).
fn plain(buf: &mut Vec<u8>, text: &str) -> Result<(), CodecError> {
    if text.bytes().any(|b| NEEDS_ESCAPE[usize::from(b)]) {
        return json(buf, text);
    }
    buf.push(b'"');
    buf.extend_from_slice(text.as_bytes());
    buf.push(b'"');
    Ok(())
}

/// Decodes an envelope and its payload.
///
/// An error says which field failed and why, and keeps the record's bytes for a dead letter.
///
/// ```
/// use stream_core::envelope::codec;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Signal { price: rust_decimal::Decimal }
///
/// let bytes = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11",
///   "correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper",
///   "event_type":"trading_signal","source":"py-strategy","timestamp":"2026-11-26T19:28:45.123456",
///   "data":{"price":2450.550000000000000001},"added_later":true}"#;
/// let env = codec::decode::<Signal>(bytes)?;
/// assert_eq!(env.data.price.to_string(), "2450.550000000000000001");
/// assert_eq!(env.version, 1);
/// assert_eq!(env.causation_id, None);
///
/// let bad = String::from_utf8_lossy(bytes).replace("2450.550000000000000001", "true");
/// let err = codec::decode::<Signal>(bad.as_bytes()).unwrap_err();
/// assert_eq!(err.field(), Some("data.price"));
/// assert_eq!(err.kind(), "decode");
/// assert_eq!(err.bytes(), Some(bad.as_bytes()));
/// # Ok::<(), codec::CodecError>(())
/// ```
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<EventEnvelope<T>, CodecError> {
    // Checking UTF-8 once up front lets both readers skip checking each string on its own.
    let text = utf8(bytes);
    // The fast reader takes only objects, so the check for another kind of value can wait.
    if let Ok(text) = text
        && let Some(env) = scan::envelope(text)
    {
        return Ok(env);
    }
    // Not in the form the fast reader takes, or not valid: the derived path decides.
    not_an_object(bytes)?;
    let parsed = match text {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes), // fails, and says where
    };
    match parsed {
        Ok(env) => Ok(env),
        Err(fast) => Err(locate::<EventEnvelope<T>>(bytes, fast, None, true)),
    }
}

/// `bytes` as text. Nearly every record is ASCII, which is checked word by word in about half the
/// time a UTF-8 check takes; only other text goes through the full check.
#[inline]
fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: ASCII text is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// Whether `value` already is an envelope: a JSON object with a UUID `id` and the other required
/// envelope fields (`correlation_id`, `broker`, `event_type`, `source`, `timestamp` as strings,
/// and `data`). The producer sends such a value as it is rather than wrapping it again.
///
/// ```
/// use serde_json::json;
/// use stream_core::envelope::codec::is_envelope;
///
/// let env = json!({"id": "0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11",
///     "correlation_id": "0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11", "broker": "paper",
///     "event_type": "heartbeat", "source": "clock", "timestamp": "2026-11-26T19:28:45Z",
///     "data": {}});
/// assert!(is_envelope(&env));
/// assert!(!is_envelope(&json!({"id": "0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11", "price": "1"})));
/// assert!(!is_envelope(&json!([1, 2])));
/// ```
pub fn is_envelope(value: &serde_json::Value) -> bool {
    const STRINGS: [&str; 5] = [
        "correlation_id",
        "broker",
        "event_type",
        "source",
        "timestamp",
    ];
    let Some(obj) = value.as_object() else {
        return false;
    };
    let id_ok = obj
        .get("id")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|id| uuid::Uuid::try_parse(id).is_ok());
    id_ok
        && STRINGS
            .iter()
            .all(|k| obj.get(*k).is_some_and(serde_json::Value::is_string))
        && obj.contains_key("data")
}

/// An envelope is a JSON object. serde's derived `Deserialize` would also take a struct from an
/// array (`[id, correlation_id, ...]`); the wire format has no such form, so reject it first.
fn not_an_object(bytes: &[u8]) -> Result<(), CodecError> {
    let first = bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    let found = match first {
        Some(b'{') | None => return Ok(()), // `None`: let serde_json report the empty input
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b'0'..=b'9' | b'-') => "a number",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(_) => return Ok(()), // not JSON at all: serde_json says where
    };
    Err(CodecError {
        kind: Kind::Decode,
        field: None,
        message: format!("an envelope is a JSON object, found {found}"),
        bytes: Some(Box::from(bytes)),
    })
}

/// Re-reads a document that failed to decode, this time tracking the path, to say which field
/// failed. Runs on the error path only, so the fast path pays nothing for it.
fn locate<V: DeserializeOwned>(
    bytes: &[u8],
    fast: serde_json::Error,
    prefix: Option<&str>,
    whole_record: bool,
) -> CodecError {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let (field, err) = match serde_path_to_error::deserialize::<_, V>(&mut de) {
        Err(err) => {
            let path = err.path().to_string();
            (Some(path), err.into_inner())
        }
        // Only a trailing-characters error gets here; it has no field.
        Ok(_) => (None, de.end().err().unwrap_or(fast)),
    };
    CodecError::decode(field, prefix, &err, whole_record.then_some(bytes))
}

/// Why an envelope could not be encoded or decoded.
///
/// [`CodecError::field`] names the field that failed (`id`, `timestamp`, `data.price`), when one
/// did, and [`CodecError::kind`] is a short stable string for a dead letter's headers. A decode
/// error from [`decode`] or [`RawEnvelope::decode`] keeps the record's bytes
/// ([`CodecError::bytes`]) so the record can be dead-lettered as it was.
///
/// ```
/// use stream_core::envelope::codec;
/// let err = codec::decode::<serde_json::Value>(br#"{"id": "not-a-uuid"}"#).unwrap_err();
/// assert_eq!(err.kind(), "decode");
/// assert_eq!(err.field(), Some("id"));
/// assert!(err.to_string().starts_with("cannot decode envelope field `id`: "), "{err}");
/// ```
pub struct CodecError {
    kind: Kind,
    field: Option<String>,
    message: String,
    bytes: Option<Box<[u8]>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Decode,
    Encode,
}

impl CodecError {
    fn decode(
        path: Option<String>,
        prefix: Option<&str>,
        err: &serde_json::Error,
        bytes: Option<&[u8]>,
    ) -> Self {
        let mut message = err.to_string();
        // serde_json appends the position. Keep it for malformed JSON; drop it when a field says
        // where the value is wrong (and for `data` text, where it is not a position in the record).
        // serde_path_to_error writes `.` for the root and `?` for a key it never read.
        let field = path
            .map(|p| p.trim_end_matches(".?").to_owned())
            .filter(|p| p != "." && p != "?");
        if err.is_data() && err.line() != 0 && (field.is_some() || prefix.is_some()) {
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message.truncate(stripped.len());
            }
        }
        let mut field = match (prefix, field) {
            (Some(prefix), Some(path)) => Some(format!("{prefix}.{path}")),
            (Some(prefix), None) => Some(prefix.to_owned()),
            (None, path) => path,
        };
        // rust_decimal, reading a JSON object where a Decimal belongs, complains about the
        // object's first key (with arbitrary_precision it expects serde_json's number token
        // there); say what is wrong at the Decimal's own path instead.
        if message == "expected field with custom name" {
            message = "invalid type: map, expected a decimal as a string or number".to_owned();
            field = field.and_then(|p| p.rfind('.').map(|dot| p[..dot].to_owned()));
        }
        // serde reports a missing field at its parent; name the field itself.
        if let Some(missing) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_owned())
        {
            let full = match field {
                Some(parent) => format!("{parent}.{missing}"),
                None => missing,
            };
            message = format!("missing field `{full}`");
            field = Some(full);
        }
        CodecError {
            kind: Kind::Decode,
            field,
            message,
            bytes: bytes.map(Box::from),
        }
    }

    fn encode_message(message: String) -> Self {
        CodecError {
            kind: Kind::Encode,
            field: None,
            message,
            bytes: None,
        }
    }

    fn encode(err: &serde_json::Error) -> Self {
        CodecError {
            kind: Kind::Encode,
            field: None,
            message: err.to_string(),
            bytes: None,
        }
    }

    /// `"decode"` or `"encode"`: a short stable name of the failure, for a dead letter's
    /// `error.kind` header and for metrics labels.
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"nope").unwrap_err();
    /// assert_eq!(err.kind(), "decode");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self.kind {
            Kind::Decode => "decode",
            Kind::Encode => "encode",
        }
    }

    /// The path of the field that failed (`id`, `timestamp`, `data.legs[0].price`), or `None`
    /// when the document as a whole is at fault (not JSON, not an object, trailing bytes).
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"{").unwrap_err();
    /// assert_eq!(err.field(), None);
    /// ```
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What was wrong, without the field path: `missing field `id``, `invalid type: ...`.
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"{}").unwrap_err();
    /// assert_eq!(err.message(), "missing field `id`");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The record bytes that failed to decode, as they were; `None` for an encode error and for
    /// [`RawEnvelope::into_typed`] (the caller holds the record).
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"\xff garbage").unwrap_err();
    /// assert_eq!(err.bytes(), Some(&b"\xff garbage"[..]));
    /// ```
    pub fn bytes(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }

    /// Takes the kept record bytes out of the error.
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"[]").unwrap_err();
    /// assert_eq!(err.into_bytes().as_deref(), Some(&b"[]"[..]));
    /// ```
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        self.bytes.map(Vec::from)
    }

    /// Whether this is a decode error (the record is malformed: dead-letter it, do not retry).
    ///
    /// ```
    /// assert!(stream_core::envelope::codec::decode::<()>(b"").unwrap_err().is_decode());
    /// ```
    pub fn is_decode(&self) -> bool {
        self.kind == Kind::Decode
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, &self.field) {
            (Kind::Encode, _) => write!(f, "cannot encode envelope: {}", self.message),
            (Kind::Decode, Some(_)) if self.message.starts_with("missing field") => {
                write!(f, "cannot decode envelope: {}", self.message)
            }
            (Kind::Decode, Some(field)) => {
                write!(
                    f,
                    "cannot decode envelope field `{field}`: {}",
                    self.message
                )
            }
            (Kind::Decode, None) => write!(f, "cannot decode envelope: {}", self.message),
        }
    }
}

impl fmt::Debug for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecError")
            .field("kind", &self.kind())
            .field("field", &self.field)
            .field("message", &self.message)
            .field("bytes", &self.bytes.as_ref().map(|b| b.len()))
            .finish()
    }
}

impl std::error::Error for CodecError {}

/// A serde_json error as a codec error: one with a position in its input is a decode error,
/// one without an encode error (serde_json gives no position to what it fails to write; note
/// that `serde_json::from_value` errors have none either).
///
/// ```
/// use stream_core::envelope::codec::CodecError;
/// let err = serde_json::from_str::<u8>("x").unwrap_err();
/// assert_eq!(CodecError::from(err).kind(), "decode");
/// let err = serde_json::to_vec(&std::collections::HashMap::from([((1, 2), 3)])).unwrap_err();
/// assert_eq!(CodecError::from(err).kind(), "encode");
/// ```
impl From<serde_json::Error> for CodecError {
    fn from(err: serde_json::Error) -> Self {
        if err.line() == 0 {
            CodecError::encode(&err)
        } else {
            CodecError::decode(None, None, &err, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    #[test]
    fn an_unwritable_timestamp_is_an_encode_error() {
        let env = crate::EventEnvelope::builder("heartbeat", ())
            .broker(stream_topics::Broker::new("paper").unwrap())
            .source("clock")
            .timestamp(DateTime::from_timestamp(253_402_300_800, 0).unwrap())
            .build();
        let mut buf = b"keep".to_vec();
        let err = super::encode_into(&env, &mut buf).unwrap_err();
        assert_eq!(err.kind(), "encode");
        assert!(
            err.to_string().contains("outside the years 0000 to 9999"),
            "{err}"
        );
        assert_eq!(buf, b"keep", "the buffer is left as it was");
    }
}
