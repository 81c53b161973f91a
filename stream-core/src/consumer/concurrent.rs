//! A concurrent partition worker: up to `concurrency` of the partition's records handled at the
//! same time, in the order its [`Order`](crate::consumer::Order) keeps (see `key_order.rs`).
//!
//! Each record goes through the same life as in a one-at-a-time worker
//! ([`process`](crate::consumer::message::process): dedup, retries in place, dead letters) and
//! is settled in its own slot once what its handler published is acknowledged. Offsets finish
//! out of order; the commit watermark (`offsets.rs`) still moves only over contiguous finished
//! offsets. The worker takes records from its queue only while it holds fewer than
//! `partition_queue` (running or waiting for their key): past that its queue fills and the
//! partition is paused, however hot one key is. When the partition is stopped (revoked, or the
//! consumer shuts down) it starts nothing more and waits for every record running; those
//! waiting are not finished, so they are delivered again.

use std::sync::{Arc, Mutex};

use foldhash::HashSet;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::consumer::key_order::{Lane, Lanes};
use crate::consumer::message::{Outcome, process};
use crate::consumer::partition::{PartitionControl, QueuedRecord};
use crate::consumer::pipeline::Pipeline;
use crate::consumer::running::RunningIds;
use crate::consumer::settle::settle;
use crate::consumer::worker::message_span;

pub(super) async fn run_concurrent_worker(
    mut rx: mpsc::Receiver<QueuedRecord>,
    part: Arc<PartitionControl>,
    pipeline: Arc<Pipeline>,
) {
    let (part, pipeline) = (&*part, &*pipeline);
    let unsettled = Mutex::new(HashSet::<uuid::Uuid>::default());
    let running = RunningIds::default();
    let (unsettled, running) = (&unsettled, &running);
    let limit = pipeline.options.concurrency.max(1);
    let hold = pipeline.options.partition_queue.max(limit);
    let mut lanes = Lanes::new(pipeline.options.order);
    let mut tasks = FuturesUnordered::new();
    // Whether records are still taken in and started: false once stopped.
    let mut open = true;
    loop {
        while open && tasks.len() < limit && !part.is_stopped() {
            let Some((lane, work)) = lanes.next_ready() else {
                break;
            };
            tasks.push(handle(lane, work, part, pipeline, unsettled, running));
        }
        if !open && tasks.is_empty() {
            break;
        }
        let room = open && lanes.held() < hold;
        tokio::select! {
            Some((lane, offset, outcome)) = tasks.next(), if !tasks.is_empty() => {
                lanes.done(lane);
                match outcome {
                    Outcome::Finished => part.finish(offset),
                    // Stopped (or a dead letter that could not be written, which stops the
                    // consumer): the offset stays unfinished, nothing more starts.
                    Outcome::Stopped | Outcome::Unsettled(_) => open = false,
                }
            }
            work = rx.recv(), if room => match work {
                Some(work) if !part.is_stopped() => {
                    let lane = lanes.lane_of(work.meta.key());
                    lanes.push(work.meta.offset, lane, work);
                }
                _ => open = false,
            },
            else => break,
        }
    }
}

/// One record's life in its slot: processed, then settled once its published records are
/// acknowledged. Returns its lane and offset with how it ended (never `Unsettled`).
async fn handle(
    lane: Lane,
    work: QueuedRecord,
    part: &PartitionControl,
    pipeline: &Pipeline,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    running: &RunningIds,
) -> (Lane, i64, Outcome) {
    let offset = work.meta.offset;
    let span = message_span(&work.meta);
    crate::kafka::trace_context::continue_on_span(&span, &work.meta);
    let mut key = None;
    let outcome = process(work, part, pipeline, unsettled, Some(running), &mut key)
        .instrument(span)
        .await;
    let outcome = match outcome {
        Outcome::Unsettled(mut u) => {
            std::future::poll_fn(|cx| u.poll_delivered(cx)).await;
            if settle(u, part, pipeline, unsettled, &mut key).await {
                Outcome::Finished
            } else {
                Outcome::Stopped
            }
        }
        other => other,
    };
    (lane, offset, outcome)
}
