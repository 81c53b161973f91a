//! A batch partition worker: the partition's records handed to a
//! [`BatchHandler`](crate::handler::BatchHandler) in batches, in offset order.
//!
//! A batch is up to `max` records, taken as they come for at most `linger` after its first. Each
//! record is decoded, checked and claimed in the dedup store as one handled alone would be (one
//! refused is dead-lettered alone, one done already is skipped), then the batch is handled:
//!
//! - the records the [`BatchResult`] does not mark failed are finished: marked done, their
//!   offsets committable;
//! - a record marked retryable is retried alone (a batch of one), with the retry policy, then
//!   dead-lettered; one marked permanent is dead-lettered at once, alone;
//! - `Err` from the whole batch retries the whole batch per the retry policy; what still fails
//!   dead-letters each of its records, with the error and the attempts made.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use foldhash::HashSet;
use futures::FutureExt;
use tokio::sync::mpsc;

use crate::consumer::claim::{ClaimStep, Claimed, claim_event, mark_handled, release_claim};
use crate::consumer::dead_letter::dead_letter;
use crate::consumer::message::{Outcome, decode_checked, gave_up, panic_text, run_handler};
use crate::consumer::options::BatchOptions;
use crate::consumer::partition::{PartitionControl, QueuedRecord};
use crate::consumer::pipeline::Pipeline;
use crate::consumer::stats::ConsumerStats;
use crate::handler::{BatchHandler, BatchResult, HandlerError, Incoming};
use crate::reliability::dedup::DedupKey;

/// A record of a batch, decoded and claimed.
struct Member {
    incoming: Arc<Incoming>,
    /// Its dedup key, when this run claimed it.
    key: Option<DedupKey>,
}

impl Member {
    fn claimed<'a>(&'a self, pipeline: &'a Pipeline) -> Claimed<'a> {
        pipeline.options.dedup.as_ref().zip(self.key.as_ref())
    }
}

pub(super) async fn run_batch_worker(
    mut rx: mpsc::Receiver<QueuedRecord>,
    part: Arc<PartitionControl>,
    pipeline: Arc<Pipeline>,
) {
    let (part, pipeline) = (&*part, &*pipeline);
    let options = pipeline.options.batch.unwrap_or_default();
    let handler = Arc::clone(pipeline.handler.batch().expect("a batch handler"));
    loop {
        let Some(records) = next_batch(&mut rx, options).await else {
            break;
        };
        if part.is_stopped() || !handle_batch(records, &*handler, part, pipeline).await {
            break;
        }
    }
}

/// The next batch: its first record, then what comes within `linger`, up to `max`. None once
/// the queue is closed.
async fn next_batch(
    rx: &mut mpsc::Receiver<QueuedRecord>,
    options: BatchOptions,
) -> Option<Vec<QueuedRecord>> {
    let first = rx.recv().await?;
    let deadline = tokio::time::Instant::now() + options.linger;
    let mut records = vec![first];
    while records.len() < options.max.max(1) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(record)) => records.push(record),
            Ok(None) | Err(_) => break,
        }
    }
    Some(records)
}

/// Takes one batch through its life. False when the partition stopped first (what is not
/// finished is delivered again).
async fn handle_batch(
    records: Vec<QueuedRecord>,
    handler: &dyn BatchHandler,
    part: &PartitionControl,
    pipeline: &Pipeline,
) -> bool {
    let Some(members) = admit(records, part, pipeline).await else {
        return false;
    };
    if members.is_empty() {
        return true;
    }
    let mut result = match call_with_retries(&members, handler, part, pipeline).await {
        Ok(result) => result,
        Err(None) => return false,
        Err(Some((error, attempts, first))) => {
            return dead_letter_all(&members, &error, attempts, first, part, pipeline).await;
        }
    };
    let mut failed = Vec::new();
    for (i, member) in members.iter().enumerate() {
        match result.take(i) {
            None => {
                mark_handled(member.claimed(pipeline), pipeline).await;
                part.finish(member.incoming.record.offset);
            }
            Some(error) => failed.push((member, error)),
        }
    }
    for (member, error) in failed {
        if !settle_failed(member, error, part, pipeline).await {
            return false;
        }
    }
    true
}

