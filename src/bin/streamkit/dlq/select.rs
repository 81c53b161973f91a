//! Which dead-letter topic a command names, and which of its dead letters a selection takes.

use rdkafka::consumer::BaseConsumer;

use crate::cli::DlqSelectArgs;
use crate::connection::Connection;
use crate::dlq::letter::Letter;
use crate::failure::Failure;
use crate::progress::progress;
use crate::read::reader::{Reader, Start};
use crate::read::topics::cluster_topics;

/// What every dead-letter topic's name ends with.
pub const DLQ_SUFFIX: &str = ".dlq";

/// The partition count of the dead-letter topic `topic`; a usage error when it is not one or
/// the cluster does not have it.
pub fn dead_letter_topic(client: &BaseConsumer, topic: &str) -> Result<i32, Failure> {
    if !topic.ends_with(DLQ_SUFFIX) {
        return Err(Failure::usage(format!(
            "`{topic}` is not a dead-letter topic (their names end in `{DLQ_SUFFIX}`): \
             name `{topic}{DLQ_SUFFIX}`, or list them with `streamkit dlq list`"
        )));
    }
    cluster_topics(client)?
        .into_iter()
        .find(|(name, _)| name == topic)
        .map(|(_, partitions)| partitions)
        .ok_or_else(|| {
            Failure::usage(format!(
                "the cluster has no topic `{topic}`; `streamkit dlq list` lists the \
                 dead-letter topics it has"
            ))
        })
}

/// Whether `letter` is one that `select` takes: its kind, its last failure's time (the record's
/// timestamp without the header) and its offset.
pub fn selects(select: &DlqSelectArgs, letter: &Letter) -> bool {
    let kind = select
        .error_kind
        .as_deref()
        .is_none_or(|k| letter.kind() == k);
    let failed = letter.failed_at();
    let since = select
        .since
        .is_none_or(|since| failed.is_some_and(|t| t >= since));
    let until = select
        .until
        .is_none_or(|until| failed.is_some_and(|t| t < until));
    let offset = select.offset.is_none_or(|r| r.contains(letter.offset()));
    kind && since && until && offset
}

/// Opens `topic` (with `partitions`) from the first offset `select` can take, to its end
/// offsets now.
pub fn open(
    conn: &Connection,
    topic: &str,
    partitions: i32,
    select: &DlqSelectArgs,
) -> Result<Reader, Failure> {
    let start = match select.offset.and_then(|r| r.start) {
        Some(first) => Start::Offset(first),
        None => Start::Beginning,
    };
    Reader::open(conn, &[(topic.to_owned(), partitions)], start, false)
}

/// Every dead letter of `topic` that `select` takes, with a progress bar while reading.
pub async fn read_selected(
    conn: &Connection,
    topic: &str,
    partitions: i32,
    select: &DlqSelectArgs,
) -> Result<Vec<Letter>, Failure> {
    let mut reader = open(conn, topic, partitions, select)?;
    let bar = progress(reader.total(), &format!("reading {topic}"));
    let mut letters = Vec::new();
    while let Some(message) = reader.next().await {
        bar.inc(1);
        let letter = Letter::new(message?);
        if selects(select, &letter) {
            letters.push(letter);
        }
    }
    bar.finish_and_clear();
    Ok(letters)
}
