//! A partition's worker: a tokio task that takes the partition's records one by one through
//! [`process`](crate::consumer::message::process), and settles handled messages, oldest first,
//! as the records their handlers published are acknowledged.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use foldhash::HashSet;
use tokio::sync::{RwLockReadGuard, mpsc};
use tracing::Instrument;

use crate::consumer::message::{Outcome, process};
use crate::consumer::partition::{PartitionControl, QueuedRecord};
use crate::consumer::pipeline::Pipeline;
use crate::consumer::settle::{Settled, Unsettled, settle, settle_clean_run};
use crate::kafka::record::RecordMeta;
use crate::reliability::dedup::DedupKey;

/// The `tracing` target of the span the consumer opens around each message (`message`, with
/// `topic`, `partition`, `offset`, `broker`, `event_id`, `correlation_id` and, for a record with a
/// `traceparent`, `trace_id`). The span is at
/// DEBUG: with a subscriber recording it, it costs more per message than the rest of the
/// consumer, so it is off at the usual INFO. Switch it on to see which message a handler's log
/// lines belong to, for example `RUST_LOG=info,streamkit::message=debug`. The consumer's own
/// warnings about a message (retries, dead letters, undecodable records) name its topic,
/// partition and offset whether it is on or not.
///
/// ```
/// assert_eq!(stream_core::consumer::MESSAGE_SPAN_TARGET, "streamkit::message");
/// ```
pub const MESSAGE_SPAN_TARGET: &str = "streamkit::message";

/// The span around one message, at DEBUG under its own target: see [`MESSAGE_SPAN_TARGET`] for
/// why, and how to switch it on.
pub(super) fn message_span(meta: &RecordMeta) -> tracing::Span {
    tracing::debug_span!(
        target: MESSAGE_SPAN_TARGET,
        "message",
        topic = %meta.topic,
        partition = meta.partition,
        offset = meta.offset,
        broker = %meta.broker,
        event_id = tracing::field::Empty,
        correlation_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    )
}

pub(super) async fn run_worker(
    mut rx: mpsc::Receiver<QueuedRecord>,
    part: Arc<PartitionControl>,
    pipeline: Arc<Pipeline>,
) {
    let (part, pipeline) = (&*part, &*pipeline);
    // The ids of handled messages whose published records are still in flight (a duplicate of
    // one of them is skipped, as if it were already marked done)...
    let unsettled = Mutex::new(HashSet::<uuid::Uuid>::default());
    let unsettled = &unsettled;
    // ...and those messages, oldest first. One loop handles messages and settles them: it looks
    // at acknowledgements between messages without waiting for them (no wake-up from the
    // producer's thread while messages keep coming), and waits for them only when it has
    // nothing else to do, when `partition_queue` messages are waiting, or while a handler waits.
    let mut waiting: VecDeque<Unsettled> = VecDeque::new();
    let room = pipeline.options.partition_queue.max(1);
    // One dedup key each for handling and settling, their event ids set per message: a
    // partition's topic, and with it the broker, never changes.
    let (mut key, mut settle_key) = (None, None);
    let mut settled = Vec::new();
    loop {
        if !settle_delivered(
            &mut waiting,
            part,
            pipeline,
            unsettled,
            &mut settle_key,
            &mut settled,
        )
        .await
        {
            return;
        }
        let next = if waiting.is_empty() {
            rx.recv().await
        } else if waiting.len() >= room {
            let half = waiting.len() / 2;
            delivered_through(&mut waiting, half).await;
            continue;
        } else {
            let newest = waiting.len() - 1;
            tokio::select! {
                biased;
                work = rx.recv() => work,
                () = delivered_through(&mut waiting, newest) => continue,
            }
        };
        let Some(work) = next else { break };
        if part.is_stopped() {
            break;
        }
        // Exactly-once: a message is handled, and finished, inside the transaction's gate.
        let _gate = enter_transaction(pipeline).await;
        let offset = work.meta.offset;
        let span = message_span(&work.meta);
        crate::kafka::trace_context::continue_on_span(&span, &work.meta);
        let mut processing = std::pin::pin!(
            process(work, part, pipeline, unsettled, None, &mut key).instrument(span)
        );
        // While the handler waits (on I/O, `Context::send`, a retry's back-off), the messages
        // before it keep settling. A settle is never started inside the `select!`, so none is
        // abandoned half done when the handler finishes first.
        let mut settling = true;
        let outcome = loop {
            if !settling || waiting.is_empty() {
                break processing.as_mut().await;
            }
            tokio::select! {
                biased;
                outcome = processing.as_mut() => break outcome,
                () = front_delivered(&mut waiting) => {
                    settling = settle_delivered(&mut waiting, part, pipeline, unsettled, &mut settle_key, &mut settled).await;
                }
            }
        };
        match outcome {
            Outcome::Finished => part.finish(offset),
            Outcome::Unsettled(u) => waiting.push_back(u),
            Outcome::Stopped => break,
        }
        if !settling {
            return; // stopped while dead-lettering: what is still waiting is delivered again
        }
    }
    settle_all(waiting, part, pipeline, unsettled, &mut settle_key, settled).await;
}

