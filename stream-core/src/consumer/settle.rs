//! Settling: a handled message whose handler published records is finished once they are all
//! acknowledged, or dead-lettered if one fails.

use std::sync::{Arc, Mutex};
use std::task::Poll;

use chrono::Utc;
use foldhash::HashSet;
use uuid::Uuid;

use crate::consumer::claim::{dedup_key, mark_handled, mark_one, release_claim, unmarked};
use crate::consumer::dead_letter::{DeadLetterCause, dead_letter};
use crate::consumer::partition::PartitionControl;
use crate::consumer::pipeline::Pipeline;
use crate::consumer::stats::ConsumerStats;
use crate::handler::Incoming;
use crate::kafka::record::RecordMeta;
use crate::reliability::dedup::{DedupKey, DedupStore};

/// A handled message waiting for the records its handler published.
pub(super) struct Unsettled {
    pub(super) held: Held,
    /// Its deliveries, in publish order: those before `resolved` have resolved.
    pub(super) deliveries: crate::handler::Deliveries,
    pub(super) resolved: usize,
    /// The first of them that failed. Boxed: an unsettled message is moved several times on its
    /// way through the worker, and a failure is rare.
    pub(super) failure: Option<Box<crate::kafka::producer::ProduceError>>,
    /// Whether to mark the event done in the dedup store once they are acknowledged.
    pub(super) dedup: bool,
    pub(super) attempts: u32,
}

/// What a handled message keeps while the records its handler published are in flight: its
/// record (what the dead letter of a failed delivery carries) and its event id. The rest (the
/// decoded envelope, the handler's producer and trace) is freed as the handler returns, while
/// it is still in this core's cache; only a message whose context the handler kept (in a task
/// it spawned) is held whole.
pub(super) enum Held {
    Record { record: RecordMeta, event_id: Uuid },
    Whole(Arc<Incoming>),
}

impl Held {
    pub(super) fn new(incoming: Arc<Incoming>) -> Self {
        let event_id = incoming.envelope.id;
        match Arc::try_unwrap(incoming) {
            Ok(incoming) => Held::Record {
                record: incoming.into_record(),
                event_id,
            },
            Err(shared) => Held::Whole(shared),
        }
    }

    pub(super) fn record(&self) -> &RecordMeta {
        match self {
            Held::Record { record, .. } => record,
            Held::Whole(incoming) => &incoming.record,
        }
    }

    pub(super) fn event_id(&self) -> Uuid {
        match self {
            Held::Record { event_id, .. } => *event_id,
            Held::Whole(incoming) => incoming.envelope.id,
        }
    }
}

impl Unsettled {
    /// Takes in the deliveries that have resolved, in order; ready once all have.
    pub(super) fn poll_delivered(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        while let Some(delivery) = self.deliveries.get_mut(self.resolved) {
            let result = std::task::ready!(std::pin::Pin::new(delivery).poll(cx));
            self.resolved += 1;
            if let Err(error) = result {
                self.failure.get_or_insert_with(|| Box::new(error));
            }
        }
        Poll::Ready(())
    }

    /// Whether every delivery has resolved, without waiting or asking to be woken.
    pub(super) fn delivered_now(&mut self) -> bool {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        self.poll_delivered(&mut cx).is_ready()
    }
}

/// Marks a message whose deliveries have all resolved done; a failed delivery sends the message
/// to the dead-letter topic instead. True when finished, false when stopped first.
pub(super) async fn settle(
    u: Unsettled,
    part: &PartitionControl,
    pipeline: &Pipeline,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    key: &mut Option<DedupKey>,
) -> bool {
    let Unsettled {
        held,
        deliveries,
        resolved,
        failure,
        dedup,
        attempts,
    } = u;
    debug_assert!(
        resolved == deliveries.len(),
        "settled before its deliveries resolved"
    );
    let claimed = pipeline
        .options
        .dedup
        .as_ref()
        .filter(|_| dedup)
        .map(|store| {
            (
                store,
                dedup_key(key, pipeline, held.record(), held.event_id()),
            )
        });
    let finished = match failure {
        None => {
            mark_handled(claimed, pipeline).await;
            true
        }
        Some(error) => {
            let error = crate::handler::extract::handler_error(*error);
            let now = Utc::now();
            let r = held.record();
            tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, event_id = %held.event_id(), %error, "a record the handler published was not delivered; dead-lettering");
            release_claim(claimed, pipeline).await;
            let cause = DeadLetterCause {
                error: format!(
                    "a record the handler published was not delivered: {}",
                    error.source_error()
                ),
                kind: error.kind(),
                attempts,
                first_failure: now,
                last_failure: now,
            };
            dead_letter(r, cause, part, pipeline).await
        }
    };
    unsettled
        .lock()
        .expect("unsettled ids")
        .remove(&held.event_id());
    finished
}

