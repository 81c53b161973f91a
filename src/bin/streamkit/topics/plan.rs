//! [`TopicPlan`]: each topic the catalog declares, with how the cluster differs from it. Shared
//! by `check`, which reports it, and `apply`, which acts on it.

use serde_json::{Value, json};
use stream_core::kafka::admin::TopicAdmin;

use crate::connection::Connection;
use crate::failure::Failure;
use crate::topics::cluster;
use crate::topics::drift::{Drift, drifts};
use crate::topics::wanted::{WantedTopic, wanted_topics};

/// One wanted topic and how the cluster differs from it.
#[derive(Debug, Clone)]
pub struct TopicPlan {
    pub wanted: WantedTopic,
    pub drifts: Vec<Drift>,
}

/// The plan of every topic of the catalog against the cluster, with the admin client that read
/// it. A bad catalog fails before the cluster is asked anything.
pub async fn plan(conn: &Connection) -> Result<(Vec<TopicPlan>, TopicAdmin), Failure> {
    let catalog = conn.catalog()?;
    let wanted = wanted_topics(&catalog);
    let admin = TopicAdmin::new(&conn.kafka)?;
    let names: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
    let found = cluster::read(&admin, &names).await.map_err(|f| {
        let servers = conn.kafka.bootstrap_servers().unwrap_or("?");
        Failure::cluster(format!(
            "could not read the catalog's topics from the cluster at {servers}: {f}; check \
             KAFKA_BOOTSTRAP_SERVERS (or --bootstrap-servers) and that the cluster is up"
        ))
    })?;
    let plans = wanted
        .into_iter()
        .zip(found)
        .map(|(wanted, found)| TopicPlan {
            drifts: drifts(&wanted, found.as_ref()),
            wanted,
        })
        .collect();
    Ok((plans, admin))
}

impl TopicPlan {
    /// `ok`, `missing` or `drift`.
    pub fn status(&self) -> &'static str {
        match self.drifts.first() {
            None => "ok",
            Some(Drift::Missing) => "missing",
            Some(_) => "drift",
        }
    }

    /// `ok`, or the differences separated by `, `.
    pub fn text(&self) -> String {
        if self.drifts.is_empty() {
            return "ok".to_owned();
        }
        let drifts: Vec<String> = self.drifts.iter().map(Drift::text).collect();
        drifts.join(", ")
    }

    /// `{"topic", "kind", "status", "differences": [...]}`.
    pub fn json(&self) -> Value {
        let differences: Vec<Value> = self.drifts.iter().map(Drift::json).collect();
        json!({
            "topic": self.wanted.name,
            "kind": self.wanted.kind.as_str(),
            "status": self.status(),
            "differences": differences,
        })
    }
}

/// The width of the longest topic name, to align the text output in columns.
pub fn name_width(plans: &[TopicPlan]) -> usize {
    plans.iter().map(|p| p.wanted.name.len()).max().unwrap_or(0)
}
