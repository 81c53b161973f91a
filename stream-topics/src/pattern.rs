//! [`TopicPattern`]: a topic in which `*` stands for exactly one whole segment.

use std::fmt;
use std::str::FromStr;

use crate::broker::Broker;
use crate::error::TopicError;
use crate::grammar::{self, Kind};
use crate::topic::Topic;

/// A topic name in which `*` stands for exactly one whole segment: `*.signals.raw`,
/// `paper.signals.*`. A pattern without `*` is a literal and stands for one topic.
///
/// The rules are those of [`Topic`], with `*` allowed as a whole segment (`paper.sig*` is an
/// error). Since `*` is one segment, a pattern only matches topics with as many segments as it
/// has: `*.signals.raw` matches `paper.signals.raw` but neither `paper.signals.raw.dlq` nor
/// `a.b.signals.raw`.
///
/// ```
/// use stream_topics::{Topic, TopicPattern};
/// let p = TopicPattern::parse("*.signals.raw").unwrap();
/// assert!(p.matches(&Topic::parse("zerodha.signals.raw").unwrap()));
/// assert!(!p.matches(&Topic::parse("zerodha.signals.raw.dlq").unwrap()));
/// assert_eq!(p.to_kafka_regex(), r"^[^.]+\.signals\.raw$");
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct TopicPattern(String);

impl TopicPattern {
    /// Parses and validates a pattern.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// assert!(TopicPattern::parse("paper.*.raw").is_ok());
    /// assert!(TopicPattern::parse("paper.signals.raw").is_ok()); // a literal
    /// assert_eq!(
    ///     TopicPattern::parse("paper.sig*").unwrap_err().to_string(),
    ///     "pattern `paper.sig*` has `*` inside the segment `sig*`; `*` stands for exactly one \
    ///      whole segment: did you mean `paper.*`?"
    /// );
    /// ```
    pub fn parse(pattern: &str) -> Result<Self, TopicError> {
        grammar::validate(pattern, Kind::Pattern)?;
        Ok(Self(pattern.to_owned()))
    }

    /// The pattern as written.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// assert_eq!(TopicPattern::parse("*.signals.raw").unwrap().as_str(), "*.signals.raw");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments, `*` included.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// let p = TopicPattern::parse("*.signals.raw").unwrap();
    /// assert_eq!(p.segments().collect::<Vec<_>>(), ["*", "signals", "raw"]);
    /// ```
    pub fn segments(&self) -> std::str::Split<'_, char> {
        self.0.split('.')
    }

    /// Whether the pattern has no `*` and so stands for exactly one topic.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// assert!(TopicPattern::parse("paper.signals.raw").unwrap().is_literal());
    /// assert!(!TopicPattern::parse("paper.*.raw").unwrap().is_literal());
    /// ```
    pub fn is_literal(&self) -> bool {
        !self.0.contains('*')
    }

    /// The one topic a literal pattern stands for; `None` when it has a `*`.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// let p = TopicPattern::parse("paper.signals.raw").unwrap();
    /// assert_eq!(p.to_topic().unwrap().as_str(), "paper.signals.raw");
    /// assert!(TopicPattern::parse("*.signals.raw").unwrap().to_topic().is_none());
    /// ```
    pub fn to_topic(&self) -> Option<Topic> {
        self.is_literal().then(|| Topic::from_valid(self.0.clone()))
    }

    /// The broker when the first segment is literal; `None` for `*.…`.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// assert_eq!(TopicPattern::parse("paper.*.raw").unwrap().broker().unwrap().as_str(), "paper");
    /// assert!(TopicPattern::parse("*.signals.raw").unwrap().broker().is_none());
    /// ```
    pub fn broker(&self) -> Option<Broker> {
        let first = self.segments().next().expect("a pattern has segments");
        (first != "*").then(|| Broker::from_segment(first))
    }

    /// Whether `topic` is one of the topics this pattern stands for: as many segments, and each
    /// equal or matched by `*`.
    ///
    /// ```
    /// use stream_topics::{Topic, TopicPattern};
    /// let p = TopicPattern::parse("paper.signals.*").unwrap();
    /// assert!(p.matches(&Topic::parse("paper.signals.validated").unwrap()));
    /// assert!(!p.matches(&Topic::parse("zerodha.signals.validated").unwrap()));
    /// ```
    pub fn matches(&self, topic: &Topic) -> bool {
        self.segments().count() == topic.segments().count()
            && self
                .segments()
                .zip(topic.segments())
                .all(|(p, t)| p == "*" || p == t)
    }

    /// Whether some topic matches both patterns. Two handlers of one consumer group must not
    /// overlap, or a message would go to both.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// let p = |s| TopicPattern::parse(s).unwrap();
    /// assert!(p("*.signals.raw").overlaps(&p("paper.*.raw"))); // paper.signals.raw
    /// assert!(!p("*.signals.raw").overlaps(&p("*.signals.validated")));
    /// assert!(!p("*.signals.raw").overlaps(&p("*.signals.raw.dlq")));
    /// ```
    pub fn overlaps(&self, other: &TopicPattern) -> bool {
        // Exact: where both segments are `*`, any segment (say `x`) is a common topic's segment,
        // and the common topic is no longer than the longer pattern, so it is a valid topic.
        self.segments().count() == other.segments().count()
            && self
                .segments()
                .zip(other.segments())
                .all(|(a, b)| a == "*" || b == "*" || a == b)
    }

    /// The regular expression that librdkafka's `subscribe` takes for this pattern: it starts with
    /// `^` (how librdkafka tells a regex from a topic name), is anchored at both ends, has its
    /// dots escaped and each `*` as `[^.]+` (one segment). Topics created later that match are
    /// picked up at the next metadata refresh.
    ///
    /// Only syntax common to POSIX extended regexes, librdkafka's bundled engine, Java and RE2 is
    /// used, so the broker-side regex subscriptions of KIP-848 read it the same way.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// let p = TopicPattern::parse("paper.*.raw").unwrap();
    /// assert_eq!(p.to_kafka_regex(), r"^paper\.[^.]+\.raw$");
    /// ```
    pub fn to_kafka_regex(&self) -> String {
        let segments: Vec<&str> = self
            .segments()
            .map(|s| if s == "*" { "[^.]+" } else { s })
            .collect();
        // Literal segments are `[a-zA-Z0-9_-]`: none of them is special outside a bracket.
        format!("^{}$", segments.join(r"\."))
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TopicPattern {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for TopicPattern {
    type Err = TopicError;

    /// Same as [`TopicPattern::parse`].
    ///
    /// ```
    /// let p: stream_topics::TopicPattern = "*.signals.raw".parse().unwrap();
    /// assert!(!p.is_literal());
    /// ```
    fn from_str(s: &str) -> Result<Self, TopicError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TopicPattern {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, TopicError> {
        grammar::validate(&s, Kind::Pattern)?;
        Ok(Self(s))
    }
}

impl TryFrom<&str> for TopicPattern {
    type Error = TopicError;
    fn try_from(s: &str) -> Result<Self, TopicError> {
        Self::parse(s)
    }
}

impl From<TopicPattern> for String {
    fn from(p: TopicPattern) -> String {
        p.0
    }
}

impl From<Topic> for TopicPattern {
    /// A topic is a literal pattern.
    ///
    /// ```
    /// use stream_topics::{Topic, TopicPattern};
    /// let p = TopicPattern::from(Topic::parse("paper.signals.raw").unwrap());
    /// assert!(p.is_literal());
    /// ```
    fn from(t: Topic) -> Self {
        Self(t.into())
    }
}
