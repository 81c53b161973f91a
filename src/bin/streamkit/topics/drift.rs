//! [`Drift`]: one way a topic on the cluster differs from the catalog, as people and scripts
//! read it.

use serde_json::{Value, json};

use crate::topics::cluster::ClusterTopic;
use crate::topics::wanted::WantedTopic;

/// One difference between the catalog and the cluster. Values read cluster first, catalog
/// second, as in `partitions 3 < 6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The cluster has no such topic.
    Missing,
    /// Fewer partitions than the catalog declares: `apply` raises them.
    PartitionsLower { cluster: i32, catalog: i32 },
    /// More partitions than the catalog declares: Kafka cannot lower them.
    PartitionsHigher { cluster: i32, catalog: i32 },
    /// Another replication factor than the catalog declares: not a topic config, `apply`
    /// cannot change it.
    Replication { cluster: i32, catalog: i32 },
    /// A declared topic config with another value on the cluster: `apply` sets it.
    Config {
        key: &'static str,
        cluster: Option<String>,
        catalog: String,
    },
}

/// How `wanted` differs from what the cluster has (`found`), in a fixed order: missing, or
/// partitions, replication, then each config by key.
pub fn drifts(wanted: &WantedTopic, found: Option<&ClusterTopic>) -> Vec<Drift> {
    let Some(found) = found else {
        return vec![Drift::Missing];
    };
    let mut drifts = Vec::new();
    let (cluster, catalog) = (found.partitions, wanted.partitions);
    if cluster < catalog {
        drifts.push(Drift::PartitionsLower { cluster, catalog });
    } else if cluster > catalog {
        drifts.push(Drift::PartitionsHigher { cluster, catalog });
    }
    if let Some(catalog) = wanted.replication.filter(|r| *r != found.replication) {
        let cluster = found.replication;
        drifts.push(Drift::Replication { cluster, catalog });
    }
    for (key, catalog) in &wanted.configs {
        let cluster = found.configs.get(*key).cloned().flatten();
        if !cluster
            .as_deref()
            .is_some_and(|c| same_value(key, c, catalog))
        {
            let catalog = catalog.clone();
            drifts.push(Drift::Config {
                key,
                cluster,
                catalog,
            });
        }
    }
    drifts
}

/// Whether two values of config `key` mean the same: `cleanup.policy` is a list whose order
/// does not matter (`delete,compact` is `compact,delete`).
fn same_value(key: &str, cluster: &str, catalog: &str) -> bool {
    if key != "cleanup.policy" {
        return cluster == catalog;
    }
    let set = |v: &str| {
        let mut items: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
        items.sort();
        items
    };
    set(cluster) == set(catalog)
}

impl Drift {
    /// Whether `streamkit topics apply` can make the cluster match.
    pub fn can_apply(&self) -> bool {
        !matches!(
            self,
            Drift::PartitionsHigher { .. } | Drift::Replication { .. }
        )
    }

    /// `missing`, `partitions 3 < 6`, `retention.ms 86400000 ≠ 604800000`.
    pub fn text(&self) -> String {
        match self {
            Drift::Missing => "missing".to_owned(),
            Drift::PartitionsLower { cluster, catalog } => {
                format!("partitions {cluster} < {catalog}")
            }
            Drift::PartitionsHigher { cluster, catalog } => {
                format!("partitions {cluster} > {catalog}")
            }
            Drift::Replication { cluster, catalog } => format!("replication {cluster} ≠ {catalog}"),
            Drift::Config {
                key,
                cluster,
                catalog,
            } => {
                let cluster = cluster.as_deref().unwrap_or("(not shown)");
                format!("{key} {cluster} ≠ {catalog}")
            }
        }
    }

    /// `{"what": "partitions", "cluster": 3, "catalog": 6, "can_apply": true}`.
    pub fn json(&self) -> Value {
        let mut value = match self {
            Drift::Missing => json!({ "what": "missing" }),
            Drift::PartitionsLower { cluster, catalog }
            | Drift::PartitionsHigher { cluster, catalog } => {
                json!({ "what": "partitions", "cluster": cluster, "catalog": catalog })
            }
            Drift::Replication { cluster, catalog } => {
                json!({ "what": "replication", "cluster": cluster, "catalog": catalog })
            }
            Drift::Config {
                key,
                cluster,
                catalog,
            } => {
                json!({ "what": "config", "key": key, "cluster": cluster, "catalog": catalog })
            }
        };
        value["can_apply"] = self.can_apply().into();
        value
    }
}
