//! `streamkit groups`: consumer groups of the catalog topics and their lag.
//!
//! Committed offsets are read with the group's id but without subscribing: the command never
//! joins the group, so it takes no partitions from a running service, and a stopped service's
//! group (no members) shows its lag all the same.

use std::collections::{HashMap, HashSet};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;

use crate::cli::GroupsArgs;
use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;
use crate::read::reader::Reader;
use crate::read::topics::{METADATA_TIMEOUT, cluster_topics};

/// The state shown for a group the cluster does not describe.
const UNKNOWN_STATE: &str = "unknown";

/// One partition a group has committed an offset on.
struct Row {
    group: String,
    state: String,
    /// `None` when the group's state is not known.
    members: Option<usize>,
    topic: String,
    partition: i32,
    committed: i64,
    end: i64,
}

impl Row {
    /// Records between the committed offset and the end (transaction markers count too).
    fn lag(&self) -> i64 {
        (self.end - self.committed).max(0)
    }
}

/// A row per group and partition: committed offset, end offset, lag; group state and members.
pub async fn run(conn: &Connection, out: Output, args: GroupsArgs) -> Outcome {
    let catalog = conn.catalog()?;
    let declared: HashSet<String> = catalog
        .all_topics()
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    let client = Reader::client(conn)?;
    let partitions = catalog_partitions(&client, &declared)?;
    let mut rows = Vec::new();
    for (name, state, members) in groups(&client, args.group.as_deref())? {
        for (topic, partition, committed) in committed_offsets(conn, &name, &partitions)? {
            let (_, end) = client.fetch_watermarks(&topic, partition, METADATA_TIMEOUT)?;
            rows.push(Row {
                group: name.clone(),
                state: state.clone(),
                members,
                topic,
                partition,
                committed,
                end,
            });
        }
    }
    if rows.is_empty() {
        return nothing_committed(&out, args.group.as_deref());
    }
    print(&out, &rows);
    Ok(())
}

/// Every partition of the catalog topics the cluster has.
fn catalog_partitions(
    client: &BaseConsumer,
    declared: &HashSet<String>,
) -> Result<TopicPartitionList, Failure> {
    let mut list = TopicPartitionList::new();
    for (topic, count) in cluster_topics(client)? {
        if declared.contains(&topic) {
            for partition in 0..count {
                list.add_partition(&topic, partition);
            }
        }
    }
    Ok(list)
}

/// The consumer groups (name, state, member count) the cluster lists, or the one named, by name.
fn groups(
    client: &BaseConsumer,
    only: Option<&str>,
) -> Result<Vec<(String, String, Option<usize>)>, Failure> {
    let list = client.fetch_group_list(only, METADATA_TIMEOUT)?;
    let mut found: Vec<(String, String, Option<usize>)> = list
        .groups()
        .iter()
        .filter(|g| matches!(g.protocol_type(), "consumer" | ""))
        .map(|g| (g.name().to_owned(), g.state().to_owned(), g.members().len()))
        .map(|(name, state, members)| match state.as_str() {
            // The classic group API (all librdkafka lists groups with) answers `Dead` for a
            // group on the consumer rebalance protocol (`group.protocol=consumer`), running or
            // not; its committed offsets are read all the same.
            "Dead" => (name, UNKNOWN_STATE.to_owned(), None),
            _ => (name, state, Some(members)),
        })
        .collect();
    found.sort();
    Ok(found)
}

/// The offsets `group` has committed on `partitions` (topic, partition, offset), read without
/// joining the group.
fn committed_offsets(
    conn: &Connection,
    group: &str,
    partitions: &TopicPartitionList,
) -> Result<Vec<(String, i32, i64)>, Failure> {
    if partitions.count() == 0 {
        return Ok(Vec::new());
    }
    let mut config = conn.reader_config();
    config.set("group.id", group);
    let consumer: BaseConsumer = config.create()?;
    let committed = consumer.committed_offsets(partitions.clone(), METADATA_TIMEOUT)?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(at) => Some((e.topic().to_owned(), e.partition(), at)),
            _ => None,
        })
        .collect())
}

/// No row: a note for all groups, a usage error (exit 2) for one named.
fn nothing_committed(out: &Output, group: Option<&str>) -> Outcome {
    match group {
        None => {
            out.note("no consumer group has committed an offset on a catalog topic");
            Ok(())
        }
        Some(group) => Err(Failure::usage(format!(
            "the consumer group `{group}` has no committed offset on a catalog topic; \
             `streamkit groups` lists the groups that have"
        ))),
    }
}

/// A table for people, a JSON object per row for scripts.
fn print(out: &Output, rows: &[Row]) {
    let headings = [
        "GROUP",
        "STATE",
        "MEMBERS",
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "END",
        "LAG",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.group.clone(),
                r.state.clone(),
                r.members.map_or_else(|| "-".into(), |n| n.to_string()),
                r.topic.clone(),
                r.partition.to_string(),
                r.committed.to_string(),
                r.end.to_string(),
                r.lag().to_string(),
            ]
        })
        .collect();
    let mut widths: HashMap<usize, usize> = HashMap::new();
    for row in std::iter::once(headings.map(String::from)).chain(cells.iter().cloned()) {
        for (i, cell) in row.iter().enumerate() {
            let w = widths.entry(i).or_default();
            *w = (*w).max(cell.len());
        }
    }
    let line = |row: &[String]| {
        let padded: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[&i]))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    if !out.is_json() {
        out.emit(|| line(&headings.map(String::from)), || json!({}));
    }
    for (row, text) in rows.iter().zip(&cells) {
        out.emit(|| line(text), || row_json(row));
    }
}

fn row_json(r: &Row) -> serde_json::Value {
    json!({
        "group": r.group,
        "state": r.state,
        "members": r.members,
        "topic": r.topic,
        "partition": r.partition,
        "committed": r.committed,
        "end": r.end,
        "lag": r.lag(),
    })
}
