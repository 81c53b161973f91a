//! `streamkit dlq show`: dead letters with their headers.

use crate::cli::DlqShowArgs;
use crate::connection::Connection;
use crate::dlq::letter::Letter;
use crate::dlq::select::{dead_letter_topic, open, selects};
use crate::failure::Outcome;
use crate::output::Output;
use crate::read::reader::Reader;

/// Prints the selected dead letters of the topic, in each partition's order, up to `--limit`.
pub async fn run(conn: &Connection, out: Output, args: DlqShowArgs) -> Outcome {
    let client = Reader::client(conn)?;
    let partitions = dead_letter_topic(&client, &args.topic)?;
    let mut reader = open(conn, &args.topic, partitions, &args.select)?;
    let mut shown = 0u64;
    while args.limit.is_none_or(|limit| shown < limit) {
        let Some(message) = reader.next().await else {
            break;
        };
        let letter = Letter::new(message?);
        if !selects(&args.select, &letter) {
            continue;
        }
        out.emit(|| letter.text(), || letter.to_json());
        shown += 1;
    }
    if !out.is_json() {
        out.note(&format!("{shown} dead letter(s) shown from {}", args.topic));
    }
    Ok(())
}
