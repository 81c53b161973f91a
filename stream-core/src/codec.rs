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
//! use stream_core::{codec, Event, EventEnvelope};
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

use crate::envelope::EventEnvelope;

mod hex;
mod scan;

/// An envelope whose metadata is decoded and whose `data` is still raw JSON: what the consumer
/// decodes first, to route, deduplicate and trace a record before its payload type is known.
///
/// It is an [`EventEnvelope`] like any other, so its fields, [`EventEnvelope::lineage`] and
/// [`encode`] work unchanged; encoding it writes `data` back byte for byte.
///
/// ```
/// use stream_core::codec::RawEnvelope;
///
/// let bytes = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11",
///   "correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper",
///   "event_type":"trading_signal","source":"strategy-runner",
///   "timestamp":"2026-11-26T19:28:45.123456Z","data":{"price": 2450.55}}"#;
/// let raw = RawEnvelope::decode(bytes)?;
/// assert_eq!(raw.event_type, "trading_signal");
/// assert_eq!(raw.data_bytes(), br#"{"price": 2450.55}"#);
/// assert_eq!(raw.lineage().causation_id, raw.id);
/// # Ok::<(), stream_core::codec::CodecError>(())
/// ```
pub type RawEnvelope = EventEnvelope<Box<RawValue>>;

impl EventEnvelope<Box<RawValue>> {
    /// Decodes the envelope's metadata, leaving `data` as raw JSON.
    ///
    /// ```
    /// use stream_core::codec::RawEnvelope;
    /// let err = RawEnvelope::decode(b"{}").unwrap_err();
    /// assert_eq!(err.field(), Some("id"));
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        decode(bytes)
    }

    /// Decodes `data` as `T`, keeping the metadata. An error names the field under `data`.
    ///
    /// ```
    /// use stream_core::codec::RawEnvelope;
    /// # let bytes = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper","event_type":"heartbeat","source":"s","timestamp":"2026-11-26T19:28:45Z","data":{"seq":7}}"#;
    /// #[derive(serde::Deserialize)]
    /// struct Heartbeat { seq: u64 }
    /// let raw = RawEnvelope::decode(bytes)?;
    /// assert_eq!(raw.into_typed::<Heartbeat>()?.data.seq, 7);
    /// # Ok::<(), stream_core::codec::CodecError>(())
    /// ```
    pub fn into_typed<T: DeserializeOwned>(self) -> Result<EventEnvelope<T>, CodecError> {
        let data = decode_data(&self.data)?;
        Ok(self.map(|_| data))
    }

    /// Like [`RawEnvelope::into_typed`], without consuming the raw envelope (the metadata is
    /// cloned).
    ///
    /// ```
    /// use stream_core::codec::RawEnvelope;
    /// # let bytes = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper","event_type":"heartbeat","source":"s","timestamp":"2026-11-26T19:28:45Z","data":{"seq":"x"}}"#;
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Heartbeat { seq: u64 }
    /// let raw = RawEnvelope::decode(bytes)?;
    /// let err = raw.to_typed::<Heartbeat>().unwrap_err();
    /// assert_eq!(err.field(), Some("data.seq"));
    /// # Ok::<(), stream_core::codec::CodecError>(())
    /// ```
    pub fn to_typed<T: DeserializeOwned>(&self) -> Result<EventEnvelope<T>, CodecError> {
        let data = decode_data(&self.data)?;
        Ok(self.as_ref().map(|_| data))
    }

    /// The `data` value's JSON text, exactly as it was in the record.
    ///
    /// ```
    /// # let bytes = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper","event_type":"heartbeat","source":"s","timestamp":"2026-11-26T19:28:45Z","data":[1, 2]}"#;
    /// let raw = stream_core::codec::RawEnvelope::decode(bytes)?;
    /// assert_eq!(raw.data_bytes(), b"[1, 2]");
    /// # Ok::<(), stream_core::codec::CodecError>(())
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
/// # use stream_core::{codec, EventEnvelope};
/// # use stream_topics::Broker;
/// let env = EventEnvelope::builder("heartbeat", serde_json::json!({"seq": 1}))
///     .broker(Broker::new("paper").unwrap())
///     .source("clock")
///     .build();
/// let json = String::from_utf8(codec::encode(&env)?).unwrap();
/// assert!(json.starts_with(r#"{"id":""#));
/// assert!(json.ends_with(r#""version":1,"data":{"seq":1}}"#));
/// # Ok::<(), stream_core::codec::CodecError>(())
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
/// # use stream_core::{codec, EventEnvelope};
/// # use stream_topics::Broker;
/// # let env = EventEnvelope::builder("heartbeat", 1).broker(Broker::new("paper").unwrap()).source("clock").build();
/// let mut buf = Vec::new();
/// for _ in 0..3 {
///     buf.clear();
///     codec::encode_into(&env, &mut buf)?;
///     assert_eq!(buf, codec::encode(&env)?);
/// }
/// # Ok::<(), stream_core::codec::CodecError>(())
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
    timestamp::write_canonical(&env.timestamp, at)?;
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

