//! [`Catalog`]: the declared brokers and topics, and the checks of topics and patterns against
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use crate::broker::Broker;
use crate::catalog::error::CatalogError;
use crate::catalog::spec::TopicSpec;
use crate::catalog::value::did_you_mean;
use crate::error::{TopicError, TopicErrorKind};
use crate::pattern::TopicPattern;
use crate::suggest::closest;
use crate::topic::Topic;

/// The declared broker namespaces and topics of a service: the parsed `topics.toml`.
///
/// ```toml
/// brokers = ["paper", "zerodha"]   # the namespaces that `*` in the first segment stands for
///
/// [topics."signals.raw"]           # the topic name without its broker prefix
/// event = "trading_signal"         # the event type every envelope on it carries
/// partitions = 6
/// ```
///
/// Every declared name exists on every declared broker: the catalog above declares
/// `paper.signals.raw` and `zerodha.signals.raw`. Unknown keys are errors, so a misspelt
/// `partiton` is caught rather than ignored.
///
/// ```
/// use stream_topics::{Catalog, Topic};
/// let catalog = Catalog::parse(r#"
///     brokers = ["paper", "zerodha"]
///     [topics."signals.raw"]
///     event = "trading_signal"
///     partitions = 6
/// "#).unwrap();
/// let topic = Topic::parse("zerodha.signals.raw").unwrap();
/// assert_eq!(catalog.event_type_of(&topic), Some("trading_signal"));
/// assert_eq!(
///     catalog.check_topic(&Topic::parse("paper.signal.raw").unwrap()).unwrap_err().to_string(),
///     "unknown topic `paper.signal.raw`; did you mean `paper.signals.raw`? \
///      topics are declared in topics.toml"
/// );
/// ```
///
/// Each topic may also declare the settings of its Kafka topic (`retention`, `cleanup_policy`,
/// `replication`, `dlq_retention`), and a `[defaults]` table may declare them for every topic
/// that does not set its own:
///
/// ```toml
/// [defaults]
/// retention = "7d"                 # retention.ms of every topic, unless it sets its own
/// replication = 3                  # copies of each partition, at creation
///
/// [topics."orders.filled"]
/// event = "order_filled"
/// partitions = 6
/// retention = "forever"            # "7d", "12h", "30m", "500ms" ... or "forever"
/// cleanup_policy = "compact,delete"  # "delete", "compact" or "compact,delete"
/// dlq_retention = "30d"            # retention.ms of its dead-letter topic `<topic>.dlq`
/// ```
///
/// See [`TopicSpec`] for what each setting becomes on the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    pub(super) brokers: Vec<Broker>,
    pub(super) topics: BTreeMap<String, TopicSpec>,
}

impl Catalog {
    /// The declared broker namespaces, in the order of `brokers`.
    ///
    /// ```
    /// let catalog = stream_topics::Catalog::parse(r#"brokers = ["paper", "zerodha"]"#).unwrap();
    /// let names: Vec<&str> = catalog.brokers().iter().map(|b| b.as_str()).collect();
    /// assert_eq!(names, ["paper", "zerodha"]);
    /// ```
    pub fn brokers(&self) -> &[Broker] {
        &self.brokers
    }

