//! One message's life: decode and check the envelope, claim its event id, run the handler with
//! retries, then finish it, leave it to settle, or dead-letter it.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use foldhash::HashSet;
use futures::FutureExt;

use crate::consumer::claim::{
    ClaimStep, Claimed, claim_event, dedup_key, mark_handled, release_claim, renew_claim,
};
use crate::consumer::dead_letter::{DeadLetterCause, dead_letter};
use crate::consumer::observe;
use crate::consumer::partition::{PartitionControl, QueuedRecord};
use crate::consumer::pipeline::Pipeline;
use crate::consumer::running::RunningIds;
use crate::consumer::settle::{Held, Unsettled};
use crate::consumer::stats::ConsumerStats;
use crate::consumer::transaction::Transaction;
use crate::envelope::codec::RawEnvelope;
use crate::error::Error;
use crate::handler::{ErrorKind, HandlerError, Incoming};
use crate::kafka::record::RecordMeta;
use crate::reliability::contract;
use crate::reliability::dedup::DedupKey;

/// How processing a record ended.
// Returned once per message and moved straight into the worker's queue of unsettled messages:
// boxing the large variant would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
pub(super) enum Outcome {
    /// Finished: handled, deduplicated or dead-lettered.
    Finished,
    /// Handled, with records it published still to be acknowledged.
    Unsettled(Unsettled),
    /// The partition stopped first; the record is not finished.
    Stopped,
}

impl Outcome {
    /// A dead letter written (or skipped by configuration) finishes the message; one that was
    /// not leaves it unfinished.
    fn dead_lettered(written: bool) -> Self {
        if written {
            Outcome::Finished
        } else {
            Outcome::Stopped
        }
    }
}

/// Takes one record through its life: decode and check it, claim its event id, run the handler
/// (with retries), then finish it, leave it to settle, or dead-letter it. A concurrent worker
/// gives the ids it is running: a second delivery of one of them waits for the first.
pub(super) async fn process(
    record: QueuedRecord,
    part: &PartitionControl,
    pipeline: &Pipeline,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    running: Option<&RunningIds>,
    key: &mut Option<DedupKey>,
) -> Outcome {
    let QueuedRecord { meta } = record;
    let envelope = match decode_checked(&meta, pipeline) {
        Ok(envelope) => envelope,
        Err(cause) => {
            tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, error = %cause.error, kind = cause.kind.as_str(), "record refused before its handler");
            return Outcome::dead_lettered(dead_letter(&meta, cause, part, pipeline).await);
        }
    };
    record_ids_on_span(&envelope);
    let _running = match running.filter(|_| pipeline.options.dedup.is_some()) {
        Some(running) => match running.enter(envelope.id, part).await {
            Some(entered) => Some(entered),
            None => return Outcome::Stopped,
        },
        None => None,
    };
    let store_key = pipeline
        .options
        .dedup
        .as_ref()
        .map(|store| (store, dedup_key(key, pipeline, &meta, envelope.id)));
    let mut dedup_usable = true;
    if let Some((store, key)) = &store_key {
        match claim_event(store.as_ref(), key, &meta, part, pipeline, unsettled).await {
            ClaimStep::Run { dedup } => dedup_usable = dedup,
            ClaimStep::Skip => return Outcome::Finished,
            ClaimStep::Stopped => return Outcome::Stopped,
        }
    }
    let claimed = store_key.filter(|_| dedup_usable);
    let incoming = Incoming::new(envelope, meta, Some(pipeline.producer.clone()));
    let incoming = Arc::new(match pipeline.transaction {
        Some(_) => incoming.with_outbox(),
        None => incoming,
    });
    match run_handler(&incoming, claimed, part, pipeline).await {
        Ok(attempts) => after_handler(incoming, claimed, attempts, unsettled, pipeline).await,
        Err(outcome) => outcome,
    }
}

/// The record's envelope, or why it cannot go to the handler: it has no value (a tombstone), it
/// does not decode, or it breaks its topic's contract.
pub(super) fn decode_checked(
    meta: &RecordMeta,
    pipeline: &Pipeline,
) -> Result<RawEnvelope, DeadLetterCause> {
    let Some(value) = meta.value() else {
        let error = "the record has no value (a tombstone), so no envelope to handle";
        return Err(DeadLetterCause::refused(
            error.to_owned(),
            ErrorKind::Decode,
        ));
    };
    let envelope = RawEnvelope::decode(value)
        .map_err(|e| DeadLetterCause::refused(e.to_string(), ErrorKind::Decode))?;
    contract::check(&envelope, meta, pipeline.handler.event_types(&meta.topic))
        .map_err(|v| DeadLetterCause::refused(v.to_string(), ErrorKind::Contract))?;
    Ok(envelope)
}

/// Names the message's event and chain on its span, when the span is on.
fn record_ids_on_span(envelope: &RawEnvelope) {
    let span = tracing::Span::current();
    if !span.is_disabled() {
        span.record("event_id", tracing::field::display(envelope.id));
        span.record(
            "correlation_id",
            tracing::field::display(envelope.correlation_id),
        );
    }
}

