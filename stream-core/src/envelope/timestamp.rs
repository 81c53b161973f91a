//! The timestamp rule of the wire format, usable on payload fields too:
//! `#[serde(with = "stream_core::envelope::timestamp")]` on a `DateTime<Utc>`.
//!
//! Written RFC 3339 in UTC with `Z` and six fraction digits. Read with `Z`, any offset
//! (converted to UTC) or no offset (UTC), `T`, `t` or a space between date and time, and zero to
//! nine fraction digits; the value is truncated to microseconds.
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use stream_core::envelope::timestamp;
//!
//! let t = timestamp::parse("2026-11-27T00:58:45.123456789+05:30").unwrap();
//! assert_eq!(timestamp::format(&t).unwrap(), "2026-11-26T19:28:45.123456Z");
//! assert_eq!(timestamp::parse("2026-11-26T19:28:45.123456"), Some(t));
//! assert_eq!(timestamp::parse("yesterday"), None);
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Fill {
//!     #[serde(with = "stream_core::envelope::timestamp")]
//!     filled_at: DateTime<Utc>,
//! }
//! let fill: Fill = serde_json::from_str(r#"{"filled_at":"2026-11-26T19:28:45+00:00"}"#).unwrap();
//! assert_eq!(serde_json::to_string(&fill).unwrap(), r#"{"filled_at":"2026-11-26T19:28:45.000000Z"}"#);
//! ```

use std::cell::Cell;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, Timelike, Utc};

use serde::{Deserializer, Serializer};

pub(crate) const LEN: usize = "2026-11-26T19:28:45.123456Z".len();

/// The canonical form, or `None` for a year outside `0000..=9999` (RFC 3339 has four digits).
///
/// ```
/// let t = chrono::DateTime::from_timestamp(0, 1_500).unwrap();
/// assert_eq!(stream_core::envelope::timestamp::format(&t).unwrap(), "1970-01-01T00:00:00.000001Z");
/// ```
pub fn format(t: &DateTime<Utc>) -> Option<String> {
    let mut buf = [0u8; LEN];
    write(t, &mut buf)?;
    Some(ascii(&buf).to_owned())
}

/// Writes the canonical text into `buf`, or says why it cannot be written.
pub(crate) fn write_canonical(t: &DateTime<Utc>, buf: &mut [u8; LEN]) -> Result<(), String> {
    write(t, buf).ok_or_else(|| out_of_range(t))
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
/// use stream_core::envelope::timestamp::parse;
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
pub(crate) fn parse_canonical(b: &[u8]) -> Option<DateTime<Utc>> {
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
/// # #[derive(serde::Serialize)] struct S { #[serde(serialize_with = "stream_core::envelope::timestamp::serialize")] t: chrono::DateTime<chrono::Utc> }
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
/// # #[derive(serde::Deserialize)] struct S { #[serde(deserialize_with = "stream_core::envelope::timestamp::deserialize")] t: chrono::DateTime<chrono::Utc> }
/// let err = serde_json::from_str::<S>(r#"{"t":"26/11/2026"}"#).err().unwrap();
/// assert!(err.to_string().starts_with("expected an RFC 3339 timestamp"), "{err}");
/// ```
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
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
    use super::{format, parse, six_digits};
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
