//! The fast path of [`decode`](super::decode::decode): the envelope's metadata read straight from
//! the record's text, and only the payload (and unknown fields) handed to serde_json.
//!
//! Generic JSON scanning is most of a decode's time (see `docs/benchmarks.md`), and the metadata
//! is nine known keys whose values are UUIDs, short names, a timestamp and a small integer. This
//! reader takes the common case, which is every envelope a streamkit service writes and what
//! pydantic writes: no escape sequences in keys or metadata values, any whitespace, any key
//! order, unknown keys anywhere. For anything else it answers `None` and the caller decodes with
//! the derived `Deserialize`, which stays the authority: the fast path never reads a record
//! differently from that path, and every error (with its field path) comes from there. The one
//! record it takes that the derived path refuses is a payload nested exactly 127 levels deep:
//! serde_json's recursion limit (128) counts from the payload here and from the envelope there,
//! one level apart; `RawEnvelope::into_typed` reads such a payload either way. The property test
//! `stream-core/tests/codec_never_panics.rs` and the unit tests in `scan/tests.rs` hold the two
//! paths equal.

use std::cell::RefCell;

use serde::de::{DeserializeOwned, IgnoredAny};
use stream_topics::Broker;
use uuid::Uuid;

use crate::envelope::event::EventType;
use crate::envelope::event_envelope::{ENVELOPE_VERSION, EventEnvelope};
use crate::envelope::service_name::ServiceName;

use crate::envelope::codec::hex;
use crate::envelope::escape::NEEDS_ESCAPE;
use crate::envelope::timestamp;

/// The envelope in `text`, or `None` when it is not in the form this reader takes (or not valid).
pub(super) fn envelope<T: DeserializeOwned>(text: &str) -> Option<EventEnvelope<T>> {
    canonical(text).or_else(|| any_layout(text))
}

/// The layout the encoder writes: compact, keys in order, `causation_id` and `version` present.
/// Straight-line code: each key is one comparison with a constant.
#[inline]
fn canonical<T: DeserializeOwned>(text: &str) -> Option<EventEnvelope<T>> {
    let mut c = Cursor { text, pos: 0 };
    c.literal(b"{\"id\":")?;
    let id = c.uuid()?;
    c.literal(b",\"correlation_id\":")?;
    let correlation_id = c.uuid()?;
    c.literal(b",\"causation_id\":")?;
    let causation_id = if c.null() { None } else { Some(c.uuid()?) };
    c.literal(b",\"broker\":")?;
    let (broker, event_type, source) = LAST.with_borrow_mut(|last| last.names(&mut c))?;
    c.literal(b",\"timestamp\":")?;
    let timestamp = c.timestamp()?;
    c.literal(b",\"version\":")?;
    let version = c.small_uint()?;
    c.literal(b",\"data\":")?;
    // `data` is the last key: the payload is everything up to the closing brace.
    let data = c.last_value::<T>()?;
    Some(EventEnvelope {
        id,
        correlation_id,
        causation_id,
        broker,
        event_type,
        source,
        timestamp,
        version,
        data,
    })
}

thread_local! {
    /// The names in the last record this thread read in the encoder's layout.
    static LAST: RefCell<Names> = const {
        RefCell::new(Names {
            text: Vec::new(),
            all: None,
            event_type: None,
            source: None,
        })
    };
}

/// A record's broker, event type and source. A service reads records from a handful of
/// producers, so these nearly always repeat the last record's: then the three, with the keys
/// between them, are one comparison of the text and three clones, with no scan for a string's
/// end, no validation and no lookup. When only some repeat (a topic carrying several event
/// types), the source and a known event type are each still one comparison and a clone, and the
/// broker a comparison with the last one `topic::broker_named` made.
struct Names {
    /// The last record's text from the broker's value to the source's:
    /// `"paper","event_type":"trading_signal","source":"strategy-runner"`.
    text: Vec<u8>,
    /// What `text` reads as.
    all: Option<(Broker, EventType, ServiceName)>,
    event_type: Option<EventType>,
    source: Option<ServiceName>,
}

/// The most text [`Names`] keeps: longer names are read but not kept, so that one record's long
/// names do not stay in memory for the thread's lifetime (a broker name is at most 247 bytes).
const KEPT: usize = 256;

impl Names {
    /// Reads `"broker":` to `"source":`'s value (the cursor is past `"broker":`) and keeps them
    /// as the last seen.
    #[inline(always)]
    fn names(&mut self, c: &mut Cursor<'_>) -> Option<(Broker, EventType, ServiceName)> {
        if let Some(all) = &self.all
            && c.rest().starts_with(&self.text)
        {
            c.pos += self.text.len();
            return Some(all.clone());
        }
        let start = c.pos;
        let names = self.one_by_one(c)?;
        self.text.clear();
        self.all = None;
        if c.pos - start <= KEPT {
            self.text
                .extend_from_slice(&c.text.as_bytes()[start..c.pos]);
            self.all = Some(names.clone());
        }
        Some(names)
    }

