//! The topic grammar of streamkit.
//!
//! What a valid topic or pattern is, how `*` expands, how the trading broker is read from a topic,
//! and how the `topics.toml` catalog is parsed. This crate has no heavy dependencies so that the
//! proc-macro crate (at compile time) and the runtime (at startup) share exactly one definition.

/// A topic name or pattern that is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError {
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl std::fmt::Display for TopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TopicError {}

/// A trading-broker namespace: the first segment of a topic (`paper` in `paper.signals.raw`).
///
/// ```
/// use stream_topics::Broker;
/// let b = Broker::new("zerodha").unwrap();
/// assert_eq!(b.as_str(), "zerodha");
/// assert!(Broker::new("pa.per").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Broker(String);

impl Broker {
    /// A broker namespace: one non-empty topic segment of `[a-zA-Z0-9_-]`.
    pub fn new(name: impl Into<String>) -> Result<Self, TopicError> {
        let name = name.into();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(TopicError {
                message: format!(
                    "invalid broker `{name}`: a broker is one topic segment of letters, digits, `_` or `-`"
                ),
            });
        }
        Ok(Self(name))
    }

    /// The namespace as written in topics.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
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
        b.0
    }
}