/// Calls the handler until it succeeds (`Ok` with the attempts made), retrying retryable errors
/// per the retry policy; `Err` with the outcome when the message ended otherwise (dead-lettered,
/// stopped, or left to the consumer that claimed it meanwhile).
pub(super) async fn run_handler(
    incoming: &Arc<Incoming>,
    claimed: Claimed<'_>,
    part: &PartitionControl,
    pipeline: &Pipeline,
) -> Result<u32, Outcome> {
    let mut attempts = 0u32;
    // When the first attempt failed, by the wall clock (for the dead letter's headers) and by the
    // monotonic one (for the retry budget, which counts from the first failure). Read only once
    // something failed: a message handled at the first attempt reads no clock here.
    let mut first_failure: Option<(chrono::DateTime<Utc>, Instant)> = None;
    loop {
        attempts += 1;
        let started = Instant::now();
        let result = AssertUnwindSafe(pipeline.handler.call(Arc::clone(incoming)))
            .catch_unwind()
            .await;
        observe::handler_returned(pipeline, incoming, started, matches!(result, Ok(Ok(()))));
        let error = match result {
            Ok(Ok(())) => return Ok(attempts),
            Ok(Err(e)) => e,
            Err(panic) => HandlerError::panic(panic_text(&panic)),
        };
        if let Some(outbox) = incoming.outbox() {
            // A failed attempt's publishes never reach the transaction.
            outbox.clear();
            drop(incoming.take_deferred());
        }
        let now = Utc::now();
        let (first, first_at) = *first_failure.get_or_insert_with(|| (now, Instant::now()));
        let r = &incoming.record;
        if !(error.is_retryable()
            && pipeline
                .options
                .retry
                .should_retry(attempts, first_at.elapsed()))
        {
            tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, event_id = %incoming.envelope.id, attempts, %error, "handler failed; dead-lettering");
            release_claim(claimed, pipeline).await;
            let cause = gave_up(&error, attempts, first, now);
            return Err(Outcome::dead_lettered(
                dead_letter(r, cause, part, pipeline).await,
            ));
        }
        observe::retried(pipeline, error.kind());
        let delay = pipeline.options.retry.delay(attempts);
        tracing::info!(topic = %r.topic, partition = r.partition, offset = r.offset, event_id = %incoming.envelope.id, attempt = attempts, %error, ?delay, "handler failed; retrying");
        if !part.sleep(delay).await {
            release_claim(claimed, pipeline).await;
            return Err(Outcome::Stopped);
        }
        if !renew_claim(claimed, pipeline).await {
            tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, event_id = %incoming.envelope.id, "another consumer claimed the event while its handler was failing here; leaving it to that consumer");
            ConsumerStats::bump(&pipeline.stats.deduplicated);
            return Err(Outcome::Finished);
        }
    }
}

/// The dead letter of a message whose handler failed for good.
pub(super) fn gave_up(
    error: &HandlerError,
    attempts: u32,
    first: chrono::DateTime<Utc>,
    last: chrono::DateTime<Utc>,
) -> DeadLetterCause {
    DeadLetterCause {
        error: error.source_error().to_string(),
        kind: error.kind(),
        // A payload that does not decode never reached the handler's code: like an envelope
        // that does not decode, it counts no attempt.
        attempts: if error.kind() == ErrorKind::Decode {
            0
        } else {
            attempts
        },
        first_failure: first,
        last_failure: last,
    }
}

/// A handled message: finished now, or once the records its handler published (every
/// attempt's) are acknowledged.
async fn after_handler(
    incoming: Arc<Incoming>,
    claimed: Claimed<'_>,
    attempts: u32,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    pipeline: &Pipeline,
) -> Outcome {
    if let Some(transaction) = &pipeline.transaction {
        return Box::pin(into_transaction(&incoming, transaction, pipeline)).await;
    }
    let deliveries = incoming.take_deferred();
    if deliveries.is_empty() {
        mark_handled(claimed, pipeline).await;
        return Outcome::Finished;
    }
    if claimed.is_some() {
        unsettled
            .lock()
            .expect("unsettled ids")
            .insert(incoming.envelope.id);
    }
    Outcome::Unsettled(Unsettled {
        held: Held::new(incoming),
        deliveries,
        resolved: 0,
        failure: None,
        dedup: claimed.is_some(),
        attempts,
    })
}

/// Exactly-once: hands what the handler staged to the open transaction; the message is finished
/// then (its records commit with its offset, or neither does). A record that librdkafka does not
/// take leaves the transaction unsafe to commit: it is aborted, and the consumer stops.
async fn into_transaction(
    incoming: &Incoming,
    transaction: &Transaction,
    pipeline: &Pipeline,
) -> Outcome {
    drop(incoming.take_deferred());
    let Some(outbox) = incoming.outbox() else {
        return Outcome::Finished;
    };
    for record in outbox.take() {
        if let Err(error) = pipeline.producer.enqueue_staged(record).await {
            transaction.poison(Error::Produce(error));
            return Outcome::Stopped;
        }
    }
    ConsumerStats::bump(&pipeline.stats.handled);
    Outcome::Finished
}

pub(super) fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        format!("handler panicked: {s}")
    } else if let Some(s) = panic.downcast_ref::<String>() {
        format!("handler panicked: {s}")
    } else {
        "handler panicked".to_owned()
    }
}