/// In exactly-once mode, waits for the transaction's gate to be open and holds it: a commit
/// closes it and waits for the messages inside.
async fn enter_transaction(pipeline: &Pipeline) -> Option<RwLockReadGuard<'_, ()>> {
    match &pipeline.transaction {
        Some(transaction) => Some(transaction.enter().await),
        None => None,
    }
}

/// No more messages: settles what was handled, in order, as its acknowledgements come in.
async fn settle_all(
    mut waiting: VecDeque<Unsettled>,
    part: &PartitionControl,
    pipeline: &Pipeline,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    key: &mut Option<DedupKey>,
    mut settled: Vec<Settled>,
) {
    while !waiting.is_empty() {
        front_delivered(&mut waiting).await;
        if !settle_delivered(&mut waiting, part, pipeline, unsettled, key, &mut settled).await {
            return;
        }
    }
}

/// Settles the waiting messages at the front whose deliveries have all resolved: a run of them
/// that all succeeded in one go ([`settle_clean_run`]), one with a failed delivery on its own.
/// False when the partition stopped first.
async fn settle_delivered(
    waiting: &mut VecDeque<Unsettled>,
    part: &PartitionControl,
    pipeline: &Pipeline,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    key: &mut Option<DedupKey>,
    settled: &mut Vec<Settled>,
) -> bool {
    loop {
        let mut clean = 0;
        for u in waiting.iter_mut() {
            if !u.delivered_now() || u.failure.is_some() {
                break;
            }
            clean += 1;
        }
        if clean > 0 {
            let run = waiting.drain(..clean);
            settle_clean_run(run, part, pipeline, unsettled, key, settled).await;
        }
        if !waiting.front_mut().is_some_and(Unsettled::delivered_now) {
            return true;
        }
        if !settle_front(waiting, part, pipeline, unsettled, key).await {
            return false;
        }
    }
}

/// Resolves once the deliveries of the waiting message at `index` and of the oldest one are all
/// done (never, if none waits): the worker settles a run of messages per wake-up.
///
/// Acknowledgements are reported one record at a time. A worker woken for each would take
/// turns with whatever reports them, one wake-up per message; woken once the newest (or, with a
/// full queue, the middle) waiting message is acknowledged, it finds the older ones
/// acknowledged too, nearly always, and settles them in one go.
fn delivered_through(
    waiting: &mut VecDeque<Unsettled>,
    index: usize,
) -> impl Future<Output = ()> + '_ {
    std::future::poll_fn(move |cx| {
        let Some(u) = waiting.get_mut(index) else {
            return Poll::Pending;
        };
        std::task::ready!(u.poll_delivered(cx));
        match waiting.front_mut() {
            Some(front) => front.poll_delivered(cx),
            None => Poll::Pending,
        }
    })
}

/// Resolves once the oldest waiting message's deliveries are all done (never, if none waits).
fn front_delivered(waiting: &mut VecDeque<Unsettled>) -> impl Future<Output = ()> + '_ {
    delivered_through(waiting, 0)
}

/// Settles the oldest waiting message, whose deliveries are all done, and finishes its offset.
/// False when the partition stopped first (its offset stays unfinished: delivered again).
async fn settle_front(
    waiting: &mut VecDeque<Unsettled>,
    part: &PartitionControl,
    pipeline: &Pipeline,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    key: &mut Option<DedupKey>,
) -> bool {
    let u = waiting.pop_front().expect("a waiting message");
    let offset = u.held.record().offset;
    if !settle(u, part, pipeline, unsettled, key).await {
        return false;
    }
    part.finish(offset);
    true
}
