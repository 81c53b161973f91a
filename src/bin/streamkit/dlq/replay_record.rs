//! The record a replay publishes: the dead letter's original key, value and headers, without
//! the `dlq.*` headers and with headers that say it is a replay.

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::bindings as rd;
use rdkafka::message::OwnedHeaders;

use crate::dlq::letter::Letter;
use crate::read::headers::{RawHeader, raw_headers};

/// The dead-letter topic a replayed record came from.
pub const REPLAY_DLQ_TOPIC: &str = "streamkit.replay.dlq_topic";
/// Its partition there, decimal.
pub const REPLAY_DLQ_PARTITION: &str = "streamkit.replay.dlq_partition";
/// Its offset there, decimal.
pub const REPLAY_DLQ_OFFSET: &str = "streamkit.replay.dlq_offset";
/// When it was replayed, RFC 3339 UTC.
pub const REPLAY_AT: &str = "streamkit.replay.at";

/// Headers a replay drops: the dead letter's own, and those of an earlier replay of the same
/// event (a replayed record dead-lettered again carries them among its original headers).
const DROPPED_PREFIXES: [&[u8]; 2] = [b"dlq.", b"streamkit.replay."];

/// What one replay publishes.
pub struct ReplayRecord {
    /// The topic it goes to.
    pub topic: String,
    /// The original key.
    pub key: Option<Vec<u8>>,
    /// The original value bytes (`None`: the original was a tombstone).
    pub value: Option<Vec<u8>>,
    /// The original headers, then the replay headers.
    pub headers: Vec<RawHeader>,
}

impl ReplayRecord {
    /// The replay of `letter`, read from `dlq_topic`, to `topic`, at `at`.
    pub fn new(letter: &Letter, dlq_topic: &str, topic: &str, at: DateTime<Utc>) -> Self {
        use rdkafka::message::Message;
        let message = &letter.view.message;
        let mut headers: Vec<RawHeader> = raw_headers(message)
            .into_iter()
            .filter(|h| !DROPPED_PREFIXES.iter().any(|p| h.name.starts_with(p)))
            .collect();
        let replay = [
            (REPLAY_DLQ_TOPIC, dlq_topic.to_owned()),
            (REPLAY_DLQ_PARTITION, letter.partition().to_string()),
            (REPLAY_DLQ_OFFSET, letter.offset().to_string()),
            (REPLAY_AT, at.to_rfc3339_opts(SecondsFormat::Micros, true)),
        ];
        headers.extend(replay.into_iter().map(|(name, value)| RawHeader {
            name: name.as_bytes().to_vec(),
            value: Some(value.into_bytes()),
        }));
        Self {
            topic: topic.to_owned(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        }
    }

    /// The headers as librdkafka takes them, names byte for byte.
    pub fn owned_headers(&self) -> OwnedHeaders {
        const OK: rd::rd_kafka_resp_err_t = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
        let out = OwnedHeaders::new_with_capacity(self.headers.len());
        // rdkafka's `BorrowedHeaders` is librdkafka's header list itself; rdkafka's `insert`
        // takes only UTF-8 names, so the bytes go in through the C API.
        let list = out.as_borrowed() as *const _ as *mut rd::rd_kafka_headers_t;
        for header in &self.headers {
            let (value, size) = match &header.value {
                Some(v) => (v.as_ptr().cast::<std::ffi::c_void>(), v.len() as isize),
                None => (std::ptr::null(), 0),
            };
            // SAFETY: `list` is the live list owned by `out`; librdkafka copies name and value.
            let err = unsafe {
                rd::rd_kafka_header_add(
                    list,
                    header.name.as_ptr().cast(),
                    header.name.len() as isize,
                    value,
                    size,
                )
            };
            debug_assert_eq!(err, OK, "a header list made here is writable");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::Timestamp;
    use rdkafka::message::{Header, OwnedMessage};

    use super::*;

    fn dead_letter(headers: OwnedHeaders) -> Letter {
        let message = OwnedMessage::new(
            Some(b"{\"original\":true}".to_vec()),
            Some(b"RELIANCE".to_vec()),
            "paper.signals.raw.dlq".into(),
            Timestamp::CreateTime(1_700_000_000_000),
            1,
            42,
            Some(headers),
        );
        Letter::new(message)
    }

    fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
        Header {
            key,
            value: Some(value),
        }
    }

    #[test]
    fn keeps_the_original_and_says_it_is_a_replay() {
        let headers = OwnedHeaders::new()
            .insert(header("event_id", "e-1"))
            .insert(header("streamkit.replay.dlq_offset", "7"))
            .insert(header("dlq.original_topic", "paper.signals.raw"))
            .insert(header("dlq.error_kind", "permanent"));
        let letter = dead_letter(headers);
        let at = DateTime::parse_from_rfc3339("2026-12-02T09:15:00Z")
            .unwrap()
            .to_utc();
        let record = ReplayRecord::new(&letter, "paper.signals.raw.dlq", "paper.signals.raw", at);
        assert_eq!(record.value.as_deref(), Some(&b"{\"original\":true}"[..]));
        assert_eq!(record.key.as_deref(), Some(&b"RELIANCE"[..]));
        let names: Vec<String> = record.headers.iter().map(RawHeader::name_lossy).collect();
        assert_eq!(
            names,
            [
                "event_id",
                REPLAY_DLQ_TOPIC,
                REPLAY_DLQ_PARTITION,
                REPLAY_DLQ_OFFSET,
                REPLAY_AT
            ]
        );
        let value = |name: &str| {
            let h = record.headers.iter().find(|h| h.name == name.as_bytes());
            String::from_utf8(h.unwrap().value.clone().unwrap()).unwrap()
        };
        assert_eq!(value(REPLAY_DLQ_PARTITION), "1");
        assert_eq!(value(REPLAY_DLQ_OFFSET), "42");
        assert_eq!(value(REPLAY_AT), "2026-12-02T09:15:00.000000Z");
    }

    #[test]
    fn header_names_are_written_byte_for_byte() {
        let record = ReplayRecord {
            topic: "paper.signals.raw".into(),
            key: None,
            value: None,
            headers: vec![
                RawHeader {
                    name: b"tr\xffce".to_vec(),
                    value: Some(b"x".to_vec()),
                },
                RawHeader {
                    name: b"empty".to_vec(),
                    value: None,
                },
            ],
        };
        let message = OwnedMessage::new(
            None,
            None,
            "t".into(),
            Timestamp::NotAvailable,
            0,
            0,
            Some(record.owned_headers()),
        );
        assert_eq!(raw_headers(&message), record.headers);
    }
}
