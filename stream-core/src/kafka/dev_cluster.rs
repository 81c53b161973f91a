//! `DevCluster`: the Kafka an example or a quick local run talks to.
//!
//! With `KAFKA_BOOTSTRAP_SERVERS` set it is that cluster. Without it, it is **librdkafka's
//! in-process mock cluster**, so examples run on a fresh machine with nothing installed. The mock
//! cluster is for that zero-setup default and for fast unit tests only: it has no admin API,
//! no real transactions, and proves nothing about a real broker. Every claim streamkit makes
//! about Kafka is tested against a real broker (`scripts/test`).

use std::time::Duration;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use crate::error::{Error, Result};
use crate::kafka::admin::{Replication, TopicAdmin};
use crate::kafka::config::{BOOTSTRAP_ENV, KafkaConfig};

/// A real cluster from the environment, or librdkafka's in-process mock cluster.
///
/// The mock cluster lives as long as this value (and is `!Send`: keep it in `main`).
///
/// ```no_run
/// # async fn run() -> stream_core::Result<()> {
/// let cluster = stream_core::kafka::dev_cluster::DevCluster::from_env()?;
/// println!("{}", cluster.describe());
/// cluster.create_topics(&["paper.signals.raw"], 3).await?;
/// let config = cluster.config();
/// # Ok(()) }
/// ```
pub struct DevCluster {
    bootstrap: String,
    mock: Option<MockCluster<'static, DefaultProducerContext>>,
}

impl DevCluster {
    /// The cluster named by `KAFKA_BOOTSTRAP_SERVERS`, or a new mock cluster when it is unset.
    pub fn from_env() -> Result<Self> {
        match std::env::var(BOOTSTRAP_ENV) {
            Ok(v) if !v.trim().is_empty() => Ok(Self {
                bootstrap: v.trim().to_owned(),
                mock: None,
            }),
            _ => Self::mock(),
        }
    }

    /// A new in-process mock cluster with one broker.
    pub fn mock() -> Result<Self> {
        let mock = MockCluster::new(1).map_err(Error::Kafka)?;
        Ok(Self {
            bootstrap: mock.bootstrap_servers(),
            mock: Some(mock),
        })
    }

    /// Whether this is librdkafka's mock cluster.
    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }

    /// The bootstrap servers to give clients.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// A configuration for clients of this cluster. On the mock cluster the consumer group
    /// protocol is `consumer` (KIP-848), whose joins take milliseconds instead of seconds.
    pub fn config(&self) -> KafkaConfig {
        let config = KafkaConfig::new(self.bootstrap.as_str()).merge_env();
        if self.is_mock() {
            config.set_default("group.protocol", "consumer")
        } else {
            config
        }
    }

    /// One line saying which cluster this is, for an example's output.
    pub fn describe(&self) -> String {
        if self.is_mock() {
            format!(
                "using librdkafka's in-process mock cluster at {} (set {BOOTSTRAP_ENV} to use a real broker, e.g. after `scripts/kafka up`)",
                self.bootstrap
            )
        } else {
            format!("using the Kafka cluster at {}", self.bootstrap)
        }
    }

    /// Creates topics (replication factor 1); existing ones are left as they are.
    pub async fn create_topics(&self, topics: &[&str], partitions: i32) -> Result<()> {
        if let Some(mock) = &self.mock {
            for t in topics {
                mock.create_topic(t, partitions, 1).map_err(Error::Kafka)?;
            }
            return Ok(());
        }
        let topics: Vec<(&str, i32)> = topics.iter().map(|t| (*t, partitions)).collect();
        TopicAdmin::new(&self.config())?
            .create(&topics, Replication::Fixed(1), Duration::from_secs(30))
            .await
    }
}