    /// The same, each name on its own.
    #[inline(never)]
    fn one_by_one(&mut self, c: &mut Cursor<'_>) -> Option<(Broker, EventType, ServiceName)> {
        // The topic module keeps the last broker per thread already.
        let broker = crate::topic::broker_named(c.string()?).ok()?;
        c.literal(b",\"event_type\":")?;
        let event_type = match &self.event_type {
            Some(known) if c.quoted(known.as_str()) => known.clone(),
            _ => {
                let name = c.string()?;
                let kept = name.len() <= KEPT;
                let event_type = EventType::from(name);
                if kept {
                    let event_type = event_type.into_shared();
                    self.event_type = Some(event_type.clone());
                    event_type
                } else {
                    event_type
                }
            }
        };
        c.literal(b",\"source\":")?;
        let source = match &self.source {
            Some(source) if c.quoted(source) => source.clone(),
            _ => {
                let source = ServiceName::unescaped(c.string()?);
                if source.len() <= KEPT {
                    self.source = Some(source.clone());
                }
                source
            }
        };
        Some((broker, event_type, source))
    }
}

/// Any key order, whitespace and unknown keys.
fn any_layout<T: DeserializeOwned>(text: &str) -> Option<EventEnvelope<T>> {
    let mut c = Cursor { text, pos: 0 };
    let mut id = None;
    let mut correlation_id = None;
    let mut causation_id = None;
    let mut broker = None;
    let mut event_type = None;
    let mut source = None;
    let mut at = None;
    let mut version = None;
    let mut data = None;

    c.eat(b'{')?;
    c.skip_ws();
    if c.peek() == Some(b'}') {
        return None; // `{}`: the derived path says which field is missing
    }
    // Keys are tried in the order the encoder writes them first (one comparison each), then
    // read as strings: any order works, the usual one is faster.
    let mut expected = 0;
    loop {
        let field = match KEYS.get(expected) {
            Some(key) if c.rest().starts_with(key) => {
                c.pos += key.len();
                Some(expected)
            }
            _ => {
                let key = c.string()?;
                c.eat(b':')?;
                KEYS.iter()
                    .position(|k| &k[1..k.len() - 2] == key.as_bytes())
            }
        };
        if let Some(field) = field {
            expected = field + 1;
        }
        c.skip_ws();
        match field {
            Some(ID) => once(&mut id, c.uuid()?)?,
            Some(CORRELATION_ID) => once(&mut correlation_id, c.uuid()?)?,
            Some(CAUSATION_ID) => {
                let cause = if c.null() { None } else { Some(c.uuid()?) };
                once(&mut causation_id, cause)?
            }
            Some(BROKER) => once(&mut broker, crate::topic::broker_named(c.string()?).ok()?)?,
            Some(EVENT_TYPE) => once(&mut event_type, EventType::from(c.string()?))?,
            Some(SOURCE) => once(&mut source, ServiceName::unescaped(c.string()?))?,
            Some(TIMESTAMP) => once(&mut at, c.timestamp()?)?,
            Some(VERSION) => once(&mut version, c.small_uint()?)?,
            Some(_) => once(&mut data, c.value::<T>()?)?,
            None => {
                c.value::<IgnoredAny>()?;
            }
        }
        c.skip_ws();
        match c.next()? {
            b',' => c.skip_ws(),
            b'}' => break,
            _ => return None,
        }
    }
    c.skip_ws();
    if c.pos != text.len() {
        return None;
    }
    Some(EventEnvelope {
        id: id?,
        correlation_id: correlation_id?,
        causation_id: causation_id.flatten(),
        broker: broker?,
        event_type: event_type?,
        source: source?,
        timestamp: at?,
        version: version.unwrap_or(ENVELOPE_VERSION),
        data: data?,
    })
}

/// The envelope's keys in the order the encoder writes them, quoted and followed by the colon
/// (`"id":`), as the encoder writes them; the constants below index it.
const KEYS: [&[u8]; 9] = [
    b"\"id\":",
    b"\"correlation_id\":",
    b"\"causation_id\":",
    b"\"broker\":",
    b"\"event_type\":",
    b"\"source\":",
    b"\"timestamp\":",
    b"\"version\":",
    b"\"data\":",
];
const ID: usize = 0;
const CORRELATION_ID: usize = 1;
const CAUSATION_ID: usize = 2;
const BROKER: usize = 3;
const EVENT_TYPE: usize = 4;
const SOURCE: usize = 5;
const TIMESTAMP: usize = 6;
const VERSION: usize = 7;

