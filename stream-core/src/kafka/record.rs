//! A consumed record: where it came from ([`RecordMeta`]), its key, value and headers.
//!
//! The consumer does not copy a record out of librdkafka. It hands the worker of the record's
//! partition librdkafka's own message, and the key, the value and the headers are read from it in
//! place, the headers only when something asks for them (librdkafka parses them on first access,
//! allocating each one: that was a third of the polling thread's work per message). The message
//! keeps the consumer it came from alive, since librdkafka requires every message to be released
//! before its client is destroyed. Records built by hand ([`RecordMeta::new`]) own their bytes.

use std::any::Any;
use std::ffi::CStr;
use std::fmt;
use std::sync::{Arc, OnceLock};

use rdkafka::Message;
use rdkafka::message::BorrowedMessage;

use crate::topic::Broker;

/// Where a message came from: its record's coordinates, key, value and headers.
///
/// ```
/// use stream_core::kafka::record::{RecordHeaders, RecordMeta};
/// use stream_core::Broker;
///
/// let record = RecordMeta::new("paper.signals.raw", Broker::new("paper")?, 2, 41)
///     .with_key("strategy-7")
///     .with_value(br#"{"id":"..."}"#.to_vec())
///     .with_headers([("event_type", "trading_signal")].into_iter().collect::<RecordHeaders>());
/// assert_eq!(record.key_str(), Some("strategy-7"));
/// assert_eq!(record.header("event_type"), Some(&b"trading_signal"[..]));
/// assert_eq!(record.value().map(<[u8]>::len), Some(12));
/// # Ok::<(), stream_core::topic::TopicError>(())
/// ```
pub struct RecordMeta {
    /// The topic it was read from.
    pub topic: Arc<str>,
    /// The trading broker namespace (the topic's first segment).
    pub broker: Broker,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The record timestamp in milliseconds since the epoch, if any.
    pub timestamp_ms: Option<i64>,
    bytes: RecordBytes,
}

/// A clone owns its bytes: a copy of a record read in place is taken out of librdkafka's
/// message (cloning is rare; reading in place is what every message does).
impl Clone for RecordMeta {
    fn clone(&self) -> Self {
        Self {
            topic: Arc::clone(&self.topic),
            broker: self.broker.clone(),
            partition: self.partition,
            offset: self.offset,
            timestamp_ms: self.timestamp_ms,
            bytes: self.owned_bytes(),
        }
    }
}

/// A record's key, value and headers: its own, or still in librdkafka's message.
///
/// Kept small (the owned bytes and the headers read are boxed): a consumed record is moved
/// several times on its way through a worker, and reading its headers, or owning its bytes,
/// is rare.
enum RecordBytes {
    Owned(Box<OwnedBytes>),
    InPlace {
        message: InPlace,
        headers: OnceLock<Box<RecordHeaders>>,
    },
}

/// A record's own key, value and headers.
struct OwnedBytes {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: RecordHeaders,
}

/// A message polled from a consumer, with the consumer it needs alive.
pub(crate) struct InPlace {
    // Declared first, so dropped before the client below.
    message: BorrowedMessage<'static>,
    _client: Arc<dyn Any + Send + Sync>,
}

impl InPlace {
    /// Keeps `message` beyond the poll that returned it.
    ///
    /// # Safety
    /// `client` must own the consumer `message` was polled from: the message borrows it, and
    /// holding the `Arc` is what keeps the consumer alive until the message is dropped.
    pub(crate) unsafe fn new<'c, C: Any + Send + Sync>(
        message: BorrowedMessage<'c>,
        client: Arc<C>,
    ) -> Self {
        // SAFETY: the borrow of the consumer is replaced by shared ownership of it (the caller
        // guarantees `client` is that consumer), and the message is dropped first.
        let message = unsafe {
            std::mem::transmute::<BorrowedMessage<'c>, BorrowedMessage<'static>>(message)
        };
        Self {
            message,
            _client: client,
        }
    }

    /// The topic the message was read from.
    pub(crate) fn topic(&self) -> &str {
        self.message.topic()
    }
}

impl RecordMeta {
    /// A record built by hand (for driving a handler without a broker), with no key, value or
    /// headers yet.
    ///
    /// ```
    /// let r = stream_core::kafka::record::RecordMeta::new("paper.x", stream_core::Broker::new("paper")?, 0, 0);
    /// assert_eq!((r.key(), r.value(), r.headers().len()), (None, None, 0));
    /// # Ok::<(), stream_core::topic::TopicError>(())
    /// ```
    pub fn new(topic: impl Into<Arc<str>>, broker: Broker, partition: i32, offset: i64) -> Self {
        Self {
            topic: topic.into(),
            broker,
            partition,
            offset,
            timestamp_ms: None,
            bytes: RecordBytes::Owned(Box::new(OwnedBytes {
                key: None,
                value: None,
                headers: RecordHeaders::new(),
            })),
        }
    }

