//! Topics, patterns and trading-broker namespaces, as the runtime sees them.
//!
//! A topic is `<broker>.<domain>.<event>` (`paper.signals.raw`); its first segment is the
//! [`Broker`] namespace. A [`TopicPattern`] has `*` for exactly one whole segment
//! (`*.signals.raw`) and becomes a Kafka regex subscription, so topics created later are picked
//! up. The [`Catalog`] is the parsed `topics.toml` that declares the brokers and topics.
//!
//! These types are defined in the small `stream-topics` crate and re-exported here. The grammar
//! (what a valid topic or pattern is, how `*` expands, how the broker is read, how the catalog
//! is parsed) must be one definition shared by the macros, which check topics at compile time,
//! and this runtime, which checks them at startup. A proc-macro crate cannot export functions and
//! must not pull in rdkafka or tokio, so the grammar lives in a crate of its own that both depend
//! on (as `sqlx-macros-core` sits apart from `sqlx-macros`).
//!
//! What is the runtime's own is [`Subscription`]: the list of topics and patterns a consumer
//! hands to librdkafka.
//!
//! ```
//! use stream_core::topic::{Subscription, Topic};
//!
//! let sub = Subscription::parse(["paper.orders.placed", "*.signals.raw"])?;
//! assert_eq!(sub.kafka_topics(), ["paper.orders.placed", r"^[^.]+\.signals\.raw$"]);
//!
//! let incoming = Topic::parse("zerodha.signals.raw")?;
//! assert!(sub.matches(&incoming));
//! assert_eq!(incoming.sibling("signals.validated")?.as_str(), "zerodha.signals.validated");
//! # Ok::<(), stream_core::topic::TopicError>(())
//! ```

use std::fmt;

pub use stream_topics::{
    Broker, Catalog, CatalogError, Topic, TopicError, TopicErrorKind, TopicPattern, TopicSpec,
};

/// The broker namespace of a topic name: its first segment (`paper` for `paper.signals.raw`),
/// through [`broker_named`]. The producer and the consumer both read a topic's broker this way.
///
/// ```
/// let b = stream_core::topic::broker_of("zerodha.orders.filled")?;
/// assert_eq!(b.as_str(), "zerodha");
/// assert!(stream_core::topic::broker_of("").is_err());
/// # Ok::<(), stream_core::topic::TopicError>(())
/// ```
pub fn broker_of(topic: &str) -> Result<Broker, TopicError> {
    broker_named(topic.split('.').next().unwrap_or_default())
}

/// The [`Broker`] named `name`, shared with the last one made on this thread when it has the
/// same name: consecutive records nearly always carry the same broker, so decoding an envelope
/// or publishing to a topic costs a name comparison and a reference count, not a check and a
/// copy.
///
/// ```
/// let a = stream_core::topic::broker_named("paper")?;
/// let b = stream_core::topic::broker_named("paper")?;
/// assert_eq!(a, b);
/// assert!(stream_core::topic::broker_named("pa.per").is_err());
/// # Ok::<(), stream_core::topic::TopicError>(())
/// ```
pub fn broker_named(name: &str) -> Result<Broker, TopicError> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<Broker>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some(broker) if broker.as_str() == name => Ok(broker.clone()),
            _ => {
                let broker = Broker::new(name)?;
                *last = Some(broker.clone());
                Ok(broker)
            }
        }
    })
}

/// What a consumer subscribes to: topics and `*` patterns, in the order given, without
/// duplicates.
///
/// ```
/// use stream_core::topic::Subscription;
/// let sub = Subscription::parse(&["paper.signals.raw", "zerodha.signals.*"]).unwrap();
/// assert_eq!(sub.patterns().len(), 2);
/// assert_eq!(sub.to_string(), "paper.signals.raw, zerodha.signals.*");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    patterns: Vec<TopicPattern>,
}

impl Subscription {
    /// Parses each item as a topic or pattern ([`TopicPattern::parse`]). Fails on the first
    /// invalid item, or on an empty list; repeated items are kept once.
    ///
    /// ```
    /// use stream_core::topic::Subscription;
    /// assert!(Subscription::parse(["*.signals.raw"]).is_ok());
    /// assert_eq!(
    ///     Subscription::parse(["paper.sig*"]).unwrap_err().to_string(),
    ///     "pattern `paper.sig*` has `*` inside the segment `sig*`; `*` stands for exactly one \
    ///      whole segment: did you mean `paper.*`?"
    /// );
    /// assert_eq!(
    ///     Subscription::parse(Vec::<String>::new()).unwrap_err().to_string(),
    ///     "empty subscription; give at least one topic or pattern, e.g. `paper.signals.raw` or \
    ///      `*.signals.raw`"
    /// );
    /// ```
    pub fn parse<I>(items: I) -> Result<Self, TopicError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut patterns: Vec<TopicPattern> = Vec::new();
        for item in items {
            let pattern = TopicPattern::parse(item.as_ref())?;
            if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        if patterns.is_empty() {
            return Err(TopicError::new(
                TopicErrorKind::Empty,
                "",
                "empty subscription; give at least one topic or pattern, e.g. \
                 `paper.signals.raw` or `*.signals.raw`"
                    .to_owned(),
            ));
        }
        Ok(Self { patterns })
    }