/// Decodes, checks and claims each record: those refused are dead-lettered, those done already
/// finished; the rest make the batch. None when the partition stopped first.
async fn admit(
    records: Vec<QueuedRecord>,
    part: &PartitionControl,
    pipeline: &Pipeline,
) -> Option<Vec<Member>> {
    // A batch worker has no records in flight between batches: nothing to settle.
    let unsettled = Mutex::new(HashSet::<uuid::Uuid>::default());
    let mut members = Vec::with_capacity(records.len());
    for QueuedRecord { meta } in records {
        let envelope = match decode_checked(&meta, pipeline) {
            Ok(envelope) => envelope,
            Err(cause) => {
                tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, error = %cause.error, kind = cause.kind.as_str(), "record refused before its handler");
                if !dead_letter(&meta, cause, part, pipeline).await {
                    return None;
                }
                part.finish(meta.offset);
                continue;
            }
        };
        let mut key = None;
        if let Some(store) = &pipeline.options.dedup {
            let k = DedupKey::new(
                pipeline.options.service.as_str(),
                pipeline.group.as_str(),
                meta.broker.as_str(),
                envelope.id,
            );
            match claim_event(store.as_ref(), &k, &meta, part, pipeline, &unsettled).await {
                ClaimStep::Run { dedup } => key = dedup.then_some(k),
                ClaimStep::Skip => {
                    part.finish(meta.offset);
                    continue;
                }
                ClaimStep::Stopped => return None,
            }
        }
        let incoming = Incoming::new(envelope, meta, Some(pipeline.producer.clone()));
        members.push(Member {
            incoming: Arc::new(incoming),
            key,
        });
    }
    Some(members)
}

/// What a whole batch that failed for good leaves: the error, the attempts made, and when the
/// first failed.
type GaveUp = (HandlerError, u32, chrono::DateTime<Utc>);

/// Calls the batch handler until it returns a result, retrying a retryable `Err` per the retry
/// policy. `Err(None)` when the partition stopped first.
async fn call_with_retries(
    members: &[Member],
    handler: &dyn BatchHandler,
    part: &PartitionControl,
    pipeline: &Pipeline,
) -> Result<BatchResult, Option<GaveUp>> {
    let mut attempts = 0u32;
    let mut first_failure: Option<(chrono::DateTime<Utc>, Instant)> = None;
    loop {
        attempts += 1;
        let batch = members.iter().map(|m| Arc::clone(&m.incoming)).collect();
        let error = match AssertUnwindSafe(handler.call_batch(batch))
            .catch_unwind()
            .await
        {
            Ok(Ok(result)) => return Ok(result),
            Ok(Err(error)) => error,
            Err(panic) => HandlerError::panic(panic_text(&panic)),
        };
        let (first, first_at) = *first_failure.get_or_insert_with(|| (Utc::now(), Instant::now()));
        let retry = &pipeline.options.retry;
        let first_record = &members[0].incoming.record;
        if !(error.is_retryable() && retry.should_retry(attempts, first_at.elapsed())) {
            tracing::warn!(topic = %first_record.topic, partition = first_record.partition, offset = first_record.offset, records = members.len(), attempts, %error, "batch handler failed; dead-lettering each record");
            return Err(Some((error, attempts, first)));
        }
        ConsumerStats::bump(&pipeline.stats.retried);
        let delay = retry.delay(attempts);
        tracing::info!(topic = %first_record.topic, partition = first_record.partition, offset = first_record.offset, records = members.len(), attempt = attempts, %error, ?delay, "batch handler failed; retrying the batch");
        if !part.sleep(delay).await {
            for member in members {
                release_claim(member.claimed(pipeline), pipeline).await;
            }
            return Err(None);
        }
    }
}

/// The whole batch failed for good: each of its records is dead-lettered, with the batch's
/// error and attempts. False when the partition stopped first.
async fn dead_letter_all(
    members: &[Member],
    error: &HandlerError,
    attempts: u32,
    first: chrono::DateTime<Utc>,
    part: &PartitionControl,
    pipeline: &Pipeline,
) -> bool {
    let last = Utc::now();
    for member in members {
        release_claim(member.claimed(pipeline), pipeline).await;
        let cause = gave_up(error, attempts, first, last);
        if !dead_letter(&member.incoming.record, cause, part, pipeline).await {
            return false;
        }
        part.finish(member.incoming.record.offset);
    }
    true
}

/// A record the batch result marked failed: retried alone when retryable (the batch handler
/// with a batch of one, per the retry policy), dead-lettered alone otherwise. False when the
/// partition stopped first.
async fn settle_failed(
    member: &Member,
    error: HandlerError,
    part: &PartitionControl,
    pipeline: &Pipeline,
) -> bool {
    let (claimed, record) = (member.claimed(pipeline), &member.incoming.record);
    if !error.is_retryable() {
        tracing::warn!(topic = %record.topic, partition = record.partition, offset = record.offset, %error, "record failed in its batch; dead-lettering it");
        release_claim(claimed, pipeline).await;
        let now = Utc::now();
        if !dead_letter(record, gave_up(&error, 1, now, now), part, pipeline).await {
            return false;
        }
        part.finish(record.offset);
        return true;
    }
    ConsumerStats::bump(&pipeline.stats.retried);
    tracing::info!(topic = %record.topic, partition = record.partition, offset = record.offset, %error, "record failed in its batch; retrying it alone");
    if !part.sleep(pipeline.options.retry.delay(1)).await {
        release_claim(claimed, pipeline).await;
        return false;
    }
    match run_handler(&member.incoming, claimed, part, pipeline).await {
        Ok(_attempts) => mark_handled(claimed, pipeline).await,
        Err(Outcome::Finished) => {}
        Err(Outcome::Stopped | Outcome::Unsettled(_)) => return false,
    }
    part.finish(record.offset);
    true
}