    /// A record read in place from a consumed message.
    pub(crate) fn in_place(topic: Arc<str>, broker: Broker, message: InPlace) -> Self {
        let m = &message.message;
        Self {
            topic,
            broker,
            partition: m.partition(),
            offset: m.offset(),
            timestamp_ms: m.timestamp().to_millis(),
            bytes: RecordBytes::InPlace {
                message,
                headers: OnceLock::new(),
            },
        }
    }

    /// With this key.
    ///
    /// ```
    /// # let r = stream_core::kafka::record::RecordMeta::new("paper.x", stream_core::Broker::new("paper")?, 0, 0);
    /// assert_eq!(r.with_key("k").key(), Some(&b"k"[..]));
    /// # Ok::<(), stream_core::topic::TopicError>(())
    /// ```
    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        *self.owned().0 = Some(key.into());
        self
    }

    /// With this value.
    ///
    /// ```
    /// # let r = stream_core::kafka::record::RecordMeta::new("paper.x", stream_core::Broker::new("paper")?, 0, 0);
    /// assert_eq!(r.with_value(b"{}".to_vec()).value(), Some(&b"{}"[..]));
    /// # Ok::<(), stream_core::topic::TopicError>(())
    /// ```
    pub fn with_value(mut self, value: impl Into<Vec<u8>>) -> Self {
        *self.owned().1 = Some(value.into());
        self
    }

    /// With these headers.
    ///
    /// ```
    /// # let r = stream_core::kafka::record::RecordMeta::new("paper.x", stream_core::Broker::new("paper")?, 0, 0);
    /// let r = r.with_headers([("a", "1")].into_iter().collect());
    /// assert_eq!(r.header("a"), Some(&b"1"[..]));
    /// # Ok::<(), stream_core::topic::TopicError>(())
    /// ```
    pub fn with_headers(mut self, headers: RecordHeaders) -> Self {
        *self.owned().2 = headers;
        self
    }

    /// With this timestamp (milliseconds since the epoch).
    ///
    /// ```
    /// # let r = stream_core::kafka::record::RecordMeta::new("paper.x", stream_core::Broker::new("paper")?, 0, 0);
    /// assert_eq!(r.with_timestamp_ms(1_764_185_325_000).timestamp_ms, Some(1_764_185_325_000));
    /// # Ok::<(), stream_core::topic::TopicError>(())
    /// ```
    pub fn with_timestamp_ms(mut self, ms: i64) -> Self {
        self.timestamp_ms = Some(ms);
        self
    }

    /// A copy of the key, value and headers that owns them.
    fn owned_bytes(&self) -> RecordBytes {
        RecordBytes::Owned(Box::new(OwnedBytes {
            key: self.key().map(<[u8]>::to_vec),
            value: self.value().map(<[u8]>::to_vec),
            headers: self.headers().clone(),
        }))
    }

    /// The bytes as this record's own, copied out of librdkafka's message first if in place.
    fn owned(
        &mut self,
    ) -> (
        &mut Option<Vec<u8>>,
        &mut Option<Vec<u8>>,
        &mut RecordHeaders,
    ) {
        if matches!(self.bytes, RecordBytes::InPlace { .. }) {
            self.bytes = self.owned_bytes();
        }
        match &mut self.bytes {
            RecordBytes::Owned(owned) => {
                let OwnedBytes {
                    key,
                    value,
                    headers,
                } = &mut **owned;
                (key, value, headers)
            }
            RecordBytes::InPlace { .. } => unreachable!("made owned above"),
        }
    }

    /// The record key (the partition key), if any.
    pub fn key(&self) -> Option<&[u8]> {
        match &self.bytes {
            RecordBytes::Owned(owned) => owned.key.as_deref(),
            RecordBytes::InPlace { message, .. } => message.message.key(),
        }
    }

    /// The key as UTF-8 text, if it is.
    pub fn key_str(&self) -> Option<&str> {
        self.key().and_then(|k| std::str::from_utf8(k).ok())
    }

    /// The record value exactly as received; `None` for a record without one (a tombstone).
    pub fn value(&self) -> Option<&[u8]> {
        match &self.bytes {
            RecordBytes::Owned(owned) => owned.value.as_deref(),
            RecordBytes::InPlace { message, .. } => message.message.payload(),
        }
    }

    /// The record headers, in order (read from librdkafka's message on first use).
    pub fn headers(&self) -> &RecordHeaders {
        match &self.bytes {
            RecordBytes::Owned(owned) => &owned.headers,
            RecordBytes::InPlace { message, headers } => {
                headers.get_or_init(|| Box::new(read_headers(&message.message)))
            }
        }
    }

    /// The first header named `name`, as bytes.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers().get(name)
    }

    /// [`RecordMeta::header`] without reading the other headers when they were not read yet
    /// (one librdkafka call): for a header looked up on every message (`traceparent`).
    pub(crate) fn find_header(&self, name: &CStr) -> Option<&[u8]> {
        match &self.bytes {
            RecordBytes::InPlace { message, headers } if headers.get().is_none() => {
                find_header(&message.message, name)
            }
            _ => self.header(name.to_str().ok()?),
        }
    }
}

