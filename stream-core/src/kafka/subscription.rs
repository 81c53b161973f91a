//! [`Subscription`]: the topics and `*` patterns a consumer hands to librdkafka, literals as
//! they are and patterns as regexes, so topics created later are picked up.
//!
//! ```
//! use stream_core::kafka::subscription::Subscription;
//! use stream_core::topic::Topic;
//!
//! let sub = Subscription::parse(["paper.orders.placed", "*.signals.raw"])?;
//! assert_eq!(sub.kafka_topics(), ["paper.orders.placed", r"^[^.]+\.signals\.raw$"]);
//! assert!(sub.matches(&Topic::parse("zerodha.signals.raw")?));
//! # Ok::<(), stream_core::topic::TopicError>(())
//! ```

use std::fmt;

use crate::topic::{Catalog, Topic, TopicError, TopicErrorKind, TopicPattern};

/// What a consumer subscribes to: topics and `*` patterns, in the order given, without
/// duplicates.
///
/// ```
/// use stream_core::kafka::subscription::Subscription;
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
    /// use stream_core::kafka::subscription::Subscription;
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
    /// use stream_core::kafka::subscription::Subscription;
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
    /// use stream_core::kafka::subscription::Subscription;
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
    /// use stream_core::kafka::subscription::Subscription;
    /// use stream_core::topic::Topic;
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
    /// use stream_core::kafka::subscription::Subscription;
    /// use stream_core::topic::Catalog;
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
