//! What a replay prints: one line per selected dead letter with what became of it, and the
//! counts at the end.

use serde_json::{Value, json};

use crate::dlq::ledger::Replayed;
use crate::dlq::letter::Letter;
use crate::failure::{Failure, Outcome};
use crate::output::Output;

/// What became of one dead letter.
pub enum Fate<'a> {
    /// Published to this topic.
    Replayed(&'a str),
    /// `--dry-run`: would be published to this topic.
    WouldReplay(&'a str),
    /// Skipped: replayed already.
    Skipped(&'a Replayed),
    /// Not replayed, for this reason.
    NotReplayed(&'a str),
}

/// The counts of one replay run.
#[derive(Debug, Default)]
pub struct Report {
    dry_run: bool,
    replayed: u64,
    skipped: u64,
    not_replayed: u64,
}

impl Report {
    /// An empty report; `dry_run` words it as what would happen.
    pub fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            ..Self::default()
        }
    }

    /// Prints what became of `letter` of `dlq_topic` and counts it.
    pub fn record(&mut self, out: &Output, dlq_topic: &str, letter: &Letter, fate: Fate<'_>) {
        let at = format!("{dlq_topic}/{}@{}", letter.partition(), letter.offset());
        let (action, text, extra) = match fate {
            Fate::Replayed(to) => {
                self.replayed += 1;
                (
                    "replayed",
                    format!("replayed      {at} -> {to}"),
                    json!({ "to": to }),
                )
            }
            Fate::WouldReplay(to) => {
                self.replayed += 1;
                let text = format!("would replay  {at} -> {to}");
                ("would_replay", text, json!({ "to": to }))
            }
            Fate::Skipped(done) => {
                self.skipped += 1;
                let text = format!(
                    "skipped       {at}: replayed already, to {} at {}",
                    done.to, done.at
                );
                let extra = json!({ "to": done.to, "replayed_at": done.at });
                ("skipped", text, extra)
            }
            Fate::NotReplayed(reason) => {
                self.not_replayed += 1;
                let text = format!("not replayed  {at}: {reason}");
                ("not_replayed", text, json!({ "reason": reason }))
            }
        };
        let event = letter.view.decoded().map(|e| e.id.to_string());
        let text = format!(
            "{text}  ({}, original {}, event {})",
            letter.kind(),
            letter.original(),
            event.as_deref().unwrap_or("-")
        );
        out.emit(|| text, || line_json(dlq_topic, letter, action, extra));
    }

    /// Prints the counts on stderr; a failure (exit 1) when some dead letter was not replayed.
    pub fn finish(self, out: &Output) -> Outcome {
        let (replayed, skipped, cannot) = match self.dry_run {
            true => ("would replay", "would skip", "cannot be replayed"),
            false => ("replayed", "skipped", "not replayed"),
        };
        out.note(&format!(
            "{replayed} {}, {skipped} {} already replayed, {} {cannot}",
            self.replayed, self.skipped, self.not_replayed
        ));
        if self.not_replayed == 0 {
            return Ok(());
        }
        Err(Failure::found(format!(
            "{} of the {} selected dead letters {cannot}; the `not replayed` lines say why",
            self.not_replayed,
            self.replayed + self.skipped + self.not_replayed
        )))
    }
}

fn line_json(dlq_topic: &str, letter: &Letter, action: &str, extra: Value) -> Value {
    let mut object = json!({
        "dlq_topic": dlq_topic,
        "partition": letter.partition(),
        "offset": letter.offset(),
        "action": action,
        "error_kind": letter.kind(),
        "original": letter.original(),
        "event_id": letter.view.decoded().map(|e| e.id.to_string()),
    });
    if let (Some(fields), Value::Object(more)) = (object.as_object_mut(), extra) {
        fields.extend(more);
    }
    object
}
