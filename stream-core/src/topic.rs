//! Topics, patterns and trading-broker namespaces, as the runtime sees them.
//!
//! The grammar itself (what a valid topic or pattern is, how `*` expands, how the broker is read
//! from a topic, how `topics.toml` is parsed) lives in the small `stream-topics` crate, because the
//! proc-macro crate checks topics at compile time and a proc-macro crate cannot export functions:
//! one definition, used by both. This module re-exports it and adds [`Subscription`], which turns
//! a handler's topic list into what librdkafka subscribes to.

pub use stream_topics::{
    Broker, Catalog, CatalogError, Topic, TopicError, TopicErrorKind, TopicPattern, TopicSpec,
};

/// A consumer's topic list: literal topics and `*` patterns, validated.
///
/// Literal names are subscribed as they are; patterns become anchored regex subscriptions
/// (`^...$`), so a topic created later that matches is picked up at the next metadata refresh.
///
/// ```
/// use stream_core::topic::Subscription;
/// let sub = Subscription::parse(&["paper.signals.raw", "*.orders.filled"]).unwrap();
/// assert_eq!(sub.kafka_topics()[0], "paper.signals.raw");
/// assert!(sub.kafka_topics()[1].starts_with('^'));
/// assert!(Subscription::parse(&[]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    patterns: Vec<TopicPattern>,
}

impl Subscription {
    /// Parses topic names and patterns; an empty list or an invalid entry is an error.
    pub fn parse(topics: &[&str]) -> crate::Result<Self> {
        if topics.is_empty() {
            return Err(crate::Error::Config {
                key: "topics".into(),
                message: "expected at least one topic or pattern, found none".into(),
            });
        }
        let patterns = topics
            .iter()
            .map(|t| TopicPattern::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { patterns })
    }

    /// The parsed patterns (literal topics included).
    pub fn patterns(&self) -> &[TopicPattern] {
        &self.patterns
    }

    /// What to pass to librdkafka's `subscribe`: literal names, and regexes for patterns.
    pub fn kafka_topics(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|p| {
                if p.is_literal() {
                    p.as_str().to_owned()
                } else {
                    p.to_kafka_regex()
                }
            })
            .collect()
    }

    /// Whether `topic` is one this subscription receives.
    pub fn matches(&self, topic: &str) -> bool {
        Topic::parse(topic).is_ok_and(|t| self.patterns.iter().any(|p| p.matches(&t)))
    }
}
