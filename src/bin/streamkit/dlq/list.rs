//! `streamkit dlq list`: dead-letter topics and their failures.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::Message;
use serde_json::json;

use crate::cli::DlqListArgs;
use crate::connection::Connection;
use crate::dlq::ledger::{Ledger, ledger_topic};
use crate::dlq::letter::Letter;
use crate::dlq::select::DLQ_SUFFIX;
use crate::failure::{Failure, Outcome};
use crate::output::Output;
use crate::progress::progress;
use crate::read::reader::{Reader, Start};
use crate::read::topics::{cluster_topics, matching};

/// What one dead-letter topic holds.
#[derive(Debug, Default)]
struct Summary {
    dead_letters: u64,
    by_kind: BTreeMap<String, u64>,
    oldest: Option<DateTime<Utc>>,
    newest: Option<DateTime<Utc>>,
    replayed: u64,
}

impl Summary {
    fn add(&mut self, letter: &Letter, ledger: Option<&Ledger>) {
        self.dead_letters += 1;
        *self.by_kind.entry(letter.kind().to_owned()).or_default() += 1;
        if let Some(at) = letter.failed_at() {
            self.oldest = Some(self.oldest.map_or(at, |t| t.min(at)));
            self.newest = Some(self.newest.map_or(at, |t| t.max(at)));
        }
        if ledger.is_some_and(|l| l.replayed(letter).is_some()) {
            self.replayed += 1;
        }
    }
}

/// One line per dead-letter topic: how many dead letters, by error kind, the oldest and newest
/// failure, and how many were replayed.
pub async fn run(conn: &Connection, out: Output, args: DlqListArgs) -> Outcome {
    let client = Reader::client(conn)?;
    let all = cluster_topics(&client)?;
    let topics = dead_letter_topics(&client, &all, args.pattern.as_deref())?;
    if topics.is_empty() {
        let what = args.pattern.as_deref().unwrap_or("the cluster's topics");
        out.note(&format!("no dead-letter topic for {what}"));
        return Ok(());
    }
    let names: Vec<String> = topics.iter().map(|(t, _)| t.clone()).collect();
    let ledgers = Ledger::read_all(conn, &all, &names).await?;
    let mut summaries = summarize(conn, &topics, &ledgers).await?;
    let width = topics.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    for (topic, _) in &topics {
        let summary = summaries.remove(topic).unwrap_or_default();
        out.emit(|| text(topic, width, &summary), || to_json(topic, &summary));
    }
    Ok(())
}

/// The dead-letter topics on the cluster (`pattern`: those of the topics it matches, or the
/// dead-letter topics it matches itself), with their partition counts.
fn dead_letter_topics(
    client: &BaseConsumer,
    all: &[(String, i32)],
    pattern: Option<&str>,
) -> Result<Vec<(String, i32)>, Failure> {
    let Some(pattern) = pattern else {
        let dlq = all.iter().filter(|(name, _)| name.ends_with(DLQ_SUFFIX));
        return Ok(dlq.cloned().collect());
    };
    let wanted: Vec<String> = matching(client, pattern)?
        .into_iter()
        .map(|(name, _)| match name.ends_with(DLQ_SUFFIX) {
            true => name,
            false => format!("{name}{DLQ_SUFFIX}"),
        })
        .collect();
    let found = all.iter().filter(|(name, _)| wanted.contains(name));
    Ok(found.cloned().collect())
}

/// Reads every dead letter of `topics`, with a progress bar.
async fn summarize(
    conn: &Connection,
    topics: &[(String, i32)],
    ledgers: &HashMap<String, Ledger>,
) -> Result<HashMap<String, Summary>, Failure> {
    let mut reader = Reader::open(conn, topics, Start::Beginning, false)?;
    let bar = progress(reader.total(), "reading dead letters");
    let mut summaries: HashMap<String, Summary> = HashMap::new();
    while let Some(message) = reader.next().await {
        bar.inc(1);
        let letter = Letter::new(message?);
        let topic = letter.view.message.topic().to_owned();
        let ledger = ledgers.get(&ledger_topic(&topic));
        summaries.entry(topic).or_default().add(&letter, ledger);
    }
    bar.finish_and_clear();
    Ok(summaries)
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| "-".into())
}

/// `paper.signals.raw.dlq  12 dead letters  permanent=10 decode=2  oldest ... newest ...`
fn text(topic: &str, width: usize, s: &Summary) -> String {
    let kinds: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{k}={n}")).collect();
    let kinds = if kinds.is_empty() {
        "-".to_owned()
    } else {
        kinds.join(" ")
    };
    format!(
        "{topic:width$}  {:>6} dead letters  {kinds}  oldest {}  newest {}  replayed {}",
        s.dead_letters,
        time(s.oldest),
        time(s.newest),
        s.replayed
    )
}

fn to_json(topic: &str, s: &Summary) -> serde_json::Value {
    json!({
        "topic": topic,
        "dead_letters": s.dead_letters,
        "by_error_kind": s.by_kind,
        "oldest_failure": s.oldest.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "newest_failure": s.newest.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "replayed": s.replayed,
    })
}
