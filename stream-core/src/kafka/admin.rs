//! [`TopicAdmin`]: the one place that creates topics and reads what the cluster knows of them
//! (partition counts, settings). The catalog check at service start-up, dead-letter topics, the
//! examples' cluster and the test helpers all go through it.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::error::{Error, Result};
use crate::kafka::config::{KafkaConfig, client_creation_error};

/// How many copies of each partition a topic created here gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replication {
    /// The cluster's `default.replication.factor` (KIP-464): right for one node and for many.
    ClusterDefault,
    /// Exactly this many.
    Fixed(i32),
}

/// An admin client for the cluster of a [`KafkaConfig`] (its security properties included).
#[derive(Clone)]
pub struct TopicAdmin {
    client: Arc<AdminClient<DefaultClientContext>>,
}

impl std::fmt::Debug for TopicAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicAdmin").finish_non_exhaustive()
    }
}

impl TopicAdmin {
    /// An admin client with the producer's view of `config`.
    pub fn new(config: &KafkaConfig) -> Result<Self> {
        let client = config
            .for_producer()
            .to_client_config()
            .create()
            .map_err(client_creation_error)?;
        Ok(Self {
            client: Arc::new(client),
        })
    }

    /// Creates `topics` (name, partitions), waiting up to `timeout` for the cluster; a topic that
    /// exists already is fine. The first that cannot be created is an [`Error::TopicAdmin`].
    pub async fn create(
        &self,
        topics: &[(&str, i32)],
        replication: Replication,
        timeout: Duration,
    ) -> Result<()> {
        let factor = match replication {
            Replication::ClusterDefault => -1,
            Replication::Fixed(n) => n,
        };
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|(t, p)| NewTopic::new(t, *p, TopicReplication::Fixed(factor)))
            .collect();
        let opts = AdminOptions::new()
            .operation_timeout(Some(timeout))
            .request_timeout(Some(timeout + Duration::from_secs(5)));
        for result in self.client.create_topics(&new, &opts).await? {
            if let Err((topic, code)) = result
                && code != RDKafkaErrorCode::TopicAlreadyExists
            {
                return Err(Error::TopicAdmin {
                    topic,
                    message: format!("could not create it: {code}"),
                });
            }
        }
        Ok(())
    }

    /// Deletes `topics`; missing ones are ignored.
    pub async fn delete(&self, topics: &[&str], timeout: Duration) -> Result<()> {
        let opts = AdminOptions::new().operation_timeout(Some(timeout));
        for result in self.client.delete_topics(topics, &opts).await? {
            if let Err((topic, code)) = result
                && code != RDKafkaErrorCode::UnknownTopicOrPartition
            {
                return Err(Error::TopicAdmin {
                    topic,
                    message: format!("could not delete it: {code}"),
                });
            }
        }
        Ok(())
    }

    /// Each topic's partition count, `None` for one the cluster does not have, read from the
    /// cluster's metadata (a blocking call, made on tokio's blocking pool).
    pub async fn partitions(
        &self,
        topics: &[String],
        timeout: Duration,
    ) -> Result<Vec<Option<i32>>> {
        self.metadata(topics, timeout, |t| {
            let n = t.partitions().len();
            (t.error().is_none() && n > 0).then_some(n as i32)
        })
        .await
    }

    /// Whether every partition of each topic has a leader (a topic just created may not yet).
    pub async fn have_leaders(&self, topics: &[String], timeout: Duration) -> Result<Vec<bool>> {
        self.metadata(topics, timeout, |t| {
            t.error().is_none()
                && !t.partitions().is_empty()
                && t.partitions().iter().all(|p| p.leader() >= 0)
        })
        .await
    }

    /// A topic's setting (`max.message.bytes`), if the cluster says.
    pub async fn topic_setting(&self, topic: &str, key: &str) -> Option<String> {
        let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(5)));
        let specifier = ResourceSpecifier::Topic(topic);
        let results = self
            .client
            .describe_configs([&specifier], &opts)
            .await
            .ok()?;
        let resource = results.into_iter().next()?.ok()?;
        resource.get(key)?.value.clone()
    }

    /// `read` of each topic's metadata; `T::default()` for a topic the cluster does not list.
    async fn metadata<T: Default + Send + 'static>(
        &self,
        topics: &[String],
        timeout: Duration,
        read: fn(&rdkafka::metadata::MetadataTopic) -> T,
    ) -> Result<Vec<T>> {
        let client = Arc::clone(&self.client);
        let topics = topics.to_vec();
        tokio::task::spawn_blocking(move || {
            topics
                .iter()
                .map(|t| {
                    let meta = client.inner().fetch_metadata(Some(t), timeout)?;
                    Ok(meta.topics().first().map(read).unwrap_or_default())
                })
                .collect()
        })
        .await
        .map_err(|e| Error::Runtime {
            what: "topic metadata".into(),
            message: format!("the metadata task failed: {e}"),
        })?
    }
}
