//! [`Retention`]: how long a topic keeps its records, as the catalog writes it (`"7d"`).

use std::fmt;
use std::time::Duration;

/// How long a topic keeps its records: a duration, or forever. Kafka's `retention.ms`.
///
/// Written as a whole number and a unit (`ms`, `s`, `m`, `h`, `d`, `w`) with nothing between
/// them, at least 1ms, or `forever`:
///
/// ```
/// use std::time::Duration;
/// use stream_topics::Retention;
/// let week = Retention::parse("7d").unwrap();
/// assert_eq!(week, Retention::For(Duration::from_secs(7 * 86_400)));
/// assert_eq!(week.millis(), 604_800_000);
/// assert_eq!(Retention::parse("forever").unwrap().millis(), -1);
/// assert_eq!(Retention::parse("168h").unwrap().to_string(), "7d");
/// assert_eq!(Retention::parse("2w").unwrap().to_string(), "14d");
/// assert_eq!(Retention::parse("7 days"), None);
/// assert_eq!(Retention::parse("0s"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retention {
    /// Records are never deleted for their age (`retention.ms = -1`).
    Forever,
    /// Records older than this are deleted.
    For(Duration),
}

/// The units a retention may be written in, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 6] = [
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Retention {
    /// Reads `7d`, `12h`, `30m`, `90s`, `500ms`, `2w` or `forever`; `None` for anything else, a
    /// zero duration, or one whose milliseconds do not fit Kafka's `retention.ms` (an `i64`).
    pub fn parse(text: &str) -> Option<Self> {
        if text == "forever" {
            return Some(Self::Forever);
        }
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = text.split_at(digits);
        let number: u64 = number.parse().ok()?;
        let (_, unit_ms) = UNITS.iter().find(|(name, _)| *name == unit)?;
        let millis = number.checked_mul(*unit_ms)?;
        if millis == 0 || i64::try_from(millis).is_err() {
            return None;
        }
        Some(Self::For(Duration::from_millis(millis)))
    }

    /// The value of Kafka's `retention.ms`: the milliseconds, or `-1` for forever.
    ///
    /// ```
    /// assert_eq!(stream_topics::Retention::parse("12h").unwrap().millis(), 43_200_000);
    /// ```
    pub fn millis(&self) -> i64 {
        match self {
            Self::Forever => -1,
            Self::For(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

impl fmt::Display for Retention {
    /// `forever`, or the duration in the largest unit up to days that measures it exactly
    /// (`36h`, `14d`): days are what retention is usually thought in.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = match self {
            Self::Forever => return f.write_str("forever"),
            Self::For(d) => d.as_millis() as u64,
        };
        let (unit, unit_ms) = UNITS[1..]
            .iter()
            .find(|(_, ms)| millis % ms == 0)
            .expect("every duration is a whole number of milliseconds");
        write!(f, "{}{unit}", millis / unit_ms)
    }
}
