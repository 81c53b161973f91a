//! `streamkit dlq replay`: re-publish dead letters once each.
//!
//! Each replayed record goes out in a Kafka transaction with its record in the topic's replay
//! ledger ([`ledger`](crate::dlq::ledger)); the ledger is read, committed records only, after
//! the replay's transactional producer has fenced any earlier one. So a dead letter the ledger
//! lists was replayed exactly once, one it does not list was not replayed at all (an aborted
//! or interrupted transaction shows neither), and a second run replays only the rest.

use std::collections::HashSet;

use chrono::Utc;

use crate::cli::DlqReplayArgs;
use crate::connection::Connection;
use crate::dlq::ledger::{Ledger, create_ledger, ledger_key, ledger_value, policy_warning};
use crate::dlq::letter::Letter;
use crate::dlq::plan::{Decision, Planner};
use crate::dlq::replay_record::ReplayRecord;
use crate::dlq::report::{Fate, Report};
use crate::dlq::select::{dead_letter_topic, read_selected};
use crate::dlq::transaction::{BatchError, Replay, ReplayWriter};
use crate::failure::{Failure, Outcome};
use crate::output::Output;
use crate::progress::progress;
use crate::read::reader::Reader;
use crate::read::topics::cluster_topics;

/// Dead letters published in one transaction.
const BATCH: usize = 100;

/// Replays the selected dead letters not replayed yet (`--dry-run`: says what it would do).
pub async fn run(conn: &Connection, out: Output, args: DlqReplayArgs) -> Outcome {
    let client = Reader::client(conn)?;
    let partitions = dead_letter_topic(&client, &args.topic)?;
    let topics: HashSet<String> = cluster_topics(&client)?
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    let letters = read_selected(conn, &args.topic, partitions, &args.select).await?;
    if letters.is_empty() {
        out.note(&format!("no dead letter of {} is selected", args.topic));
        return Ok(());
    }
    let writer = match args.dry_run {
        true => None,
        false => Some(open_writer(conn, &out, &args.topic).await?),
    };
    let ledger = Ledger::read(conn, &args.topic).await?;
    let planner = Planner {
        ledger: &ledger,
        to: args.to.as_deref(),
        topics: &topics,
    };
    let decisions: Vec<Decision> = letters.iter().map(|l| planner.decide(l)).collect();
    let mut report = Report::new(args.dry_run);
    let mut pending = Vec::new();
    for (letter, decision) in letters.iter().zip(&decisions) {
        match decision {
            Decision::Replay { to } if writer.is_none() => {
                report.record(&out, &args.topic, letter, Fate::WouldReplay(to));
            }
            Decision::Replay { to } => pending.push((letter, to.as_str())),
            Decision::Replayed(done) => {
                report.record(&out, &args.topic, letter, Fate::Skipped(done))
            }
            Decision::Cannot(why) => {
                report.record(&out, &args.topic, letter, Fate::NotReplayed(why))
            }
        }
    }
    if let Some(writer) = &writer {
        publish(writer, &out, &args.topic, &pending, &mut report).await?;
    }
    report.finish(&out)
}

/// The replay's writer, its ledger created first if missing (a warning when the ledger
/// forgets entries).
async fn open_writer(
    conn: &Connection,
    out: &Output,
    dlq_topic: &str,
) -> Result<ReplayWriter, Failure> {
    let ledger_topic = create_ledger(conn, dlq_topic).await?;
    if let Some(warning) = policy_warning(conn, &ledger_topic).await {
        out.note(&warning);
    }
    ReplayWriter::open(conn, dlq_topic, &ledger_topic).await
}

/// Publishes `pending` in transactions of [`BATCH`], printing each one's fate. A batch with a
/// refused record is published again one dead letter a transaction, so that only the refused
/// one is left out.
async fn publish(
    writer: &ReplayWriter,
    out: &Output,
    dlq_topic: &str,
    pending: &[(&Letter, &str)],
    report: &mut Report,
) -> Outcome {
    let bar = progress(pending.len() as u64, &format!("replaying {dlq_topic}"));
    for batch in pending.chunks(BATCH) {
        let refused = match writer.write(&replays(dlq_topic, batch)).await {
            Ok(()) => None,
            Err(BatchError::Refused(why)) => Some(why),
            Err(BatchError::Fatal(failure)) => return Err(failure),
        };
        for one in batch {
            let why = match &refused {
                None => None,
                Some(why) if batch.len() == 1 => Some(why.clone()),
                Some(_) => match writer
                    .write(&replays(dlq_topic, std::slice::from_ref(one)))
                    .await
                {
                    Ok(()) => None,
                    Err(BatchError::Refused(why)) => Some(why),
                    Err(BatchError::Fatal(failure)) => return Err(failure),
                },
            };
            let (letter, to) = *one;
            let fate = match &why {
                None => Fate::Replayed(to),
                Some(why) => Fate::NotReplayed(why),
            };
            report.record(out, dlq_topic, letter, fate);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// The replays of `batch`, stamped now.
fn replays(dlq_topic: &str, batch: &[(&Letter, &str)]) -> Vec<Replay> {
    let at = Utc::now();
    batch
        .iter()
        .map(|(letter, to)| Replay {
            record: ReplayRecord::new(letter, dlq_topic, to, at),
            ledger_key: ledger_key(letter),
            ledger_value: ledger_value(letter, to, at),
        })
        .collect()
}