/// The first header of `message` named `name`, read in place.
fn find_header<'m>(message: &'m BorrowedMessage<'_>, name: &CStr) -> Option<&'m [u8]> {
    use rdkafka::bindings as rd;
    const OK: rd::rd_kafka_resp_err_t = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
    if has_no_headers(message) {
        return None;
    }
    let mut list: *mut rd::rd_kafka_headers_t = std::ptr::null_mut();
    // SAFETY: as in `read_headers`.
    if unsafe { rd::rd_kafka_message_headers(message.ptr(), &mut list) } != OK || list.is_null() {
        return None;
    }
    let (mut value, mut size) = (std::ptr::null(), 0usize);
    // SAFETY: `list` is the message's header list and `name` is NUL-terminated; the out
    // pointers point at locals.
    let err = unsafe { rd::rd_kafka_header_get(list, 0, name.as_ptr(), &mut value, &mut size) };
    if err != OK || value.is_null() {
        return None;
    }
    // SAFETY: the value is `size` bytes owned by the message, which outlives the borrow.
    Some(unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) })
}

/// Whether `message` is known to carry no headers, read without asking librdkafka.
///
/// librdkafka parses a record's headers on every `rd_kafka_message_headers` call until it finds
/// one, allocating and freeing a parse buffer each time, so a record without headers (what a
/// Python producer writes) costs two allocations per look. In a v2 record (Kafka's only format
/// since 4.0) the header count follows the value directly, and librdkafka points the message's
/// payload into the record as fetched, so the byte after the value is that count: zero (a
/// zigzag varint 0) means no headers. A message read from a v2 batch carries its partition
/// leader epoch (`>= 0`); for one without (an older record), a record with an empty value or
/// none, this answers false and librdkafka is asked.
///
/// What the read relies on: the broker validates every record it stores, so a v2 record's
/// value is always followed by its header count; and an old-format (v0/v1) message can carry
/// an epoch only when it follows a v2 batch in one fetch response (a pre-3.0 broker whose
/// topic's message format was lowered after v2 writes). Then the byte read is the next
/// message's, or, for the response's last message, the next field of the response: librdkafka
/// fetches in the flexible format (Fetch v12 and later, brokers from 2.7), where more of the
/// response always follows a partition's records. Only a broker older than 2.7 still holding
/// such mixed logs could place that message at the very end of the buffer.
fn has_no_headers(message: &BorrowedMessage<'_>) -> bool {
    use rdkafka::bindings as rd;
    let raw = message.ptr();
    // SAFETY: the message is alive for this borrow.
    let (payload, len, epoch) = unsafe {
        (
            (*raw).payload.cast::<u8>().cast_const(),
            (*raw).len,
            rd::rd_kafka_message_leader_epoch(raw),
        )
    };
    // An empty value is not in the record: librdkafka points it at a static empty string.
    if payload.is_null() || len == 0 || epoch < 0 {
        return false;
    }
    // SAFETY: the message holds its fetched buffer alive, and inside it a v2 record's value is
    // followed by the record's header count (see above for what this relies on).
    unsafe { *payload.add(len) == 0 }
}