    /// The topics and patterns, in the order given.
    ///
    /// ```
    /// use stream_core::topic::Subscription;
    /// let sub = Subscription::parse(["*.signals.raw", "*.signals.raw"]).unwrap();
    /// assert_eq!(sub.patterns()[0].as_str(), "*.signals.raw");
    /// assert_eq!(sub.patterns().len(), 1);
    /// ```
    pub fn patterns(&self) -> &[TopicPattern] {
        &self.patterns
    }

    /// What rdkafka's `subscribe` takes: a literal topic as its name, a pattern as its
    /// `^…$` regex ([`TopicPattern::to_kafka_regex`]), which librdkafka tells apart by the `^`.
    ///
    /// ```
    /// use stream_core::topic::Subscription;
    /// let sub = Subscription::parse(["paper.signals.raw", "*.orders.*"]).unwrap();
    /// assert_eq!(sub.kafka_topics(), ["paper.signals.raw", r"^[^.]+\.orders\.[^.]+$"]);
    /// ```
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

    /// Whether a record from `topic` belongs to this subscription.
    ///
    /// ```
    /// use stream_core::topic::{Subscription, Topic};
    /// let sub = Subscription::parse(["*.signals.raw"]).unwrap();
    /// assert!(sub.matches(&Topic::parse("paper.signals.raw").unwrap()));
    /// assert!(!sub.matches(&Topic::parse("paper.signals.raw.dlq").unwrap()));
    /// ```
    pub fn matches(&self, topic: &Topic) -> bool {
        self.patterns.iter().any(|p| p.matches(topic))
    }

    /// Checks every topic and pattern against the catalog and returns the declared topics they
    /// cover, each once, in the catalog's order.
    ///
    /// ```
    /// use stream_core::topic::{Catalog, Subscription};
    /// let catalog = Catalog::parse(r#"
    ///     brokers = ["paper", "zerodha"]
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 6
    /// "#).unwrap();
    /// let sub = Subscription::parse(["*.signals.raw", "paper.signals.raw"]).unwrap();
    /// assert_eq!(sub.check(&catalog).unwrap(), ["paper.signals.raw", "zerodha.signals.raw"]);
    /// let bad = Subscription::parse(["paper.signal.raw"]).unwrap();
    /// assert_eq!(
    ///     bad.check(&catalog).unwrap_err().to_string(),
    ///     "unknown topic `paper.signal.raw`; did you mean `paper.signals.raw`? topics are \
    ///      declared in topics.toml"
    /// );
    /// ```
    pub fn check(&self, catalog: &Catalog) -> Result<Vec<Topic>, TopicError> {
        for pattern in &self.patterns {
            catalog.check_pattern(pattern)?;
        }
        Ok(catalog
            .all_topics()
            .into_iter()
            .filter(|t| self.matches(t))
            .collect())
    }
}

impl fmt::Display for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(p.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_literals_and_regexes_in_the_order_given() {
        let sub = Subscription::parse(vec![
            "zerodha.signals.raw".to_owned(),
            "paper.*.raw".to_owned(),
        ])
        .unwrap();
        assert_eq!(
            sub.kafka_topics(),
            ["zerodha.signals.raw", r"^paper\.[^.]+\.raw$"]
        );
    }

    #[test]
    fn takes_a_slice_of_str_as_the_consumer_passes_it() {
        let topics: &[&str] = &["paper.signals.raw"];
        assert_eq!(
            Subscription::parse(topics).unwrap().kafka_topics(),
            ["paper.signals.raw"]
        );
    }

    #[test]
    fn first_bad_item_is_reported() {
        let e = Subscription::parse(["paper.signals.raw", "signals", "x..y"]).unwrap_err();
        assert_eq!(e.kind(), TopicErrorKind::Shape);
        assert_eq!(e.input(), "signals");
    }

    #[test]
    fn empty_is_an_error() {
        let none: [&str; 0] = [];
        let e = Subscription::parse(none).unwrap_err();
        assert_eq!(e.kind(), TopicErrorKind::Empty);
    }

    #[test]
    fn duplicates_are_kept_once() {
        let sub = Subscription::parse(["*.signals.raw", "paper.x", "*.signals.raw"]).unwrap();
        assert_eq!(sub.to_string(), "*.signals.raw, paper.x");
    }
}
