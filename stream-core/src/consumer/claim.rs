//! Dedup around a message: its key, claiming its event id before the handler runs, renewing
//! the claim before a retry, giving it up when the handler fails.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use foldhash::HashSet;

use crate::consumer::partition::PartitionControl;
use crate::consumer::pipeline::Pipeline;
use crate::consumer::stats::ConsumerStats;
use crate::kafka::record::RecordMeta;
use crate::reliability::dedup::{Claim, DedupError, DedupKey, DedupStore, UnavailablePolicy};

/// This run's claim on a message's event id in the dedup store: what to mark done once it is
/// handled, or to give up when its handler fails.
pub(super) type Claimed<'a> = Option<(&'a Arc<dyn DedupStore>, &'a DedupKey)>;

/// `key` (a worker's reused dedup key) for `event_id` from `meta`'s namespace.
pub(super) fn dedup_key<'k>(
    key: &'k mut Option<DedupKey>,
    pipeline: &Pipeline,
    meta: &RecordMeta,
    event_id: uuid::Uuid,
) -> &'k DedupKey {
    let key = key.get_or_insert_with(|| {
        DedupKey::new(
            pipeline.options.service.as_str(),
            pipeline.group.as_str(),
            meta.broker.as_str(),
            event_id,
        )
    });
    key.event_id = event_id;
    key
}

/// What claiming a message's event id decided.
pub(super) enum ClaimStep {
    /// Run the handler; `dedup` is false when the store could not answer and the policy says to
    /// handle anyway (nothing to mark or release then).
    Run { dedup: bool },
    /// Done already (or being settled here): skip it.
    Skip,
    /// The partition stopped first.
    Stopped,
}

/// Claims the event id of `key` before its handler runs: skips a done id, waits while another
/// consumer holds it, and follows the unavailable-store policy while the store cannot answer.
pub(super) async fn claim_event(
    store: &dyn DedupStore,
    key: &DedupKey,
    meta: &RecordMeta,
    part: &PartitionControl,
    pipeline: &Pipeline,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
) -> ClaimStep {
    // Handled already, its published records still in flight: a duplicate.
    if unsettled
        .lock()
        .expect("unsettled ids")
        .contains(&key.event_id)
    {
        ConsumerStats::bump(&pipeline.stats.deduplicated);
        tracing::debug!("duplicate skipped");
        return ClaimStep::Skip;
    }
    let (mut pause, mut held) = (Duration::from_millis(100), Duration::from_millis(50));
    loop {
        let wait = match crate::reliability::dedup::claim(store, key, &pipeline.claimer).await {
            Ok(Claim::Acquired) => return ClaimStep::Run { dedup: true },
            Ok(Claim::Done) => {
                ConsumerStats::bump(&pipeline.stats.deduplicated);
                tracing::debug!("duplicate skipped");
                return ClaimStep::Skip;
            }
            Ok(Claim::Held) => {
                tracing::info!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, event_id = %key.event_id, wait = ?held, "event claimed by another consumer; waiting until it is done or the claim lapses");
                held = (held * 2).min(Duration::from_secs(1));
                held / 2
            }
            Err(error) => match pipeline.options.dedup_policy {
                UnavailablePolicy::ProcessAnyway => {
                    ConsumerStats::bump(&pipeline.stats.dedup_unavailable);
                    tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, %error, "dedup store unavailable; handling without dedup");
                    return ClaimStep::Run { dedup: false };
                }
                UnavailablePolicy::Pause => {
                    tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, %error, wait = ?pause, "dedup store unavailable; partition paused until it answers");
                    pause = (pause * 2).min(Duration::from_secs(5));
                    pause / 2
                }
            },
        };
        if !part.sleep(wait).await || pipeline.stop.is_requested() {
            return ClaimStep::Stopped;
        }
    }
}

/// Gives up this run's claim on a message whose handler failed or was stopped, so that a
/// redelivery, here or elsewhere, runs it without waiting for the lease.
pub(super) async fn release_claim(claimed: Claimed<'_>, pipeline: &Pipeline) {
    if let Some((store, key)) = claimed
        && let Err(error) = store.release(key, &pipeline.claimer).await
    {
        tracing::warn!(event_id = %key.event_id, %error, "could not release the event's dedup claim; it lapses after the store's lease");
    }
}

/// Renews this run's claim before a retry. False when another consumer holds the event now.
pub(super) async fn renew_claim(claimed: Claimed<'_>, pipeline: &Pipeline) -> bool {
    let Some((store, key)) = claimed else {
        return true;
    };
    !matches!(
        crate::reliability::dedup::claim(store.as_ref(), key, &pipeline.claimer).await,
        Ok(Claim::Held)
    )
}

/// Finishes a handled message: counts it, and marks its event done in the dedup store when this
/// run claimed it. How a handled message is finished, at once or once settled, but for a run of
/// them settled together (`settle::settle_clean_run`).
pub(super) async fn mark_handled(claimed: Claimed<'_>, pipeline: &Pipeline) {
    ConsumerStats::bump(&pipeline.stats.handled);
    if let Some((store, key)) = claimed {
        mark_one(store.as_ref(), key, pipeline).await;
    }
}

/// Marks `key`'s event done in `store`; a failure is counted and logged.
pub(super) async fn mark_one(store: &dyn DedupStore, key: &DedupKey, pipeline: &Pipeline) {
    if let Err(error) = crate::reliability::dedup::mark_done(store, key).await {
        unmarked(key, &error, pipeline);
    }
}

/// `key`'s event could not be marked done: counted and logged.
pub(super) fn unmarked(key: &DedupKey, error: &DedupError, pipeline: &Pipeline) {
    ConsumerStats::bump(&pipeline.stats.dedup_unavailable);
    tracing::warn!(event_id = %key.event_id, %error, "could not mark the event done in the dedup store");
}
