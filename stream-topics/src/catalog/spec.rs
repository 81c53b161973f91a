//! [`TopicSpec`]: what the catalog declares of one topic name.

use crate::catalog::cleanup_policy::CleanupPolicy;
use crate::catalog::retention::Retention;
use crate::catalog::settings::Settings;

/// One declared topic name (without broker): the event type it carries, its partition count and
/// the settings of its Kafka topic, `[defaults]` filled in where the topic sets none.
///
/// ```
/// use stream_topics::{Catalog, CleanupPolicy};
/// let catalog = Catalog::parse(r#"
///     brokers = ["paper"]
///     [defaults]
///     retention = "7d"
///     [topics."signals.raw"]
///     event = "trading_signal"
///     partitions = 6
///     cleanup_policy = "delete"
/// "#).unwrap();
/// let spec = catalog.topic("signals.raw").unwrap();
/// assert_eq!((spec.name(), spec.event(), spec.partitions()), ("signals.raw", "trading_signal", 6));
/// assert_eq!(spec.retention().unwrap().to_string(), "7d");
/// assert_eq!(spec.cleanup_policy(), Some(CleanupPolicy::Delete));
/// assert_eq!(spec.replication(), None);
/// assert_eq!(
///     spec.topic_configs(),
///     [("cleanup.policy", "delete".to_owned()), ("retention.ms", "604800000".to_owned())]
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub(super) name: String,
    pub(super) event: String,
    pub(super) partitions: i32,
    pub(super) settings: Settings,
}

impl TopicSpec {
    /// The name without broker, the key in topics.toml: `signals.raw`.
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert_eq!(catalog.topics().next().unwrap().name(), "signals.raw");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The event type every envelope on this topic carries: `trading_signal`.
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert_eq!(catalog.topics().next().unwrap().event(), "trading_signal");
    /// ```
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The partition count, at least 1 (an `i32`, as Kafka and rdkafka's admin API count them).
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert_eq!(catalog.topics().next().unwrap().partitions(), 6);
    /// ```
    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// How long the topic keeps its records (`retention`, Kafka's `retention.ms`); `None` leaves
    /// it to the cluster.
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6\nretention = \"12h\"").unwrap();
    /// assert_eq!(catalog.topics().next().unwrap().retention().unwrap().millis(), 43_200_000);
    /// ```
    pub fn retention(&self) -> Option<Retention> {
        self.settings.retention
    }

    /// What Kafka does with old records (`cleanup_policy`, Kafka's `cleanup.policy`); `None`
    /// leaves it to the cluster.
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6\ncleanup_policy = \"compact\"").unwrap();
    /// use stream_topics::CleanupPolicy;
    /// assert_eq!(catalog.topics().next().unwrap().cleanup_policy(), Some(CleanupPolicy::Compact));
    /// ```
    pub fn cleanup_policy(&self) -> Option<CleanupPolicy> {
        self.settings.cleanup_policy
    }

    /// The copies of each partition (`replication`), given when the topic is created; Kafka does
    /// not change it afterwards through topic settings. `None` takes the cluster's
    /// `default.replication.factor`.
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6\nreplication = 3").unwrap();
    /// assert_eq!(catalog.topics().next().unwrap().replication(), Some(3));
    /// ```
    pub fn replication(&self) -> Option<i32> {
        self.settings.replication
    }

    /// How long the dead-letter topic `<topic>.dlq` keeps its records (`dlq_retention`). When
    /// set, the dead-letter topic is part of what the catalog declares: it has the topic's
    /// partitions and replication, and this retention.
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6\ndlq_retention = \"30d\"").unwrap();
    /// let spec = catalog.topics().next().unwrap();
    /// assert_eq!(spec.dlq_retention().unwrap().to_string(), "30d");
    /// assert_eq!(spec.dlq_topic_configs(), [("retention.ms", "2592000000".to_owned())]);
    /// ```
    pub fn dlq_retention(&self) -> Option<Retention> {
        self.settings.dlq_retention
    }

    /// The Kafka topic configs the catalog declares for this topic, as `(key, value)` pairs
    /// sorted by key: `cleanup.policy` and `retention.ms`, each only when declared.
    /// Replication is not a topic config: see [`TopicSpec::replication`].
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6\nretention = \"forever\"").unwrap();
    /// let spec = catalog.topics().next().unwrap();
    /// assert_eq!(spec.topic_configs(), [("retention.ms", "-1".to_owned())]);
    /// ```
    pub fn topic_configs(&self) -> Vec<(&'static str, String)> {
        let cleanup = self
            .cleanup_policy()
            .map(|p| ("cleanup.policy", p.as_str().to_owned()));
        let retention = self.retention().map(retention_ms);
        cleanup.into_iter().chain(retention).collect()
    }

    /// The Kafka topic configs of the dead-letter topic `<topic>.dlq`: `retention.ms` from
    /// `dlq_retention`, or nothing when it is not declared.
    pub fn dlq_topic_configs(&self) -> Vec<(&'static str, String)> {
        self.dlq_retention().map(retention_ms).into_iter().collect()
    }
}

fn retention_ms(retention: Retention) -> (&'static str, String) {
    ("retention.ms", retention.millis().to_string())
}
