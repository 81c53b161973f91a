//! [`TopicError`]: why a topic, pattern or broker was rejected, with the fix.

use std::fmt;

/// What kind of mistake a [`TopicError`] reports.
///
/// The message says it in words; the kind lets a caller (the macros, the runtime) react to it, for
/// instance to place the error on a different token.
///
/// ```
/// use stream_topics::{Topic, TopicErrorKind};
/// let err = Topic::parse("paper..signals").unwrap_err();
/// assert_eq!(err.kind(), TopicErrorKind::EmptySegment);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TopicErrorKind {
    /// A broker namespace that is not one segment of `[a-zA-Z0-9_-]`.
    InvalidBroker,
    /// An empty name.
    Empty,
    /// A character Kafka does not allow in topic names (only `[a-zA-Z0-9._-]`).
    InvalidCharacter,
    /// Longer than Kafka's 249 characters.
    TooLong,
    /// An empty segment: a leading or trailing dot, or two dots in a row (this covers `.` and `..`).
    EmptySegment,
    /// A `*` in a concrete topic, where only patterns may have one.
    Wildcard,
    /// A `*` that is not a whole segment (`paper.sig*`).
    PartialWildcard,
    /// Not the streamkit shape `<broker>.<domain>.<event>`: fewer than two segments.
    Shape,
    /// A broker that the catalog does not declare.
    UnknownBroker,
    /// A topic that the catalog does not declare.
    UnknownTopic,
    /// A pattern that matches no topic the catalog declares.
    NoMatch,
}

/// A topic name, pattern or broker that is not valid, or not declared in the catalog.
///
/// Its `Display` is one lowercase sentence that names the offending input and says how to fix it.
/// When a close valid alternative exists, [`suggestion`](Self::suggestion) holds the whole input
/// rewritten with the fix, ready for a "did you mean".
///
/// ```
/// use stream_topics::{TopicErrorKind, TopicPattern};
/// let err = TopicPattern::parse("paper.sig*").unwrap_err();
/// assert_eq!(err.kind(), TopicErrorKind::PartialWildcard);
/// assert_eq!(err.input(), "paper.sig*");
/// assert_eq!(err.suggestion(), Some("paper.*"));
/// assert_eq!(
///     err.to_string(),
///     "pattern `paper.sig*` has `*` inside the segment `sig*`; `*` stands for exactly one whole \
///      segment: did you mean `paper.*`?"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError {
    kind: TopicErrorKind,
    input: String,
    message: String,
    suggestion: Option<String>,
}

impl TopicError {
    /// An error about `input`, for code built on the grammar (the runtime, the macros) that
    /// reports a mistake of its own in the same shape. `message` should be a lowercase sentence
    /// that names the input and the fix.
    ///
    /// ```
    /// use stream_topics::{TopicError, TopicErrorKind};
    /// let err = TopicError::new(
    ///     TopicErrorKind::Empty,
    ///     "",
    ///     "empty subscription; give at least one topic or pattern".to_owned(),
    /// );
    /// assert_eq!(err.to_string(), "empty subscription; give at least one topic or pattern");
    /// ```
    pub fn new(kind: TopicErrorKind, input: &str, message: String) -> Self {
        Self {
            kind,
            input: input.to_owned(),
            message,
            suggestion: None,
        }
    }

    /// The same error with a fix to offer (the whole input rewritten), or none.
    ///
    /// ```
    /// use stream_topics::{TopicError, TopicErrorKind};
    /// let err = TopicError::new(TopicErrorKind::UnknownTopic, "paper.x", "unknown topic `paper.x`".into())
    ///     .with_suggestion(Some("paper.y".into()));
    /// assert_eq!(err.suggestion(), Some("paper.y"));
    /// ```
    pub fn with_suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }

    /// What kind of mistake this is.
    ///
    /// ```
    /// use stream_topics::{Broker, TopicErrorKind};
    /// assert_eq!(Broker::new("pa.per").unwrap_err().kind(), TopicErrorKind::InvalidBroker);
    /// ```
    pub fn kind(&self) -> TopicErrorKind {
        self.kind
    }

    /// The rejected input, as it was given.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// assert_eq!(Topic::parse("signals").unwrap_err().input(), "signals");
    /// ```
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The input rewritten with a likely fix, when one is close enough to be worth offering.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let err = Topic::parse("paper..signals.raw").unwrap_err();
    /// assert_eq!(err.suggestion(), Some("paper.signals.raw"));
    /// ```
    pub fn suggestion(&self) -> Option<&str> {
        self.suggestion.as_deref()
    }

    /// The message, the same text as `Display`.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let err = Topic::parse("").unwrap_err();
    /// assert_eq!(err.message(), err.to_string());
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TopicError {}