/// Whether a JSON string must escape `byte` (a control character, the quote, the backslash).
pub(crate) fn needs_escape(byte: u8) -> bool {
    NEEDS_ESCAPE[usize::from(byte)]
}

/// The bytes a JSON string cannot hold as they are: control characters, the quote, the
/// backslash. The encoder escapes a string holding one; the fast decoder stops at one.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Decodes an envelope and its payload.
///
/// An error says which field failed and why, and keeps the record's bytes for a dead letter.
///
/// ```
/// use stream_core::codec;
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
/// use stream_core::codec::is_envelope;
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
/// use stream_core::codec;
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
    /// let err = stream_core::codec::decode::<()>(b"nope").unwrap_err();
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
    /// let err = stream_core::codec::decode::<()>(b"{").unwrap_err();
    /// assert_eq!(err.field(), None);
    /// ```
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What was wrong, without the field path: `missing field `id``, `invalid type: ...`.
    ///
    /// ```
    /// let err = stream_core::codec::decode::<()>(b"{}").unwrap_err();
    /// assert_eq!(err.message(), "missing field `id`");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The record bytes that failed to decode, as they were; `None` for an encode error and for
    /// [`RawEnvelope::into_typed`] (the caller holds the record).
    ///
    /// ```
    /// let err = stream_core::codec::decode::<()>(b"\xff garbage").unwrap_err();
    /// assert_eq!(err.bytes(), Some(&b"\xff garbage"[..]));
    /// ```
    pub fn bytes(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }

    /// Takes the kept record bytes out of the error.
    ///
    /// ```
    /// let err = stream_core::codec::decode::<()>(b"[]").unwrap_err();
    /// assert_eq!(err.into_bytes().as_deref(), Some(&b"[]"[..]));
    /// ```
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        self.bytes.map(Vec::from)
    }

    /// Whether this is a decode error (the record is malformed: dead-letter it, do not retry).
    ///
    /// ```
    /// assert!(stream_core::codec::decode::<()>(b"").unwrap_err().is_decode());
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
/// use stream_core::codec::CodecError;
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