/// A consumed message's headers, in one pass (each header read is a librdkafka call; 64 bytes a
/// header holds streamkit's own, a name and a UUID, without growing).
///
/// Read through librdkafka's C API rather than rdkafka's `Headers` trait: that one panics on a
/// header name that is not UTF-8, which any producer can write. Here such a name is read lossily
/// (invalid bytes become U+FFFD) and the record is handled like any other.
fn read_headers(message: &BorrowedMessage<'_>) -> RecordHeaders {
    use rdkafka::bindings as rd;
    const OK: rd::rd_kafka_resp_err_t = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
    if has_no_headers(message) {
        return RecordHeaders::new();
    }
    let mut list: *mut rd::rd_kafka_headers_t = std::ptr::null_mut();
    // SAFETY: the message is alive for this borrow; librdkafka parses its headers on first access
    // and keeps them in the message (only this record's worker reads it, behind a `OnceLock`).
    if unsafe { rd::rd_kafka_message_headers(message.ptr(), &mut list) } != OK || list.is_null() {
        return RecordHeaders::new();
    }
    // SAFETY: `list` is the message's header list, valid while the message is.
    let n = unsafe { rd::rd_kafka_header_cnt(list) };
    let mut out = RecordHeaders::with_capacity(n, 64 * n);
    for idx in 0..n {
        let (mut name, mut value, mut size) = (std::ptr::null(), std::ptr::null(), 0usize);
        // SAFETY: `idx` is below the count; the out pointers point at locals.
        let err =
            unsafe { rd::rd_kafka_header_get_all(list, idx, &mut name, &mut value, &mut size) };
        if err != OK || name.is_null() {
            break;
        }
        // SAFETY: librdkafka's header names are NUL-terminated; values are `size` bytes (or null
        // for a header without a value); both live as long as the message.
        let key = unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy();
        let value = (!value.is_null())
            .then(|| unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) });
        out.push(&key, value);
    }
    out
}

impl fmt::Debug for RecordMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordMeta")
            .field("topic", &self.topic)
            .field("broker", &self.broker)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("timestamp_ms", &self.timestamp_ms)
            .field("key", &self.key().map(String::from_utf8_lossy))
            .field("value_len", &self.value().map(<[u8]>::len))
            .finish_non_exhaustive()
    }
}

/// A record's headers, in order, stored in one buffer.
///
/// Built the first time something reads a consumed record's headers (a handler, a dead letter):
/// as a list of `(String, Vec<u8>)` that was two allocations per header, here it is two per
/// record. A header without a value reads as an empty value.
///
/// ```
/// use stream_core::kafka::record::RecordHeaders;
/// let mut headers = RecordHeaders::new();
/// headers.push("event_type", Some(b"trading_signal"));
/// headers.push("trace", None);
/// assert_eq!(headers.get("event_type"), Some(&b"trading_signal"[..]));
/// assert_eq!(headers.get("trace"), Some(&b""[..]));
/// assert_eq!(headers.get("missing"), None);
/// let all: Vec<(&str, &[u8])> = headers.iter().collect();
/// assert_eq!(all, [("event_type", &b"trading_signal"[..]), ("trace", &b""[..])]);
/// assert_eq!(headers.to_vec()[0], ("event_type".to_owned(), b"trading_signal".to_vec()));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RecordHeaders {
    /// Each header's key then its value, back to back.
    bytes: Vec<u8>,
    /// Where each header's key and value end in `bytes`.
    ends: Vec<(u32, u32)>,
}

impl RecordHeaders {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `headers` headers of `bytes` bytes (keys and values) in all.
    pub fn with_capacity(headers: usize, bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(headers),
        }
    }

    /// Appends a header (`None`: a header without a value).
    pub fn push(&mut self, key: &str, value: Option<&[u8]>) {
        self.bytes.extend_from_slice(key.as_bytes());
        let key_end = self.bytes.len() as u32;
        self.bytes.extend_from_slice(value.unwrap_or_default());
        self.ends.push((key_end, self.bytes.len() as u32));
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The headers in order, as `(key, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&(key_end, value_end)| {
            let (key_end, value_end) = (key_end as usize, value_end as usize);
            // Keys were pushed as `&str`, so they are UTF-8.
            let key = std::str::from_utf8(&self.bytes[start..key_end]).unwrap_or_default();
            let value = &self.bytes[key_end..value_end];
            start = value_end;
            (key, value)
        })
    }

    /// The value of the first header named `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The headers as owned pairs.
    pub fn to_vec(&self) -> Vec<(String, Vec<u8>)> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_vec()))
            .collect()
    }
}

impl fmt::Debug for RecordHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(k, v)| (k, String::from_utf8_lossy(v))))
            .finish()
    }
}

impl<'a> IntoIterator for &'a RecordHeaders {
    type Item = (&'a str, &'a [u8]);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a [u8])> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> FromIterator<(K, V)> for RecordHeaders {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = RecordHeaders::new();
        for (k, v) in iter {
            headers.push(k.as_ref(), Some(v.as_ref()));
        }
        headers
    }
}
