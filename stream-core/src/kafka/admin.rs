//! [`TopicAdmin`]: the one place that creates topics, changes them (partitions, topic configs)
//! and reads what the cluster knows of them (partition counts, replication, configs). The
//! catalog check at service start-up, `streamkit topics`, dead-letter topics, the examples'
//! cluster and the test helpers all go through it.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigEntry, ConfigSource, NewPartitions, NewTopic,
    ResourceSpecifier, TopicReplication,
};
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

impl Replication {
    /// The factor as the admin API takes it: `-1` for the cluster's default.
    fn factor(self) -> i32 {
        match self {
            Replication::ClusterDefault => -1,
            Replication::Fixed(n) => n,
        }
    }
}

/// A topic to create: its partitions, replication and topic configs (`retention.ms`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCreation {
    /// The full topic name (`paper.signals.raw`).
    pub name: String,
    /// The partition count.
    pub partitions: i32,
    /// The copies of each partition.
    pub replication: Replication,
    /// Topic configs set at creation, `(key, value)`.
    pub configs: Vec<(String, String)>,
}

/// One config of a topic as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    /// The key (`retention.ms`).
    pub name: String,
    /// The value in effect; `None` for a sensitive one, which the cluster does not show.
    pub value: Option<String>,
    /// Whether the topic leaves it to the broker's configuration or Kafka's default, rather
    /// than setting it itself.
    pub is_default: bool,
}

impl From<&ConfigEntry> for TopicConfig {
    fn from(entry: &ConfigEntry) -> Self {
        Self {
            name: entry.name.clone(),
            value: entry.value.clone(),
            is_default: entry.source != ConfigSource::DynamicTopic,
        }
    }
}

/// Admin calls wait this long for the cluster to answer beyond their operation timeout.
const REQUEST_MARGIN: Duration = Duration::from_secs(5);

/// Options of a request the cluster carries out (create topics, partitions): it waits up to
/// `timeout` for the operation to finish.
fn options(timeout: Duration) -> AdminOptions {
    request_options(timeout).operation_timeout(Some(timeout))
}

/// Options of a request answered at once (describe or alter configs): librdkafka refuses an
/// operation timeout on them.
fn request_options(timeout: Duration) -> AdminOptions {
    AdminOptions::new().request_timeout(Some(timeout + REQUEST_MARGIN))
}

