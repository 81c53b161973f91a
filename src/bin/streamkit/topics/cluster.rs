//! [`ClusterTopic`]: what the cluster has of the wanted topics, read through the admin client.

use std::collections::BTreeMap;
use std::time::Duration;

use stream_core::kafka::admin::TopicAdmin;

use crate::failure::Failure;

/// How long one admin request may take before the cluster counts as unreachable.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// One topic as the cluster has it.
#[derive(Debug, Clone)]
pub struct ClusterTopic {
    pub partitions: i32,
    /// The fewest replicas any of its partitions has.
    pub replication: i32,
    /// Every config in effect, by key (`None`: a sensitive value the cluster does not show).
    pub configs: BTreeMap<String, Option<String>>,
}

/// Each of `names` as the cluster has it, `None` for one it does not have.
pub async fn read(
    admin: &TopicAdmin,
    names: &[String],
) -> Result<Vec<Option<ClusterTopic>>, Failure> {
    let partitions = admin.partitions(names, ADMIN_TIMEOUT).await?;
    let replication = admin.replication_factors(names, ADMIN_TIMEOUT).await?;
    let existing: Vec<String> = names
        .iter()
        .zip(&partitions)
        .filter(|(_, p)| p.is_some())
        .map(|(n, _)| n.clone())
        .collect();
    let mut configs = admin.configs(&existing, ADMIN_TIMEOUT).await?.into_iter();
    let topics = partitions
        .into_iter()
        .zip(replication)
        .map(|(partitions, replication)| {
            let partitions = partitions?;
            let configs = configs.next().unwrap_or_default();
            Some(ClusterTopic {
                partitions,
                replication: replication.unwrap_or(0),
                configs: configs.into_iter().map(|c| (c.name, c.value)).collect(),
            })
        })
        .collect();
    Ok(topics)
}