    /// The declared topics (names without broker), sorted by name.
    ///
    /// ```
    /// let catalog = stream_topics::Catalog::parse(r#"
    ///     brokers = ["paper"]
    ///     [topics."signals.validated"]
    ///     event = "validated_signal"
    ///     partitions = 6
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 3
    /// "#).unwrap();
    /// let names: Vec<&str> = catalog.topics().map(|t| t.name()).collect();
    /// assert_eq!(names, ["signals.raw", "signals.validated"]);
    /// ```
    pub fn topics(&self) -> impl ExactSizeIterator<Item = &TopicSpec> + '_ {
        self.topics.values()
    }

    /// The declaration of one topic name without broker (`signals.raw`).
    ///
    /// ```
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert_eq!(catalog.topic("signals.raw").unwrap().partitions(), 6);
    /// assert!(catalog.topic("paper.signals.raw").is_none());
    /// ```
    pub fn topic(&self, name_without_broker: &str) -> Option<&TopicSpec> {
        self.topics.get(name_without_broker)
    }

    /// The declared topics `pattern` stands for, in the catalog's order ([`Catalog::all_topics`]).
    ///
    /// ```
    /// use stream_topics::{Catalog, TopicPattern};
    /// let catalog = Catalog::parse(r#"
    ///     brokers = ["paper", "zerodha"]
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 6
    ///     [topics."signals.validated"]
    ///     event = "validated_signal"
    ///     partitions = 6
    /// "#).unwrap();
    /// let topics = catalog.expand(&TopicPattern::parse("*.signals.raw").unwrap());
    /// assert_eq!(topics, ["paper.signals.raw", "zerodha.signals.raw"]);
    /// ```
    pub fn expand(&self, pattern: &TopicPattern) -> Vec<Topic> {
        self.all_topics()
            .into_iter()
            .filter(|t| pattern.matches(t))
            .collect()
    }

    /// Every declared topic: each broker (in declared order) with each name (sorted).
    ///
    /// ```
    /// let catalog = stream_topics::Catalog::parse(r#"
    ///     brokers = ["zerodha", "paper"]
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 6
    /// "#).unwrap();
    /// assert_eq!(catalog.all_topics(), ["zerodha.signals.raw", "paper.signals.raw"]);
    /// ```
    pub fn all_topics(&self) -> Vec<Topic> {
        self.brokers
            .iter()
            .flat_map(|b| {
                self.topics
                    .keys()
                    .map(move |name| Topic::from_valid(format!("{b}.{name}")))
            })
            .collect()
    }

    /// The declaration of a topic, if its broker and its name are both declared.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert!(catalog.spec_of(&Topic::parse("paper.signals.raw").unwrap()).is_some());
    /// assert!(catalog.spec_of(&Topic::parse("zerodha.signals.raw").unwrap()).is_none());
    /// ```
    pub fn spec_of(&self, topic: &Topic) -> Option<&TopicSpec> {
        self.has_broker(topic.broker_str())
            .then(|| self.topic(topic.name_without_broker()))
            .flatten()
    }

    /// The event type a declared topic carries; `None` if the topic is not declared.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// let t = Topic::parse("paper.signals.raw").unwrap();
    /// assert_eq!(catalog.event_type_of(&t), Some("trading_signal"));
    /// ```
    pub fn event_type_of(&self, topic: &Topic) -> Option<&str> {
        self.spec_of(topic).map(TopicSpec::event)
    }

    /// The event types carried by the declared topics a pattern matches; a handler on the pattern
    /// takes one payload type, so callers usually want exactly one.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// let catalog = stream_topics::Catalog::parse(r#"
    ///     brokers = ["paper", "zerodha"]
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 6
    ///     [topics."signals.validated"]
    ///     event = "validated_signal"
    ///     partitions = 6
    /// "#).unwrap();
    /// let one = catalog.event_types_of(&TopicPattern::parse("*.signals.raw").unwrap());
    /// assert_eq!(one.into_iter().collect::<Vec<_>>(), ["trading_signal"]);
    /// let two = catalog.event_types_of(&TopicPattern::parse("paper.signals.*").unwrap());
    /// assert_eq!(two.into_iter().collect::<Vec<_>>(), ["trading_signal", "validated_signal"]);
    /// ```
    pub fn event_types_of(&self, pattern: &TopicPattern) -> BTreeSet<&str> {
        self.expand(pattern)
            .iter()
            .filter_map(|t| self.topic(t.name_without_broker()))
            .map(TopicSpec::event)
            .collect()
    }

    /// Checks that a topic is declared, with an error that names the mistake and, when one is
    /// close, the declared topic meant.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\", \"zerodha\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert!(catalog.check_topic(&Topic::parse("paper.signals.raw").unwrap()).is_ok());
    /// assert_eq!(
    ///     catalog.check_topic(&Topic::parse("live.signals.raw").unwrap()).unwrap_err().to_string(),
    ///     "unknown broker `live` in `live.signals.raw`; declared brokers: paper, zerodha"
    /// );
    /// ```
    pub fn check_topic(&self, topic: &Topic) -> Result<&TopicSpec, TopicError> {
        if let Some(spec) = self.spec_of(topic) {
            return Ok(spec);
        }
        let all = self.all_topics();
        let suggestion = closest(topic.as_str(), all.iter().map(Topic::as_str)).map(str::to_owned);
        if !self.has_broker(topic.broker_str()) {
            return Err(self.unknown_broker(topic.broker_str(), topic.as_str(), suggestion));
        }
        let did_you_mean = did_you_mean(suggestion.as_deref());
        Err(TopicError::new(
            TopicErrorKind::UnknownTopic,
            topic.as_str(),
            format!("unknown topic `{topic}`; {did_you_mean}topics are declared in topics.toml"),
        )
        .with_suggestion(suggestion))
    }

    /// Checks that a pattern names a declared broker (if its first segment is literal) and matches
    /// at least one declared topic; returns the topics it matches. A literal pattern is checked as
    /// a topic.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\", \"zerodha\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// let topics = catalog.check_pattern(&TopicPattern::parse("*.signals.raw").unwrap()).unwrap();
    /// assert_eq!(topics, ["paper.signals.raw", "zerodha.signals.raw"]);
    /// assert_eq!(
    ///     catalog.check_pattern(&TopicPattern::parse("*.foo.*").unwrap()).unwrap_err().to_string(),
    ///     "pattern `*.foo.*` matches no declared topic; `*` stands for exactly one segment, \
    ///      and topics are declared in topics.toml"
    /// );
    /// ```
    pub fn check_pattern(&self, pattern: &TopicPattern) -> Result<Vec<Topic>, TopicError> {
        if let Some(topic) = pattern.to_topic() {
            self.check_topic(&topic)?;
            return Ok(vec![topic]);
        }
        let topics = self.expand(pattern);
        if !topics.is_empty() {
            return Ok(topics);
        }
        // Candidates: each declared topic of the same length with the pattern's `*`s put back.
        let mut candidates: Vec<String> = Vec::new();
        for topic in self.all_topics() {
            if topic.segments().count() != pattern.segments().count() {
                continue;
            }
            let candidate: Vec<&str> = pattern
                .segments()
                .zip(topic.segments())
                .map(|(p, t)| if p == "*" { "*" } else { t })
                .collect();
            let candidate = candidate.join(".");
            if !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
        let suggestion =
            closest(pattern.as_str(), candidates.iter().map(String::as_str)).map(str::to_owned);
        if let Some(broker) = pattern.broker().filter(|b| !self.has_broker(b.as_str())) {
            return Err(self.unknown_broker(broker.as_str(), pattern.as_str(), suggestion));
        }
        let did_you_mean = did_you_mean(suggestion.as_deref());
        Err(TopicError::new(
            TopicErrorKind::NoMatch,
            pattern.as_str(),
            format!(
                "pattern `{pattern}` matches no declared topic; {did_you_mean}`*` stands for \
                 exactly one segment, and topics are declared in topics.toml"
            ),
        )
        .with_suggestion(suggestion))
    }

    fn has_broker(&self, broker: &str) -> bool {
        self.brokers.iter().any(|b| b.as_str() == broker)
    }

    fn unknown_broker(&self, broker: &str, input: &str, suggestion: Option<String>) -> TopicError {
        let declared: Vec<&str> = self.brokers.iter().map(Broker::as_str).collect();
        let declared = declared.join(", ");
        let did_you_mean = did_you_mean(suggestion.as_deref());
        TopicError::new(
            TopicErrorKind::UnknownBroker,
            input,
            format!(
                "unknown broker `{broker}` in `{input}`; {did_you_mean}declared brokers: {declared}"
            ),
        )
        .with_suggestion(suggestion)
    }
}

impl FromStr for Catalog {
    type Err = CatalogError;

    /// Same as [`Catalog::parse`].
    ///
    /// ```
    /// let catalog: stream_topics::Catalog = r#"brokers = ["paper"]"#.parse().unwrap();
    /// assert_eq!(catalog.brokers().len(), 1);
    /// ```
    fn from_str(s: &str) -> Result<Self, CatalogError> {
        Self::parse(s)
    }
}
