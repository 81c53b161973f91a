//! [`Letter`]: one record of a dead-letter topic with its `dlq.*` headers read.

use chrono::{DateTime, Utc};
use rdkafka::message::{Message, OwnedMessage};
use serde_json::{Value, json};
use stream_core::reliability::dlq::headers;

use crate::read::view::RecordView;

/// The kind shown for a dead letter without a `dlq.error_kind` header.
pub const UNKNOWN_KIND: &str = "unknown";

/// A dead letter: the record as read, and what its `dlq.*` headers say.
pub struct Letter {
    /// The record, its envelope decoded when it is one.
    pub view: RecordView,
    /// Where the original was read from (`dlq.original_topic`, `_partition`, `_offset`).
    pub original_topic: Option<String>,
    /// The original's partition.
    pub original_partition: Option<i32>,
    /// The original's offset.
    pub original_offset: Option<i64>,
    /// `dlq.error_kind`: `retryable`, `permanent`, `decode`, `contract` or `panic`.
    pub kind: Option<String>,
    /// `dlq.last_failure`.
    pub last_failure: Option<DateTime<Utc>>,
    /// `dlq.value_truncated = true`: a reference dead letter that keeps only the value's start.
    pub truncated: bool,
}

impl Letter {
    /// Reads the `dlq.*` headers of `message`.
    pub fn new(message: OwnedMessage) -> Self {
        let view = RecordView::new(message);
        let time = |name| view.header(name).and_then(|t| parse_rfc3339(&t));
        Self {
            original_topic: view.header(headers::ORIGINAL_TOPIC),
            original_partition: view
                .header(headers::ORIGINAL_PARTITION)
                .and_then(|p| p.parse().ok()),
            original_offset: view
                .header(headers::ORIGINAL_OFFSET)
                .and_then(|o| o.parse().ok()),
            kind: view.header(headers::ERROR_KIND),
            last_failure: time(headers::LAST_FAILURE),
            truncated: view.header(headers::VALUE_TRUNCATED).as_deref() == Some("true"),
            view,
        }
    }

    /// The dead letter's partition in its dead-letter topic.
    pub fn partition(&self) -> i32 {
        self.view.message.partition()
    }

    /// The dead letter's offset in its dead-letter topic.
    pub fn offset(&self) -> i64 {
        self.view.message.offset()
    }

    /// The error kind, [`UNKNOWN_KIND`] without the header.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or(UNKNOWN_KIND)
    }

    /// When it failed last: `dlq.last_failure`, else the dead letter's own timestamp.
    pub fn failed_at(&self) -> Option<DateTime<Utc>> {
        self.last_failure.or_else(|| self.view.time())
    }

    /// Where the original was: `paper.signals.raw/1@17` (`?` for what the headers lack).
    pub fn original(&self) -> String {
        let or_unknown = |v: Option<String>| v.unwrap_or_else(|| "?".into());
        format!(
            "{}/{}@{}",
            or_unknown(self.original_topic.clone()),
            or_unknown(self.original_partition.map(|p| p.to_string())),
            or_unknown(self.original_offset.map(|o| o.to_string())),
        )
    }

    /// Why it was dead-lettered, who gave up and when, then the record's own line (its envelope
    /// or the undecodable value), each on a line of its own.
    pub fn text(&self) -> String {
        let h = |name| self.view.header(name).unwrap_or_else(|| "-".into());
        let mut text = format!(
            "{} {} after {} attempt(s): {}\n  original {}  failed {} .. {}  by {} (group {})",
            self.view.coordinates(),
            self.kind(),
            h(headers::ATTEMPTS),
            h(headers::ERROR),
            self.original(),
            h(headers::FIRST_FAILURE),
            h(headers::LAST_FAILURE),
            h(headers::SERVICE),
            h(headers::GROUP),
        );
        if self.truncated {
            text.push_str(&format!(
                "\n  TRUNCATED: only the value's start is kept ({} bytes originally): {}",
                h(headers::ORIGINAL_VALUE_BYTES),
                h(headers::VALUE_TRUNCATED_REASON),
            ));
        }
        text.push_str("\n  ");
        text.push_str(&self.view.line());
        text
    }

    /// The record's JSON ([`RecordView::to_json`]) with a `dlq` object of its `dlq.*` headers.
    pub fn to_json(&self) -> Value {
        let h = |name| self.view.header(name);
        let mut object = self.view.to_json();
        object["dlq"] = json!({
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": self.original_offset,
            "error": h(headers::ERROR),
            "error_kind": self.kind,
            "attempts": h(headers::ATTEMPTS).and_then(|a| a.parse::<u32>().ok()),
            "first_failure": h(headers::FIRST_FAILURE),
            "last_failure": h(headers::LAST_FAILURE),
            "service": h(headers::SERVICE),
            "group": h(headers::GROUP),
            "value_truncated": self.truncated,
            "original_value_bytes": h(headers::ORIGINAL_VALUE_BYTES).and_then(|b| b.parse::<u64>().ok()),
            "value_truncated_reason": h(headers::VALUE_TRUNCATED_REASON),
        });
        object
    }
}

fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