/// Sets a field seen for the first time; a repeated key is `None` (the derived path refuses it).
fn once<V>(slot: &mut Option<V>, value: V) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// `a == b` for two slices of the same length, without a call to `memcmp` when they are 4 to 16
/// bytes long (names are: `paper`, `trading_signal`): two overlapping word comparisons.
#[inline(always)]
fn same_short(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len();
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4"));
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline]
    fn eat(&mut self, expected: u8) -> Option<()> {
        self.skip_ws();
        (self.next()? == expected).then_some(())
    }

    /// A string with no escape sequence, without its quotes. A backslash or a control character
    /// (which JSON does not allow unescaped) ends the fast path.
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let mut end = start;
        while !NEEDS_ESCAPE[usize::from(*bytes.get(end)?)] {
            end += 1;
        }
        if bytes[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        // `start` and `end` sit next to ASCII quotes, so both are character boundaries.
        self.text.get(start..end)
    }

    /// Whether the next value is the JSON string `text` (a name read before, so one with nothing
    /// escaped); steps over it if so.
    #[inline]
    fn quoted(&mut self, text: &str) -> bool {
        let n = text.len();
        let is = match self.rest().get(..n + 2) {
            Some([b'"', inner @ .., b'"']) => same_short(inner, text.as_bytes()),
            _ => false,
        };
        if is {
            self.pos += n + 2;
        }
        is
    }

    #[inline(always)]
    fn literal(&mut self, expected: &[u8]) -> Option<()> {
        if !self.rest().starts_with(expected) {
            return None;
        }
        self.pos += expected.len();
        Some(())
    }

    #[inline]
    fn rest(&self) -> &'a [u8] {
        &self.text.as_bytes()[self.pos..]
    }

    /// A UUID string. The hyphenated form has a known length, so it is parsed in place (the
    /// parser checks every digit, so no quote or backslash can hide in it); other forms go
    /// through [`Cursor::string`].
    #[inline(always)]
    fn uuid(&mut self) -> Option<Uuid> {
        const HYPHENATED: usize = hex::LEN;
        if let Some([b'"', text @ .., b'"']) = self.rest().get(..HYPHENATED + 2)
            && let Ok(text) = <&[u8; HYPHENATED]>::try_from(text)
            && let Some(id) = hex::parse(text)
        {
            self.pos += HYPHENATED + 2;
            return Some(id);
        }
        Uuid::try_parse(self.string()?).ok()
    }

    /// A timestamp string, the canonical form parsed in place like a UUID.
    #[inline(always)]
    fn timestamp(&mut self) -> Option<chrono::DateTime<chrono::Utc>> {
        const CANONICAL: usize = timestamp::LEN;
        if let Some([b'"', text @ .., b'"']) = self.rest().get(..CANONICAL + 2)
            && let Some(t) = timestamp::parse_canonical(text)
        {
            self.pos += CANONICAL + 2;
            return Some(t);
        }
        timestamp::parse(self.string()?)
    }

    #[inline]
    fn null(&mut self) -> bool {
        let is_null = self.text.as_bytes()[self.pos..].starts_with(b"null");
        if is_null {
            self.pos += 4;
        }
        is_null
    }

    /// A JSON integer that fits a `u32`, written plainly (no sign, fraction or exponent).
    #[inline]
    fn small_uint(&mut self) -> Option<u32> {
        let bytes = &self.text.as_bytes()[self.pos..];
        // The envelope's `version`: one digit.
        if let [d @ b'1'..=b'9', next, ..] = bytes
            && !next.is_ascii_digit()
            && !matches!(next, b'.' | b'e' | b'E')
        {
            self.pos += 1;
            return Some(u32::from(d - b'0'));
        }
        let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || (digits > 1 && bytes[0] == b'0') {
            return None;
        }
        if matches!(bytes.get(digits), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let value = self.text[self.pos..self.pos + digits].parse().ok()?;
        self.pos += digits;
        Some(value)
    }

    /// The rest of the text but its last byte, which must be `}`, read by serde_json as `V`: the
    /// value of an object's last key without a second look for where it ends.
    #[inline(always)]
    fn last_value<V: DeserializeOwned>(&mut self) -> Option<V> {
        let body = self.text.strip_suffix('}')?.get(self.pos..)?;
        let value = serde_json::from_str(body).ok()?;
        self.pos = self.text.len();
        Some(value)
    }

    /// Any JSON value, read by serde_json as `V`.
    #[inline]
    fn value<V: DeserializeOwned>(&mut self) -> Option<V> {
        let mut stream = serde_json::Deserializer::from_str(&self.text[self.pos..]).into_iter();
        let value = stream.next()?.ok()?;
        self.pos += stream.byte_offset();
        Some(value)
    }
}

#[cfg(test)]
mod tests;
