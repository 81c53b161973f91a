//! [`WantedTopic`]: what the catalog declares for one topic of the cluster.

use stream_core::kafka::admin::{Replication, TopicCreation};
use stream_core::reliability::dlq::dlq_topic;
use stream_core::topic::Catalog;

/// Whether a topic is declared by name or is the dead-letter topic of one that is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    /// `[topics."<name>"]` on one broker namespace.
    Declared,
    /// `<topic>.dlq` of a declared topic with `dlq_retention`.
    DeadLetter,
}

impl TopicKind {
    /// `topic` or `dead_letter`, as JSON output names it.
    pub fn as_str(self) -> &'static str {
        match self {
            TopicKind::Declared => "topic",
            TopicKind::DeadLetter => "dead_letter",
        }
    }
}

/// One topic as the catalog wants it on the cluster.
#[derive(Debug, Clone)]
pub struct WantedTopic {
    /// The full name (`paper.signals.raw`, `paper.signals.raw.dlq`).
    pub name: String,
    pub kind: TopicKind,
    pub partitions: i32,
    /// `None` leaves it to the cluster (and then it is not checked).
    pub replication: Option<i32>,
    /// The topic configs the catalog declares, sorted by key.
    pub configs: Vec<(&'static str, String)>,
}

impl WantedTopic {
    /// What the admin client needs to create it.
    pub fn creation(&self) -> TopicCreation {
        TopicCreation {
            name: self.name.clone(),
            partitions: self.partitions,
            replication: self
                .replication
                .map_or(Replication::ClusterDefault, Replication::Fixed),
            configs: self
                .configs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }
}

/// Every catalog topic on every broker namespace (in the catalog's order), each followed by its
/// dead-letter topic when it declares `dlq_retention`. A dead-letter topic has the partitions
/// and replication of the topic it serves (as services create it), and only its retention set.
pub fn wanted_topics(catalog: &Catalog) -> Vec<WantedTopic> {
    let mut wanted = Vec::new();
    for topic in catalog.all_topics() {
        let Some(spec) = catalog.spec_of(&topic) else {
            continue;
        };
        let declared = WantedTopic {
            name: topic.to_string(),
            kind: TopicKind::Declared,
            partitions: spec.partitions(),
            replication: spec.replication(),
            configs: spec.topic_configs(),
        };
        let dead_letter = spec.dlq_retention().map(|_| WantedTopic {
            name: dlq_topic(topic.as_str()),
            kind: TopicKind::DeadLetter,
            configs: spec.dlq_topic_configs(),
            ..declared.clone()
        });
        wanted.push(declared);
        wanted.extend(dead_letter);
    }
    wanted
}
