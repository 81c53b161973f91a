//! Dead-lettering a message, with bounded retries of the write; a message that cannot be
//! dead-lettered stops the consumer.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::consumer::partition::PartitionControl;
use crate::consumer::pipeline::Pipeline;
use crate::consumer::stats::ConsumerStats;
use crate::error::Error;
use crate::handler::ErrorKind;
use crate::kafka::record::RecordMeta;
use crate::reliability::dlq::{DeadLetter, WriteError, Written};

/// The wait before a failed dead-letter write is tried again; it doubles up to 10 s.
const FIRST_PAUSE: Duration = Duration::from_millis(200);

/// Why a message goes to the dead-letter topic: the dead letter's error headers.
pub(super) struct DeadLetterCause {
    /// What failed.
    pub(super) error: String,
    pub(super) kind: ErrorKind,
    /// Handler attempts made (0 when the record never reached the handler).
    pub(super) attempts: u32,
    pub(super) first_failure: DateTime<Utc>,
    pub(super) last_failure: DateTime<Utc>,
}

impl DeadLetterCause {
    /// A record refused before its handler ran: no attempt, failed once, now.
    pub(super) fn refused(error: String, kind: ErrorKind) -> Self {
        let now = Utc::now();
        Self {
            error,
            kind,
            attempts: 0,
            first_failure: now,
            last_failure: now,
        }
    }
}

/// Writes a dead letter (the record as received: key, value, headers; or a reference to it when
/// it does not fit). True when written (or dead-lettering is off and the message is skipped);
/// false when the partition stopped first or the write failed for good, which stops the
/// consumer ([`fail_consumer`]).
///
/// Boxed, like [`PartitionControl::sleep`]: a message's future holds it only when it is needed,
/// instead of every message's future carrying its state (the record's copy of headers, the write
/// to the dead-letter topic) unused.
pub(super) fn dead_letter<'a>(
    meta: &'a RecordMeta,
    cause: DeadLetterCause,
    part: &'a PartitionControl,
    pipeline: &'a Pipeline,
) -> futures::future::BoxFuture<'a, bool> {
    Box::pin(write_dead_letter(meta, cause, part, pipeline))
}

async fn write_dead_letter(
    meta: &RecordMeta,
    cause: DeadLetterCause,
    part: &PartitionControl,
    pipeline: &Pipeline,
) -> bool {
    let DeadLetterCause {
        error,
        kind,
        attempts,
        first_failure,
        last_failure,
    } = cause;
    let Some(writer) = &pipeline.dlq else {
        tracing::error!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, %error, "message skipped (dead-letter topics are off)");
        return true;
    };
    let letter = DeadLetter {
        topic: &meta.topic,
        partition: meta.partition,
        offset: meta.offset,
        key: meta.key(),
        value: meta.value(),
        headers: &meta.headers().to_vec(),
        error,
        kind,
        attempts,
        first_failure,
        last_failure,
    };
    let deadline = Instant::now() + pipeline.options.dlq_write_timeout;
    let mut pause = FIRST_PAUSE;
    loop {
        let failure = match writer.write(&letter).await {
            Ok(written) => {
                if let Written::Reference { reason } = written {
                    tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, %reason, "record too large to dead-letter whole; wrote a reference dead letter (the original stays at its offset)");
                }
                ConsumerStats::bump(&pipeline.stats.dead_lettered);
                crate::consumer::observe::dead_lettered(pipeline, kind);
                return true;
            }
            Err(failure) => failure,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if !failure.retryable || left.is_zero() {
            fail_consumer(meta, failure, pipeline);
            return false;
        }
        // Logged once a message (with its coordinates); the retries that follow at DEBUG.
        if pause == FIRST_PAUSE {
            tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, error = %failure, retry_for = ?left, "dead-letter write failed; the offset stays uncommitted and the write is retried (retries are logged at DEBUG)");
        } else {
            tracing::debug!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, error = %failure, retry_for = ?left, "dead-letter write failed again");
        }
        if !part.sleep(pause.min(left)).await {
            return false;
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// A message could not be dead-lettered: stop the consumer, loudly, rather than skip the
/// message or let its partition wait in silence. Its offset stays unfinished, so nothing from it
/// on is committed; `run` returns [`Error::DeadLetter`] and liveness fails
/// ([`ConsumerStats::dead_letter_failures`]).
pub(super) fn fail_consumer(meta: &RecordMeta, failure: WriteError, pipeline: &Pipeline) {
    ConsumerStats::bump(&pipeline.stats.dead_letter_failures);
    tracing::error!(group = %pipeline.group, topic = %meta.topic, partition = meta.partition, offset = meta.offset, error = %failure, "could not dead-letter a message; stopping the consumer (nothing from this offset on is committed)");
    let error = Error::DeadLetter {
        topic: meta.topic.to_string(),
        partition: meta.partition,
        offset: meta.offset,
        reason: failure.reason,
    };
    pipeline
        .failure
        .lock()
        .expect("failure")
        .get_or_insert(error);
    pipeline.stop.shutdown();
}