/// The timestamp rule of the wire format, usable on payload fields too:
/// `#[serde(with = "stream_core::codec::timestamp")]` on a `DateTime<Utc>`.
///
/// Written RFC 3339 in UTC with `Z` and six fraction digits. Read with `Z`, any offset
/// (converted to UTC) or no offset (UTC), `T`, `t` or a space between date and time, and zero to
/// nine fraction digits; the value is truncated to microseconds.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use stream_core::codec::timestamp;
///
/// let t = timestamp::parse("2026-11-27T00:58:45.123456789+05:30").unwrap();
/// assert_eq!(timestamp::format(&t).unwrap(), "2026-11-26T19:28:45.123456Z");
/// assert_eq!(timestamp::parse("2026-11-26T19:28:45.123456"), Some(t));
/// assert_eq!(timestamp::parse("yesterday"), None);
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Fill {
///     #[serde(with = "stream_core::codec::timestamp")]
///     filled_at: DateTime<Utc>,
/// }
/// let fill: Fill = serde_json::from_str(r#"{"filled_at":"2026-11-26T19:28:45+00:00"}"#).unwrap();
/// assert_eq!(serde_json::to_string(&fill).unwrap(), r#"{"filled_at":"2026-11-26T19:28:45.000000Z"}"#);
/// ```
pub mod timestamp {
    use std::cell::Cell;

    use chrono::{
        DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, Timelike, Utc,
    };

    use serde::{Deserializer, Serializer};

    pub(super) const LEN: usize = "2026-11-26T19:28:45.123456Z".len();

    /// The canonical form, or `None` for a year outside `0000..=9999` (RFC 3339 has four digits).
    ///
    /// ```
    /// let t = chrono::DateTime::from_timestamp(0, 1_500).unwrap();
    /// assert_eq!(stream_core::codec::timestamp::format(&t).unwrap(), "1970-01-01T00:00:00.000001Z");
    /// ```
    pub fn format(t: &DateTime<Utc>) -> Option<String> {
        let mut buf = [0u8; LEN];
        write(t, &mut buf)?;
        Some(ascii(&buf).to_owned())
    }

    /// Writes the canonical text into `buf`, or answers an encode error naming the timestamp.
    pub(super) fn write_canonical(
        t: &DateTime<Utc>,
        buf: &mut [u8; LEN],
    ) -> Result<(), super::CodecError> {
        write(t, buf).ok_or_else(|| super::CodecError::encode_message(out_of_range(t)))
    }

    fn out_of_range(t: &DateTime<Utc>) -> String {
        format!("timestamp {t} is outside the years 0000 to 9999 that RFC 3339 can write")
    }

    /// The first 19 characters (`2026-11-26T19:28:45`): the date and the second.
    const SECOND_LEN: usize = 19;

    thread_local! {
        /// The second last written on this thread and its text. Envelopes made one after
        /// another nearly always fall in the same second, so only the fraction is new.
        static LAST_WRITTEN: Cell<Option<(NaiveDate, u32, [u8; SECOND_LEN])>> =
            const { Cell::new(None) };
        /// The second last read on this thread, by its text.
        static LAST_READ: Cell<Option<([u8; SECOND_LEN], NaiveDate, u32)>> =
            const { Cell::new(None) };
    }

    /// Writes `t`'s canonical text into `buf` (ASCII only); `None` when its year has no
    /// four-digit form.
    fn write(t: &DateTime<Utc>, buf: &mut [u8; LEN]) -> Option<()> {
        let t = t.naive_utc();
        let (date, of_day, nanos) = (t.date(), t.num_seconds_from_midnight(), t.nanosecond());
        // chrono keeps a leap second as nanosecond >= 1e9 within second 59.
        let leap = nanos >= 1_000_000_000;
        let micros = nanos % 1_000_000_000 / 1_000;
        match LAST_WRITTEN.get() {
            Some((d, s, text)) if d == date && s == of_day && !leap => {
                buf[..SECOND_LEN].copy_from_slice(&text);
            }
            _ => {
                let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
                let second = if leap { 60 } else { of_day % 60 };
                two(buf, 0, year / 100);
                two(buf, 2, year % 100);
                two(buf, 5, t.month());
                two(buf, 8, t.day());
                two(buf, 11, of_day / 3600);
                two(buf, 14, of_day / 60 % 60);
                two(buf, 17, second);
                buf[4] = b'-';
                buf[7] = b'-';
                buf[10] = b'T';
                buf[13] = b':';
                buf[16] = b':';
                if !leap {
                    let mut text = [0; SECOND_LEN];
                    text.copy_from_slice(&buf[..SECOND_LEN]);
                    LAST_WRITTEN.set(Some((date, of_day, text)));
                }
            }
        }
        buf[19] = b'.';
        two(buf, 20, micros / 10_000);
        two(buf, 22, micros / 100 % 100);
        two(buf, 24, micros % 100);
        buf[26] = b'Z';
        Some(())
    }

    /// The text [`write`] wrote, as a `str`.
    fn ascii(buf: &[u8; LEN]) -> &str {
        std::str::from_utf8(buf).expect("write writes ASCII only")
    }

    /// Writes `v` (below 100) as two digits at `at`.
    fn two(buf: &mut [u8; LEN], at: usize, v: u32) {
        buf[at] = b'0' + (v / 10) as u8;
        buf[at + 1] = b'0' + (v % 10) as u8;
    }

    /// Reads a timestamp by the rule above; `None` if `s` is not one.
    ///
    /// ```
    /// use stream_core::codec::timestamp::parse;
    /// assert_eq!(parse("2026-11-26T19:28:45Z"), parse("2026-11-26 19:28:45.000000+00:00"));
    /// assert!(parse("2026-11-26").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<DateTime<Utc>> {
        if let Some(t) = parse_canonical(s.as_bytes()) {
            return Some(t);
        }
        let parsed = match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.to_utc(),
            Err(_) => parse_naive(s)?.and_utc(),
        };
        Some(parsed.trunc_subsecs(6))
    }

    /// A time without offset, with `T`, `t` or a space between date and time.
    fn parse_naive(s: &str) -> Option<NaiveDateTime> {
        const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";
        match s.as_bytes().get(10) {
            Some(b'T') => NaiveDateTime::parse_from_str(s, FORMAT).ok(),
            Some(b't' | b' ') => {
                let mut t = s.to_owned();
                t.replace_range(10..11, "T");
                NaiveDateTime::parse_from_str(&t, FORMAT).ok()
            }
            _ => None,
        }
    }

    /// The form we write, parsed without the general parser: the hot path of every decode.
    pub(super) fn parse_canonical(b: &[u8]) -> Option<DateTime<Utc>> {
        if b.len() != LEN || b[19] != b'.' || b[26] != b'Z' {
            return None;
        }
        let num = |at: usize, width: usize| -> Option<u32> {
            b[at..at + width].iter().try_fold(0u32, |acc, c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let micros = six_digits(b[18..26].try_into().expect("8 bytes"))?;
        let second: &[u8; SECOND_LEN] = b[..SECOND_LEN].try_into().expect("19 bytes");
        let (date, of_day) = match LAST_READ.get() {
            Some((text, date, of_day)) if text == *second => (date, of_day),
            _ => {
                if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
                    return None;
                }
                let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 2)?, num(8, 2)?)?;
                let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
                if second == 60 {
                    // A leap second is chrono's second 59 with micros past one million.
                    let t = date.and_hms_micro_opt(hour, minute, 59, micros + 1_000_000)?;
                    return Some(t.and_utc());
                }
                let time = NaiveTime::from_hms_opt(hour, minute, second)?;
                let of_day = time.num_seconds_from_midnight();
                let mut text = [0; SECOND_LEN];
                text.copy_from_slice(&b[..SECOND_LEN]);
                LAST_READ.set(Some((text, date, of_day)));
                (date, of_day)
            }
        };
        let time = NaiveTime::from_num_seconds_from_midnight_opt(of_day, micros * 1_000)?;
        Some(date.and_time(time).and_utc())
    }

    /// The number the last six of eight bytes spell (`"5.123456"` is 123456), if they are
    /// digits: all six at once in one word (the first digit in the lowest byte), with no loop
    /// and one branch.
    fn six_digits(bytes: [u8; 8]) -> Option<u32> {
        const ONES: u64 = 0x0101_0101_0101_0101;
        // The first two bytes become `0`s: eight digits, the number unchanged.
        let w = (u64::from_le_bytes(bytes) & !0xffff) | 0x3030;
        // Every byte is 0x30..=0x39: its high half is 3, and adding 6 keeps it 3.
        let high = w & (ONES * 0xf0);
        let carried = (w.wrapping_add(ONES * 6) & (ONES * 0xf0)) >> 4;
        if high | carried != ONES * 0x33 {
            return None;
        }
        // Pairs of digits, then fours, then the eight (each step one multiply).
        let v = ((w & (ONES * 0x0f)).wrapping_mul(10 << 8 | 1)) >> 8;
        let v = ((v & 0x00ff_00ff_00ff_00ff).wrapping_mul(100 << 16 | 1)) >> 16;
        let v = ((v & 0x0000_ffff_0000_ffff).wrapping_mul(10_000 << 32 | 1)) >> 32;
        Some(v as u32)
    }

    /// Writes `t` in the canonical form (serde `serialize_with`).
    ///
    /// ```
    /// # #[derive(serde::Serialize)] struct S { #[serde(serialize_with = "stream_core::codec::timestamp::serialize")] t: chrono::DateTime<chrono::Utc> }
    /// let s = S { t: chrono::DateTime::UNIX_EPOCH };
    /// assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"t":"1970-01-01T00:00:00.000000Z"}"#);
    /// ```
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; LEN];
        match write(t, &mut buf) {
            Some(()) => serializer.serialize_str(ascii(&buf)),
            None => Err(serde::ser::Error::custom(out_of_range(t))),
        }
    }

    /// Reads a timestamp by the rule above (serde `deserialize_with`).
    ///
    /// ```
    /// # #[derive(serde::Deserialize)] struct S { #[serde(deserialize_with = "stream_core::codec::timestamp::deserialize")] t: chrono::DateTime<chrono::Utc> }
    /// let err = serde_json::from_str::<S>(r#"{"t":"26/11/2026"}"#).err().unwrap();
    /// assert!(err.to_string().starts_with("expected an RFC 3339 timestamp"), "{err}");
    /// ```
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        deserializer.deserialize_str(Visitor)
    }

    struct Visitor;

    impl serde::de::Visitor<'_> for Visitor {
        type Value = DateTime<Utc>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an RFC 3339 timestamp such as \"2026-11-26T19:28:45.123456Z\"")
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<DateTime<Utc>, E> {
            parse(s).ok_or_else(|| {
                let shown: String = s.chars().take(64).collect();
                let more = if shown.len() < s.len() { "..." } else { "" };
                E::custom(format_args!(
                    "expected an RFC 3339 timestamp such as `2026-11-26T19:28:45.123456Z`, got `{shown}{more}`"
                ))
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::six_digits;

        #[test]
        fn six_digits_reads_exactly_six_digits() {
            let naive = |b: &[u8; 8]| -> Option<u32> {
                b[2..].iter().try_fold(0, |n, c| {
                    c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
                })
            };
            for base in [*b"5.123456", *b"9.000000", *b"0.999999", *b"1.090807"] {
                assert_eq!(six_digits(base), naive(&base));
                for at in 0..8 {
                    for byte in 0..=u8::MAX {
                        let mut b = base;
                        b[at] = byte;
                        assert_eq!(six_digits(b), naive(&b), "{b:?}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::timestamp::{format, parse};
    use chrono::{DateTime, Utc};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn timestamp_forms_that_are_read() {
        let t = utc("2026-11-26T19:28:45.123456Z");
        for s in [
            "2026-11-26T19:28:45.123456Z",
            "2026-11-26t19:28:45.123456z",
            "2026-11-26 19:28:45.123456Z",
            "2026-11-26T19:28:45.123456+00:00",
            "2026-11-26T19:28:45.123456-00:00",
            "2026-11-26T14:28:45.123456-05:00",
            "2026-11-26T19:28:45.123456",
            "2026-11-26t19:28:45.123456",
            "2026-11-26 19:28:45.123456",
            "2026-11-26T19:28:45.123456789Z",
            "2026-11-26T19:28:45.1234569",
        ] {
            assert_eq!(parse(s), Some(t), "{s}");
        }
        assert_eq!(
            parse("2026-11-26T19:28:45.1Z"),
            Some(utc("2026-11-26T19:28:45.100Z"))
        );
        assert_eq!(
            parse("2026-11-26T19:28:45Z"),
            Some(utc("2026-11-26T19:28:45Z"))
        );
    }

    #[test]
    fn timestamp_forms_that_are_not() {
        for s in [
            "",
            "2026-11-26",
            "19:28:45",
            "2026-11-26T19:28Z",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T19:28:45.123456ZZ",
            "2026-11-26T19:28:45.Z",
            "1764185325",
            "2026-11-26T19:28:45.12345a6Z",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    #[test]
    fn timestamps_are_written_with_z_and_six_digits() {
        assert_eq!(
            format(&utc("2026-11-26T19:28:45Z")).unwrap(),
            "2026-11-26T19:28:45.000000Z"
        );
        assert_eq!(
            format(&utc("0000-01-01T00:00:00.000001Z")).unwrap(),
            "0000-01-01T00:00:00.000001Z"
        );
        assert_eq!(
            format(&utc("9999-12-31T23:59:59.999999999Z")).unwrap(),
            "9999-12-31T23:59:59.999999Z"
        );
        let far = DateTime::from_timestamp(253_402_300_800, 0).unwrap(); // year 10000
        assert_eq!(format(&far), None);
        let before = DateTime::from_timestamp(-62_167_219_201, 0).unwrap(); // year -1
        assert_eq!(format(&before), None);
    }

    #[test]
    fn the_last_second_kept_per_thread_never_leaks_into_another_value() {
        // Reading and writing keep the last second's text; alternate values to exercise it.
        let values = [
            "2026-11-26T19:28:45.123456Z",
            "2026-11-26T19:28:45.000001Z",
            "2026-11-26T19:28:46.999999Z",
            "2026-11-27T19:28:46.000000Z",
            "2016-12-31T23:59:60.500000Z",
            "2016-12-31T23:59:59.500000Z",
            "2026-11-26T19:28:45.123456Z",
        ];
        for round in 0..2 {
            for text in values {
                let t = parse(text).unwrap();
                assert_eq!(format(&t).unwrap(), text, "round {round}");
                let chrono_text = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                assert_eq!(chrono_text, text, "round {round}");
            }
        }
        assert_eq!(
            parse("2026-11-26T19:28:45.12345xZ"),
            None,
            "same second, bad fraction"
        );
        assert_eq!(parse("2026-02-30T19:28:45.123456Z"), None);
        assert_eq!(
            parse("2026-11-26T19:28:45.123456Z").unwrap(),
            utc("2026-11-26T19:28:45.123456Z")
        );
    }

    #[test]
    fn a_leap_second_round_trips() {
        let leap = parse("2016-12-31T23:59:60.5Z").unwrap();
        assert_eq!(format(&leap).unwrap(), "2016-12-31T23:59:60.500000Z");
        assert_eq!(parse("2016-12-31T23:59:60.500000Z"), Some(leap));
    }

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
