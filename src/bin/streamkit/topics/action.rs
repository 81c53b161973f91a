//! [`Action`]: one change `apply` makes to a topic (or refuses to make), from its plan.

use serde_json::{Value, json};

use crate::topics::drift::Drift;
use crate::topics::plan::TopicPlan;
use crate::topics::wanted::WantedTopic;

/// One change to the cluster, or one the catalog asks for that cannot be made.
#[derive(Debug, Clone)]
pub enum Action {
    /// Create the topic with its partitions, replication and configs.
    Create(WantedTopic),
    /// Raise the partition count.
    RaisePartitions { topic: String, from: i32, to: i32 },
    /// Set declared configs: `(key, cluster value, catalog value)`.
    SetConfigs {
        topic: String,
        changes: Vec<(&'static str, Option<String>, String)>,
    },
    /// Not done, and why.
    Refuse {
        topic: String,
        drift: String,
        why: String,
    },
}

/// What `apply` does about `plan`'s differences.
pub fn actions(plan: &TopicPlan) -> Vec<Action> {
    let topic = plan.wanted.name.clone();
    let mut actions = Vec::new();
    let mut changes = Vec::new();
    for drift in &plan.drifts {
        match drift {
            Drift::Missing => actions.push(Action::Create(plan.wanted.clone())),
            Drift::PartitionsLower { cluster, catalog } => actions.push(Action::RaisePartitions {
                topic: topic.clone(),
                from: *cluster,
                to: *catalog,
            }),
            Drift::Config {
                key,
                cluster,
                catalog,
            } => changes.push((*key, cluster.clone(), catalog.clone())),
            refused => actions.push(Action::Refuse {
                topic: topic.clone(),
                drift: refused.text(),
                why: why_refused(refused).to_owned(),
            }),
        }
    }
    if !changes.is_empty() {
        actions.push(Action::SetConfigs { topic, changes });
    }
    actions
}

fn why_refused(drift: &Drift) -> &'static str {
    match drift {
        Drift::PartitionsHigher { .. } => {
            "Kafka cannot lower a partition count (a key's records would change partition); \
             raise the catalog's `partitions`, or delete and recreate the topic, losing its \
             records"
        }
        Drift::Replication { .. } => {
            "the replication factor is set at creation and is not a topic config; move replicas \
             with kafka-reassign-partitions, or change the catalog's `replication`"
        }
        _ => "",
    }
}

impl Action {
    /// Whether it is a refusal rather than a change.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Action::Refuse { .. })
    }

    /// `create  paper.orders.filled  6 partitions, replication 1, retention.ms=604800000`.
    pub fn text(&self, width: usize) -> String {
        let (verb, topic, what) = match self {
            Action::Create(w) => ("create", &w.name, creation_text(w)),
            Action::RaisePartitions { topic, from, to } => {
                ("raise", topic, format!("partitions {from} → {to}"))
            }
            Action::SetConfigs { topic, changes } => {
                let set: Vec<String> = changes
                    .iter()
                    .map(|(k, was, now)| format!("{k} {} → {now}", was.as_deref().unwrap_or("?")))
                    .collect();
                ("set", topic, set.join(", "))
            }
            Action::Refuse { topic, drift, why } => ("refuse", topic, format!("{drift}: {why}")),
        };
        format!("{verb:<6}  {topic:<width$}  {what}")
    }

    /// One JSON object: `{"action", "topic", ...}`, with `"done"` saying whether it was made.
    pub fn json(&self, done: bool) -> Value {
        let mut value = match self {
            Action::Create(w) => {
                let configs: serde_json::Map<String, Value> = w
                    .configs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), json!(v)))
                    .collect();
                json!({
                    "action": "create", "topic": w.name, "partitions": w.partitions,
                    "replication": w.replication, "configs": configs,
                })
            }
            Action::RaisePartitions { topic, from, to } => {
                json!({ "action": "raise_partitions", "topic": topic, "from": from, "to": to })
            }
            Action::SetConfigs { topic, changes } => {
                let configs: Vec<Value> = changes
                    .iter()
                    .map(|(k, was, now)| json!({ "key": k, "from": was, "to": now }))
                    .collect();
                json!({ "action": "set_configs", "topic": topic, "configs": configs })
            }
            Action::Refuse { topic, drift, why } => {
                json!({ "action": "refuse", "topic": topic, "difference": drift, "why": why })
            }
        };
        value["done"] = done.into();
        value
    }
}

fn creation_text(w: &WantedTopic) -> String {
    let replication = w
        .replication
        .map_or("the cluster's default replication".to_owned(), |r| {
            format!("replication {r}")
        });
    let configs = w.configs.iter().map(|(k, v)| format!(", {k}={v}"));
    format!(
        "{} partitions, {replication}{}",
        w.partitions,
        configs.collect::<String>()
    )
}
