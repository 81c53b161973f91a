//! [`decode`] and [`is_envelope`]: an envelope read from its JSON wire form, the fast reader
//! first and the derived `Deserialize` for everything else, and the field an error names.

use serde::de::DeserializeOwned;

use crate::envelope::codec::error::{CodecError, Kind};
use crate::envelope::codec::scan;
use crate::envelope::event_envelope::EventEnvelope;

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
pub(super) fn locate<V: DeserializeOwned>(
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
