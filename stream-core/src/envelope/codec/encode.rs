//! [`encode`] and [`encode_into`]: an envelope written as its JSON wire form.

use serde::Serialize;

use crate::envelope::codec::error::CodecError;
use crate::envelope::codec::hex;
use crate::envelope::escape::NEEDS_ESCAPE;
use crate::envelope::event_envelope::EventEnvelope;
use crate::envelope::timestamp;

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
/// (UUIDs, the timestamp) in directly: escaping every key and value byte would be a third of the time.
///
/// The constant text comes from templates copied into `buf` whole, and the UUIDs and the
/// timestamp are then written over their placeholders in `buf` itself. Writing them into a
/// buffer on the stack first and copying that costs more than writing them: the copy's wide
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
