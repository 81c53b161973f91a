//! Settling: a handled message whose handler published records is finished once they are all
//! acknowledged, or dead-lettered if one fails.

use std::sync::{Arc, Mutex};
use std::task::Poll;

use chrono::Utc;
use foldhash::HashSet;

use crate::consumer::claim::{dedup_key, mark_handled, release_claim};
use crate::consumer::dead_letter::{DeadLetterCause, dead_letter};
use crate::consumer::partition::PartitionControl;
use crate::consumer::pipeline::Pipeline;
use crate::handler::Incoming;
use crate::reliability::dedup::DedupKey;

/// A handled message waiting for the records its handler published.
pub(super) struct Unsettled {
    pub(super) incoming: Arc<Incoming>,
    /// Its deliveries, in publish order: those before `resolved` have resolved.
    pub(super) deliveries: crate::handler::Deliveries,
    pub(super) resolved: usize,
    /// The first of them that failed.
    pub(super) failure: Option<crate::kafka::producer::ProduceError>,
    /// Whether to mark the event done in the dedup store once they are acknowledged.
    pub(super) dedup: bool,
    pub(super) attempts: u32,
}

impl Unsettled {
    /// Takes in the deliveries that have resolved, in order; ready once all have.
    pub(super) fn poll_delivered(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        while let Some(delivery) = self.deliveries.get_mut(self.resolved) {
            let result = std::task::ready!(std::pin::Pin::new(delivery).poll(cx));
            self.resolved += 1;
            if let Err(error) = result {
                self.failure.get_or_insert(error);
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
        incoming,
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
                dedup_key(key, pipeline, &incoming.record, incoming.envelope.id),
            )
        });
    let finished = match failure {
        None => {
            mark_handled(claimed, pipeline).await;
            true
        }
        Some(error) => {
            let error = crate::handler::extract::handler_error(error);
            let now = Utc::now();
            let r = &incoming.record;
            tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, event_id = %incoming.envelope.id, %error, "a record the handler published was not delivered; dead-lettering");
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
        .remove(&incoming.envelope.id);
    finished
}
