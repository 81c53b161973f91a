//! [`Broker`]: the trading-broker namespace, the first segment of every topic.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{TopicError, TopicErrorKind};
use crate::grammar::MAX_LEN;

/// A trading-broker namespace: the first segment of a topic (`paper` in `paper.signals.raw`).
///
/// The name is shared, so a clone (one per decoded envelope, one per handler context) copies a
/// pointer rather than the text.
///
/// ```
/// use stream_topics::Broker;
/// let b = Broker::new("zerodha").unwrap();
/// assert_eq!(b.as_str(), "zerodha");
/// assert!(Broker::new("pa.per").is_err());
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Broker(Arc<str>);

impl Broker {
    /// A broker namespace: one non-empty topic segment of `[a-zA-Z0-9_-]`, short enough (at most
    /// 247 characters) that `<broker>.<name>` can still be a Kafka topic.
    ///
    /// ```
    /// use stream_topics::Broker;
    /// assert!(Broker::new("paper").is_ok());
    /// assert_eq!(
    ///     Broker::new("").unwrap_err().to_string(),
    ///     "invalid broker ``: a broker is one topic segment of letters, digits, `_` or `-`"
    /// );
    /// ```
    pub fn new(name: impl Into<String>) -> Result<Self, TopicError> {
        let name = name.into();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(TopicError::new(
                TopicErrorKind::InvalidBroker,
                &name,
                format!(
                    "invalid broker `{name}`: a broker is one topic segment of letters, digits, `_` or `-`"
                ),
            ));
        }
        if name.len() > MAX_LEN - 2 {
            return Err(TopicError::new(
                TopicErrorKind::InvalidBroker,
                &name,
                format!(
                    "invalid broker `{name}`: a broker is at most {} characters, so that \
                     `<broker>.<name>` fits in Kafka's {MAX_LEN}",
                    MAX_LEN - 2
                ),
            ));
        }
        Ok(Self(name.into()))
    }

    /// The namespace as written in topics.
    ///
    /// ```
    /// use stream_topics::Broker;
    /// assert_eq!(Broker::new("paper").unwrap().as_str(), "paper");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Only for segments already checked by the topic grammar.
    pub(crate) fn from_segment(segment: &str) -> Self {
        debug_assert!(Self::new(segment).is_ok(), "{segment}");
        Self(segment.into())
    }
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Broker {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Broker {
    type Err = TopicError;

    /// Same as [`Broker::new`].
    ///
    /// ```
    /// let b: stream_topics::Broker = "paper".parse().unwrap();
    /// assert_eq!(b.as_str(), "paper");
    /// ```
    fn from_str(s: &str) -> Result<Self, TopicError> {
        Self::new(s)
    }
}

impl TryFrom<String> for Broker {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, TopicError> {
        Self::new(s)
    }
}

impl From<Broker> for String {
    fn from(b: Broker) -> String {
        b.0.as_ref().to_owned()
    }
}
