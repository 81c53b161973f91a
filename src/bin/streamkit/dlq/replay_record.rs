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