fn refused(topic: impl Into<String>, message: String) -> Error {
    Error::TopicAdmin {
        topic: topic.into(),
        message,
    }
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

    /// Creates `topics` (name, partitions) without topic configs: see
    /// [`TopicAdmin::create_topics`].
    pub async fn create(
        &self,
        topics: &[(&str, i32)],
        replication: Replication,
        timeout: Duration,
    ) -> Result<()> {
        let topics: Vec<TopicCreation> = topics
            .iter()
            .map(|(name, partitions)| TopicCreation {
                name: (*name).to_owned(),
                partitions: *partitions,
                replication,
                configs: Vec::new(),
            })
            .collect();
        self.create_topics(&topics, timeout).await
    }

    /// Creates `topics` with their partitions, replication and configs, waiting up to `timeout`
    /// for the cluster; a topic that exists already is fine (and left as it is). The first that
    /// cannot be created is an [`Error::TopicAdmin`].
    pub async fn create_topics(&self, topics: &[TopicCreation], timeout: Duration) -> Result<()> {
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|t| {
                let replication = TopicReplication::Fixed(t.replication.factor());
                let topic = NewTopic::new(&t.name, t.partitions, replication);
                t.configs
                    .iter()
                    .fold(topic, |topic, (k, v)| topic.set(k, v))
            })
            .collect();
        for result in self.client.create_topics(&new, &options(timeout)).await? {
            if let Err((topic, code)) = result
                && code != RDKafkaErrorCode::TopicAlreadyExists
            {
                let hint = match code {
                    RDKafkaErrorCode::InvalidReplicationFactor => {
                        "; the replication factor must be at most the cluster's broker count"
                    }
                    _ => "",
                };
                return Err(refused(topic, format!("could not create it: {code}{hint}")));
            }
        }
        Ok(())
    }

    /// Raises the partition count of `topic` to `total`. Kafka cannot lower it: a `total` below
    /// the current count is an [`Error::TopicAdmin`].
    pub async fn raise_partitions(&self, topic: &str, total: i32, timeout: Duration) -> Result<()> {
        let count = usize::try_from(total).unwrap_or(0);
        let new = [NewPartitions::new(topic, count)];
        for result in self
            .client
            .create_partitions(&new, &options(timeout))
            .await?
        {
            if let Err((topic, code)) = result {
                let message = format!("could not raise its partitions to {total}: {code}");
                return Err(refused(topic, message));
            }
        }
        Ok(())
    }

    /// Every config of each of `topics` (in their order), with the value in effect and whether
    /// it is the topic's own. A topic the cluster does not have is an [`Error::TopicAdmin`].
    pub async fn configs(
        &self,
        topics: &[String],
        timeout: Duration,
    ) -> Result<Vec<Vec<TopicConfig>>> {
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let specifiers: Vec<ResourceSpecifier<'_>> =
            topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
        let results = self
            .client
            .describe_configs(&specifiers, &request_options(timeout))
            .await?;
        topics
            .iter()
            .zip(results)
            .map(|(topic, result)| match result {
                Ok(resource) => Ok(resource.entries.iter().map(TopicConfig::from).collect()),
                Err(code) => Err(refused(
                    topic,
                    format!("could not read its configs: {code}"),
                )),
            })
            .collect()
    }

    /// Sets `configs` on `topic`, keeping every other config the topic sets itself. Kafka's
    /// AlterConfigs (the one rdkafka offers) replaces the whole set of a topic's own configs, so
    /// the others are read just before and sent again; a change made by someone else between
    /// the two calls can be lost.
    pub async fn set_configs(
        &self,
        topic: &str,
        configs: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<()> {
        let current = self.configs(&[topic.to_owned()], timeout).await?;
        let kept: Vec<(String, String)> = current
            .into_iter()
            .flatten()
            .filter(|c| !c.is_default && !configs.iter().any(|(k, _)| *k == c.name))
            .filter_map(|c| Some((c.name, c.value?)))
            .collect();
        let alter = kept
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(configs.iter().copied())
            .fold(
                AlterConfig::new(ResourceSpecifier::Topic(topic)),
                |a, (k, v)| a.set(k, v),
            );
        let results = self
            .client
            .alter_configs([&alter], &request_options(timeout))
            .await?;
        for result in results {
            if let Err((_, code)) = result {
                return Err(refused(topic, format!("could not set its configs: {code}")));
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

    /// Each topic's replication factor, `None` for one the cluster does not have: the fewest
    /// replicas any of its partitions has, from the cluster's metadata.
    pub async fn replication_factors(
        &self,
        topics: &[String],
        timeout: Duration,
    ) -> Result<Vec<Option<i32>>> {
        self.metadata(topics, timeout, |t| {
            let fewest = t.partitions().iter().map(|p| p.replicas().len()).min();
            fewest.filter(|_| t.error().is_none()).map(|n| n as i32)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_as_the_admin_api_takes_it() {
        assert_eq!(Replication::ClusterDefault.factor(), -1);
        assert_eq!(Replication::Fixed(3).factor(), 3);
    }

    fn entry(source: ConfigSource) -> ConfigEntry {
        ConfigEntry {
            name: "retention.ms".into(),
            value: Some("86400000".into()),
            source,
            is_read_only: false,
            is_default: false,
            is_sensitive: false,
        }
    }

    #[test]
    fn a_config_is_default_unless_the_topic_sets_it() {
        let own = TopicConfig::from(&entry(ConfigSource::DynamicTopic));
        assert_eq!(
            (own.name.as_str(), own.value.as_deref(), own.is_default),
            ("retention.ms", Some("86400000"), false)
        );
        for inherited in [
            ConfigSource::Default,
            ConfigSource::StaticBroker,
            ConfigSource::DynamicBroker,
            ConfigSource::DynamicDefaultBroker,
        ] {
            assert!(TopicConfig::from(&entry(inherited)).is_default);
        }
    }
}
