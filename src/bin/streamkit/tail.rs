//! `streamkit tail`: records of topics as they arrive, decoded; undecodable ones shown as such.

use crate::cli::{FilterArgs, TailArgs};
use crate::connection::Connection;
use crate::failure::Outcome;
use crate::output::Output;
use crate::progress::progress;
use crate::read::reader::{Reader, Start};
use crate::read::topics::matching;
use crate::read::view::RecordView;

/// Prints every record of the topics `args.topic` names that passes the filters, from the
/// chosen start, until `--limit`, the end offsets at start (`--no-follow`), or Ctrl-C.
pub async fn run(conn: &Connection, out: Output, args: TailArgs) -> Outcome {
    let client = Reader::client(conn)?;
    let topics = matching(&client, &args.topic)?;
    let start = start_of(&args);
    let mut reader = Reader::open(conn, &topics, start, !args.no_follow)?;
    let partitions: i32 = topics.iter().map(|(_, n)| n).sum();
    let until = if args.no_follow {
        "to the current end"
    } else {
        "until Ctrl-C"
    };
    out.note(&format!(
        "tail: reading {partitions} partition(s) of {} topic(s) {until}",
        topics.len()
    ));
    // Counts the records between the start and the end seen at open; gone once caught up.
    let catch_up = progress(reader.total(), "reading");
    let mut shown = 0;
    while args.limit.is_none_or(|limit| shown < limit) {
        let Some(record) = reader.next().await else {
            break;
        };
        let view = RecordView::new(record?);
        catch_up.inc(1);
        if catch_up.position() >= reader.total() {
            catch_up.finish_and_clear();
        }
        if passes(&view, &args.filter) {
            catch_up.suspend(|| out.emit(|| view.line(), || view.to_json()));
            shown += 1;
        }
    }
    catch_up.finish_and_clear();
    Ok(())
}

fn start_of(args: &TailArgs) -> Start {
    match (args.from_beginning, args.offset, args.since) {
        (true, _, _) => Start::Beginning,
        (_, Some(n), _) => Start::Offset(n),
        (_, _, Some(time)) => Start::Since(time),
        _ => Start::End,
    }
}

/// Whether a record passes the filters. An undecodable record has no correlation id or event
/// type, and is shown whatever those filters say: it may be the broken record being looked for.
pub fn passes(view: &RecordView, filter: &FilterArgs) -> bool {
    if let Some(key) = &filter.key
        && view.key().as_deref() != Some(key.as_str())
    {
        return false;
    }
    let Some(envelope) = view.decoded() else {
        return true;
    };
    filter
        .correlation
        .is_none_or(|c| envelope.correlation_id == c)
        && filter
            .event_type
            .as_deref()
            .is_none_or(|t| envelope.event_type.as_str() == t)
}