/// A handled message of a clean run, as [`settle_clean_run`] keeps it once its record is
/// released: its offset, its event id, and whether its event is marked done.
pub(super) type Settled = (i64, Uuid, bool);

/// Settles a run of handled messages, oldest first, whose deliveries all succeeded: marks
/// their events done (in one call when the dedup store answers at once: one lock for the run
/// instead of one per message, on a map every partition's worker shares), then finishes their
/// offsets. `done` is the worker's buffer for the run.
pub(super) async fn settle_clean_run(
    run: impl Iterator<Item = Unsettled>,
    part: &PartitionControl,
    pipeline: &Pipeline,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    key: &mut Option<DedupKey>,
    done: &mut Vec<Settled>,
) {
    done.clear();
    let store = pipeline.options.dedup.as_ref();
    for u in run {
        debug_assert!(u.failure.is_none() && u.resolved == u.deliveries.len());
        let id = u.held.event_id();
        if u.dedup && store.is_some() && key.is_none() {
            dedup_key(key, pipeline, u.held.record(), id);
        }
        done.push((u.held.record().offset, id, u.dedup));
    }
    if let (Some(store), Some(key)) = (store, key.as_mut()) {
        mark_run(store.as_ref(), key, done, pipeline).await;
    }
    ConsumerStats::add(&pipeline.stats.handled, done.len() as u64);
    let mut ids = unsettled.lock().expect("unsettled ids");
    for (_, id, _) in done.iter() {
        ids.remove(id);
    }
    drop(ids);
    part.finish_all(done.iter().map(|(offset, _, _)| *offset));
}

/// Marks the events of `done` that were claimed done in `store`, at once when it can.
async fn mark_run(
    store: &dyn DedupStore,
    key: &mut DedupKey,
    done: &[Settled],
    pipeline: &Pipeline,
) {
    let ids: smallvec::SmallVec<[Uuid; 64]> = done
        .iter()
        .filter(|(_, _, dedup)| *dedup)
        .map(|(_, id, _)| *id)
        .collect();
    if ids.is_empty() {
        return;
    }
    let result = match store.mark_many_done_now(key, &ids) {
        Some(result) => result,
        None => {
            for &id in &ids {
                key.event_id = id;
                mark_one(store, key, pipeline).await;
            }
            return;
        }
    };
    if let Err(error) = result {
        for &id in &ids {
            key.event_id = id;
            unmarked(key, &error, pipeline);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Held;
    use crate::envelope::codec::RawEnvelope;
    use crate::handler::Incoming;
    use crate::kafka::record::RecordMeta;
    use crate::topic::Broker;

    fn incoming() -> Arc<Incoming> {
        let value = br#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","broker":"paper","event_type":"heartbeat","source":"s","timestamp":"2026-11-26T19:28:45Z","data":1}"#;
        let envelope = RawEnvelope::decode(value).unwrap();
        let record = RecordMeta::new("paper.ticks.raw", Broker::new("paper").unwrap(), 2, 41);
        Arc::new(Incoming::new(envelope, record, None))
    }

    #[test]
    fn a_handled_message_keeps_only_its_record_and_id() {
        let held = Held::new(incoming());
        assert!(matches!(held, Held::Record { .. }));
        assert_eq!(held.record().offset, 41);
        assert_eq!(
            held.event_id().to_string(),
            "0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11"
        );
    }

    #[test]
    fn a_message_whose_context_the_handler_kept_is_held_whole() {
        let incoming = incoming();
        let kept = Arc::clone(&incoming);
        let held = Held::new(incoming);
        assert!(matches!(held, Held::Whole(_)));
        assert_eq!(held.record().offset, 41);
        assert_eq!(held.event_id(), kept.envelope.id);
    }
}
