//! [`Topic`]: one concrete Kafka topic, `<broker>.<domain>.<event>`.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use crate::broker::Broker;
use crate::error::TopicError;
use crate::grammar::{self, Kind};

/// A concrete topic name: `<broker>.<domain>.<event>`, e.g. `paper.signals.raw`.
///
/// A valid topic follows Kafka's rules (only `[a-zA-Z0-9._-]`, 1 to 249 characters, not `.` or
/// `..`), has no empty segment (no leading, trailing or doubled dot) and no `*`, and has at least
/// two segments: the first is its [`Broker`], the rest its name within that broker. Three segments
/// is the usual shape; two (`paper.heartbeats`) and more (`paper.signals.raw.dlq`) are allowed.
///
/// ```
/// use stream_topics::{Broker, Topic};
/// let t = Topic::parse("zerodha.signals.raw").unwrap();
/// assert_eq!(t.broker(), Broker::new("zerodha").unwrap());
/// assert_eq!(t.name_without_broker(), "signals.raw");
/// // answer on the same broker without string surgery
/// assert_eq!(t.sibling("signals.validated").unwrap().as_str(), "zerodha.signals.validated");
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Topic(String);

impl Topic {
    /// Parses and validates a topic name.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// assert!(Topic::parse("paper.signals.raw").is_ok());
    /// assert_eq!(
    ///     Topic::parse("signals").unwrap_err().to_string(),
    ///     "topic `signals` has one segment, but needs at least two, the broker first; \
    ///      a topic is `<broker>.<domain>.<event>`, e.g. `paper.signals.raw`"
    /// );
    /// ```
    pub fn parse(name: &str) -> Result<Self, TopicError> {
        grammar::validate(name, Kind::Topic)?;
        Ok(Self(name.to_owned()))
    }

    /// Only for names already checked by the grammar.
    pub(crate) fn from_valid(name: String) -> Self {
        debug_assert!(grammar::validate(&name, Kind::Topic).is_ok(), "{name}");
        Self(name)
    }

    /// The topic `<broker>.<rest>`: `rest` is the name without a broker, e.g. `signals.validated`.
    ///
    /// ```
    /// use stream_topics::{Broker, Topic};
    /// let zerodha = Broker::new("zerodha").unwrap();
    /// let t = Topic::for_broker(&zerodha, "signals.validated").unwrap();
    /// assert_eq!(t.as_str(), "zerodha.signals.validated");
    /// assert!(Topic::for_broker(&zerodha, "signals..validated").is_err());
    /// ```
    pub fn for_broker(broker: &Broker, rest: &str) -> Result<Self, TopicError> {
        Self::parse(&format!("{broker}.{rest}"))
    }

    /// The same name on another broker: `paper.signals.raw` → `zerodha.signals.raw`.
    ///
    /// Fails only when the result would be longer than Kafka allows.
    ///
    /// ```
    /// use stream_topics::{Broker, Topic};
    /// let t = Topic::parse("paper.signals.raw").unwrap();
    /// let z = t.with_broker(&Broker::new("zerodha").unwrap()).unwrap();
    /// assert_eq!(z.as_str(), "zerodha.signals.raw");
    /// ```
    pub fn with_broker(&self, broker: &Broker) -> Result<Self, TopicError> {
        Self::for_broker(broker, self.name_without_broker())
    }

    /// Another topic of the same broker: on `zerodha.signals.raw`, `sibling("signals.validated")`
    /// is `zerodha.signals.validated`.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let t = Topic::parse("zerodha.signals.raw").unwrap();
    /// assert_eq!(t.sibling("orders.placed").unwrap().as_str(), "zerodha.orders.placed");
    /// ```
    pub fn sibling(&self, rest: &str) -> Result<Self, TopicError> {
        Self::for_broker(&self.broker(), rest)
    }

    /// The broker namespace: the first segment.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// assert_eq!(Topic::parse("paper.signals.raw").unwrap().broker().as_str(), "paper");
    /// ```
    pub fn broker(&self) -> Broker {
        Broker::from_segment(self.broker_str())
    }

    /// The broker namespace as a `&str`, without allocating.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// assert_eq!(Topic::parse("paper.signals.raw").unwrap().broker_str(), "paper");
    /// ```
    pub fn broker_str(&self) -> &str {
        self.split().0
    }

    /// Everything after the broker: `signals.raw` in `paper.signals.raw`. This is the key under
    /// which topics.toml declares the topic.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// assert_eq!(Topic::parse("paper.signals.raw").unwrap().name_without_broker(), "signals.raw");
    /// ```
    pub fn name_without_broker(&self) -> &str {
        self.split().1
    }

    /// The segments, broker first.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let t = Topic::parse("paper.signals.raw").unwrap();
    /// assert_eq!(t.segments().collect::<Vec<_>>(), ["paper", "signals", "raw"]);
    /// ```
    pub fn segments(&self) -> std::str::Split<'_, char> {
        self.0.split('.')
    }

    /// The full name, as Kafka knows it.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// assert_eq!(Topic::parse("paper.signals.raw").unwrap().as_str(), "paper.signals.raw");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn split(&self) -> (&str, &str) {
        self.0
            .split_once('.')
            .expect("a valid topic has at least two segments")
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl FromStr for Topic {
    type Err = TopicError;

    /// Same as [`Topic::parse`].
    ///
    /// ```
    /// let t: stream_topics::Topic = "paper.signals.raw".parse().unwrap();
    /// assert_eq!(t.broker_str(), "paper");
    /// ```
    fn from_str(s: &str) -> Result<Self, TopicError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Topic {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, TopicError> {
        grammar::validate(&s, Kind::Topic)?;
        Ok(Self(s))
    }
}

impl TryFrom<&str> for Topic {
    type Error = TopicError;
    fn try_from(s: &str) -> Result<Self, TopicError> {
        Self::parse(s)
    }
}

impl From<Topic> for String {
    fn from(t: Topic) -> String {
        t.0
    }
}

impl PartialEq<str> for Topic {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Topic {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}
