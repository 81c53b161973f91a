//! [`Ledger`]: which dead letters of a dead-letter topic were replayed, kept on a compacted
//! topic of its own, `<dead-letter topic>.replayed`.
//!
//! One ledger record per replayed dead letter, keyed `<partition>/<offset>` of the dead letter,
//! its value a JSON object: where it went, when, which original it was and the dead letter's
//! timestamp (a dead letter at the same place in a topic created again is another). The ledger
//! record is written in the same Kafka transaction as the replayed record, so a reader that reads committed
//! sees both or neither: a crash mid-replay leaves no replay the ledger does not know of.
//! `cleanup.policy=compact` (without `delete`) keeps the last record of each key for ever.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use serde_json::{Value, json};

use crate::connection::Connection;
use crate::dlq::letter::Letter;
use crate::failure::Failure;
use crate::read::reader::{Reader, Start};
use crate::read::topics::cluster_topics;

/// The ledger topic of the dead-letter topic `dlq_topic`.
pub fn ledger_topic(dlq_topic: &str) -> String {
    format!("{dlq_topic}.replayed")
}

/// A ledger record's key: the dead letter's `<partition>/<offset>`.
pub fn ledger_key(letter: &Letter) -> String {
    format!("{}/{}", letter.partition(), letter.offset())
}

/// A ledger record's value: where `letter` was replayed to, and when.
pub fn ledger_value(letter: &Letter, replayed_to: &str, at: DateTime<Utc>) -> Vec<u8> {
    let value = json!({
        "replayed_to": replayed_to,
        "at": at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "original": letter.original(),
        "dead_lettered_ms": dead_lettered_ms(letter),
    });
    value.to_string().into_bytes()
}

/// One dead letter's replay, as its ledger record says.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The topic it was published to.
    pub to: String,
    /// When (RFC 3339).
    pub at: String,
    /// The original's coordinates the dead letter carried (`topic/partition@offset`).
    original: String,
    /// The dead letter's timestamp (milliseconds), if it had one.
    dead_lettered_ms: Option<i64>,
}

/// The replays of one dead-letter topic, by the dead letter's partition and offset.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: HashMap<(i32, i64), Replayed>,
}

impl Ledger {
    /// The ledger of `dlq_topic` as committed now (empty when it has none yet).
    pub async fn read(conn: &Connection, dlq_topic: &str) -> Result<Self, Failure> {
        let topic = ledger_topic(dlq_topic);
        let client = Reader::client(conn)?;
        let cluster = cluster_topics(&client)?;
        let mut found = Self::read_all(conn, &cluster, &[dlq_topic.to_owned()]).await?;
        Ok(found.remove(&topic).unwrap_or_default())
    }

    /// The ledgers of `dlq_topics` that `cluster` (the cluster's topics) has, by ledger topic,
    /// read together (each read waits for the ends of its partitions once).
    pub async fn read_all(
        conn: &Connection,
        cluster: &[(String, i32)],
        dlq_topics: &[String],
    ) -> Result<HashMap<String, Self>, Failure> {
        let wanted: Vec<String> = dlq_topics.iter().map(|t| ledger_topic(t)).collect();
        let found: Vec<(String, i32)> = cluster
            .iter()
            .filter(|(t, _)| wanted.contains(t))
            .cloned()
            .collect();
        let mut ledgers: HashMap<String, Self> = HashMap::new();
        if found.is_empty() {
            return Ok(ledgers);
        }
        let mut reader = Reader::open(conn, &found, Start::Beginning, false)?;
        while let Some(message) = reader.next().await {
            let message = message?;
            let key = message.key().map(String::from_utf8_lossy);
            let at = key.as_deref().and_then(parse_key);
            let entry = message.payload().and_then(parse_value);
            if let (Some(at), Some(entry)) = (at, entry) {
                let ledger = ledgers.entry(message.topic().to_owned()).or_default();
                ledger.entries.insert(at, entry);
            }
        }
        Ok(ledgers)
    }

    /// The replay of `letter`, if it was replayed. A ledger record naming another original or
    /// another time is of an earlier topic of the same name (deleted and created again): not
    /// this dead letter.
    pub fn replayed(&self, letter: &Letter) -> Option<&Replayed> {
        self.entries
            .get(&(letter.partition(), letter.offset()))
            .filter(|r| r.original == letter.original())
            .filter(|r| r.dead_lettered_ms == dead_lettered_ms(letter))
    }
}

fn dead_lettered_ms(letter: &Letter) -> Option<i64> {
    letter.view.message.timestamp().to_millis()
}

fn parse_key(key: &str) -> Option<(i32, i64)> {
    let (partition, offset) = key.split_once('/')?;
    Some((partition.parse().ok()?, offset.parse().ok()?))
}

fn parse_value(value: &[u8]) -> Option<Replayed> {
    let value: Value = serde_json::from_slice(value).ok()?;
    let text = |name: &str| value.get(name)?.as_str().map(str::to_owned);
    Some(Replayed {
        to: text("replayed_to")?,
        at: text("at")?,
        original: text("original")?,
        dead_lettered_ms: value.get("dead_lettered_ms").and_then(Value::as_i64),
    })
}

/// Creates the ledger topic of `dlq_topic` unless the cluster has it: one partition,
/// `cleanup.policy=compact`, the cluster's default replication.
pub async fn create_ledger(conn: &Connection, dlq_topic: &str) -> Result<String, Failure> {
    let topic = ledger_topic(dlq_topic);
    let admin: AdminClient<DefaultClientContext> =
        conn.kafka.for_producer().to_client_config().create()?;
    let new =
        NewTopic::new(&topic, 1, TopicReplication::Fixed(-1)).set("cleanup.policy", "compact");
    let timeout = Duration::from_secs(10);
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout + Duration::from_secs(5)));
    for result in admin.create_topics([&new], &options).await? {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => {
                return Err(Failure::cluster(format!(
                    "could not create the replay ledger `{topic}`: {code}; create it with \
                     `cleanup.policy=compact` and one partition, or grant the command's user \
                     the right to create topics"
                )));
            }
        }
    }
    Ok(topic)
}

/// A warning when the ledger topic deletes old records: then entries expire with its retention,
/// and a replay after that publishes those dead letters again.
pub async fn policy_warning(conn: &Connection, topic: &str) -> Option<String> {
    let admin = stream_core::kafka::admin::TopicAdmin::new(&conn.kafka).ok()?;
    let policy = admin.topic_setting(topic, "cleanup.policy").await?;
    policy.contains("delete").then(|| {
        format!(
            "warning: the replay ledger `{topic}` has cleanup.policy={policy}: its entries expire \
             with its retention, and dead letters replayed before that would be replayed again; \
             set cleanup.policy=compact on it"
        )
    })
}
