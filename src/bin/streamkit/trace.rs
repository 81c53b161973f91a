//! `streamkit trace`: every envelope of one correlation id across topics, as a tree of causes.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rdkafka::message::Message;
use serde_json::json;
use uuid::Uuid;

use crate::cli::TraceArgs;
use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;
use crate::progress::progress;
use crate::read::reader::{Reader, Start};
use crate::read::topics::{cluster_topics, matching};
use crate::read::view::RecordView;

/// Reads the topics to their current end and prints the chain of `args.correlation_id`: each
/// envelope under the one that caused it, with the time since its cause.
pub async fn run(conn: &Connection, out: Output, args: TraceArgs) -> Outcome {
    let topics = topics_to_search(conn, args.topics.as_deref())?;
    let start = args.since.map_or(Start::Beginning, Start::Since);
    let mut reader = Reader::open(conn, &topics, start, false)?;
    let bar = progress(reader.total(), "searching");
    let mut chain = Vec::new();
    while let Some(record) = reader.next().await {
        bar.inc(1);
        let view = RecordView::new(record?);
        if view
            .decoded()
            .is_some_and(|e| e.correlation_id == args.correlation_id)
        {
            chain.push(view);
        }
    }
    bar.finish_and_clear();
    if chain.is_empty() {
        return Err(Failure::found(format!(
            "no envelope of correlation id {} on {} topic(s)",
            args.correlation_id,
            topics.len()
        )));
    }
    print_tree(out, &Tree::new(chain));
    Ok(())
}

/// `pattern`'s topics, or every catalog topic on the cluster with its dead-letter topic.
fn topics_to_search(
    conn: &Connection,
    pattern: Option<&str>,
) -> Result<Vec<(String, i32)>, Failure> {
    let client = Reader::client(conn)?;
    if let Some(pattern) = pattern {
        return matching(&client, pattern);
    }
    let catalog = conn.catalog()?;
    let wanted: BTreeSet<String> = catalog
        .all_topics()
        .iter()
        .flat_map(|t| [t.to_string(), format!("{t}.dlq")])
        .collect();
    let found: Vec<(String, i32)> = cluster_topics(&client)?
        .into_iter()
        .filter(|(name, _)| wanted.contains(name))
        .collect();
    if found.is_empty() {
        return Err(Failure::usage(
            "none of the catalog's topics is on the cluster; name topics with --topics",
        ));
    }
    Ok(found)
}

/// The envelopes of one chain, each under its cause.
struct Tree {
    records: Vec<RecordView>,
    /// Indexes into `records` of the envelopes each envelope id caused, oldest first.
    children: HashMap<Uuid, Vec<usize>>,
    /// Envelopes whose cause is not in the chain (the first one, or a cause not found).
    roots: Vec<usize>,
}

impl Tree {
    fn new(mut records: Vec<RecordView>) -> Self {
        records.sort_by_key(|r| r.decoded().map(|e| e.timestamp));
        let ids: BTreeSet<Uuid> = records
            .iter()
            .filter_map(|r| r.decoded())
            .map(|e| e.id)
            .collect();
        let mut children: HashMap<Uuid, Vec<usize>> = HashMap::new();
        let mut roots = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let envelope = record.decoded().expect("only envelopes are in a chain");
            match envelope.causation_id {
                Some(cause) if cause != envelope.id && ids.contains(&cause) => {
                    children.entry(cause).or_default().push(i)
                }
                _ => roots.push(i),
            }
        }
        Self {
            records,
            children,
            roots,
        }
    }
}

fn print_tree(out: Output, tree: &Tree) {
    // Depth first, oldest child first: (index, depth, the cause's time).
    let mut stack: Vec<(usize, usize, Option<DateTime<Utc>>)> =
        tree.roots.iter().rev().map(|&i| (i, 0, None)).collect();
    let mut printed = HashSet::new();
    while let Some((i, depth, cause_time)) = stack.pop() {
        let record = &tree.records[i];
        let envelope = record.decoded().expect("an envelope");
        let hop_ms = cause_time
            .map(|t| (envelope.timestamp - t).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        // The same envelope id on a second record: a redelivery, whose effects are already
        // printed under the first.
        let repeated = !printed.insert(envelope.id);
        out.emit(
            || line(record, depth, hop_ms, repeated),
            || {
                json!({
                    "depth": depth,
                    "hop_ms": hop_ms,
                    "duplicate": repeated,
                    "topic": record.message.topic(),
                    "partition": record.message.partition(),
                    "offset": record.message.offset(),
                    "envelope": envelope,
                })
            },
        );
        if repeated {
            continue;
        }
        for &child in tree.children.get(&envelope.id).into_iter().flatten().rev() {
            stack.push((child, depth + 1, Some(envelope.timestamp)));
        }
    }
}

/// `  └─ +3.2 ms paper.signals.validated/1@40 validated_signal 0193… (risk-manager) {...}`
fn line(record: &RecordView, depth: usize, hop_ms: Option<f64>, repeated: bool) -> String {
    let envelope = record.decoded().expect("an envelope");
    let indent = if depth == 0 {
        String::new()
    } else {
        format!("{}└─ ", "   ".repeat(depth - 1))
    };
    let hop = hop_ms.map_or_else(
        || {
            envelope
                .timestamp
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        },
        |ms| format!("+{ms:.1} ms"),
    );
    let duplicate = if repeated {
        " (again: a duplicate delivery)"
    } else {
        ""
    };
    format!(
        "{indent}{hop} {} {} id={} ({}){duplicate} {}",
        record.coordinates(),
        envelope.event_type,
        envelope.id,
        envelope.source,
        envelope.data.get()
    )
}
