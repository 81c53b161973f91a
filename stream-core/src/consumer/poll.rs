//! The poll thread: one dedicated thread polls librdkafka (so rebalance callbacks can block
//! safely), hands records to [`dispatch`](crate::consumer::dispatch), commits when due, and at
//! shutdown releases every partition and leaves the group.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;

use crate::consumer::callbacks::ClientCallbacks;
use crate::consumer::commit::commit_finished;
use crate::consumer::dispatch::{TopicCache, dispatch, drain_overflow};
use crate::consumer::partition::PartitionKey;
use crate::consumer::pipeline::Pipeline;
use crate::consumer::shutdown::ShutdownHandle;
use crate::consumer::state::ConsumerState;
use crate::consumer::stats::{ConsumerReport, now_ms};
use crate::kafka::record::InPlace;

/// Poll timeout while no partition is paused.
pub(super) const IDLE_POLL: Duration = Duration::from_millis(50);
/// Poll timeout while workers finish messages that are not committed yet: how late a commit
/// may come after `commit_every` messages have finished.
pub(super) const BUSY_POLL: Duration = Duration::from_millis(5);
/// Poll timeout while a partition is paused, so its overflow is fed and it resumes promptly.
pub(super) const PAUSED_POLL: Duration = Duration::from_millis(2);

/// Polls until a shutdown is asked for (or a fatal error asks for one), then stops every
/// worker after its current message, commits, and leaves the group.
pub(super) fn poll_loop(
    consumer: BaseConsumer<ClientCallbacks>,
    state: Arc<ConsumerState>,
    pipeline: Arc<Pipeline>,
    shutdown: ShutdownHandle,
    commit_interval: Duration,
) -> ConsumerReport {
    // Shared with every record handed to a worker: librdkafka's messages are read in place, and
    // the consumer must outlive them.
    let consumer = Arc::new(consumer);
    let mut last_commit = Instant::now();
    let mut topics = TopicCache::default();
    if let Some(transaction) = &state.transaction {
        transaction.start();
    }
    // Whether a partition is paused: only `dispatch` pauses one, and only `drain_overflow`
    // resumes it, so the partitions are looked through only while one is.
    let mut paused = false;
    let mut liveness = LivenessMark::default();
    while !shutdown.is_requested() {
        // One clock read per poll: it marks the loop alive and times the commit interval.
        let now = Instant::now();
        liveness.mark(now, &state);
        if paused {
            paused = drain_overflow(&consumer, &state, &pipeline);
        }
        if state.commits.count_due() || now.duration_since(last_commit) >= commit_interval {
            state.commits.restart();
            commit_finished(&consumer, &state, CommitMode::Async);
            last_commit = Instant::now();
        }
        match poll_next(&consumer, poll_timeout(paused, &state)) {
            None => {}
            Some(Err(error)) => consumer_error(error, &state, &shutdown),
            Some(Ok(msg)) => {
                // SAFETY: `consumer` is the consumer `msg` was polled from.
                let msg = unsafe { InPlace::new(msg, Arc::clone(&consumer)) };
                paused |= dispatch(&consumer, msg, &state, &pipeline, &mut topics);
            }
        }
    }
    let keys: Vec<PartitionKey> = state
        .partitions
        .lock()
        .expect("partitions")
        .keys()
        .cloned()
        .collect();
    let unfinished = state.release_partitions(&consumer, &keys);
    leave_group(consumer);
    tracing::info!(group = %state.group, stats = ?state.stats.snapshot(), "consumer stopped");
    ConsumerReport {
        stats: state.stats.snapshot(),
        unfinished,
    }
}

/// How often the poll loop writes the wall-clock time of its last poll (what liveness reads,
/// against a 10 s limit): not on every poll, which would read the wall clock per message.
const LIVENESS_MARK_EVERY: Duration = Duration::from_millis(100);

/// When the poll loop last wrote its liveness time.
#[derive(Default)]
struct LivenessMark(Option<Instant>);

impl LivenessMark {
    fn mark(&mut self, now: Instant, state: &ConsumerState) {
        if self
            .0
            .is_some_and(|at| now.duration_since(at) < LIVENESS_MARK_EVERY)
        {
            return;
        }
        self.0 = Some(now);
        state.stats.last_poll_ms.store(now_ms(), Ordering::Relaxed);
    }
}

/// The next record or event, waiting up to `timeout` only when none is ready: a poll with a
/// timeout reads the clock inside librdkafka first, which a busy consumer would do per record.
fn poll_next(
    consumer: &BaseConsumer<ClientCallbacks>,
    timeout: Duration,
) -> Option<Result<rdkafka::message::BorrowedMessage<'_>, KafkaError>> {
    consumer
        .poll(Duration::ZERO)
        .or_else(|| consumer.poll(timeout))
}

/// How long the next poll may wait. While a partition waits for its worker, come back soon to
/// feed it and resume it: a paused partition would otherwise idle for the whole poll timeout.
/// While workers finish messages, come back soon to commit them once there are `commit_every`.
fn poll_timeout(paused: bool, state: &ConsumerState) -> Duration {
    if paused {
        PAUSED_POLL
    } else if state.commits.pending() > 0 {
        BUSY_POLL
    } else {
        IDLE_POLL
    }
}

/// A poll that returned an error: logged; a fatal one (for example another member joined with
/// this instance's `group.instance.id` and fenced this one) stops the consumer, loudly.
fn consumer_error(error: KafkaError, state: &ConsumerState, shutdown: &ShutdownHandle) {
    if !matches!(error, KafkaError::MessageConsumptionFatal(_)) {
        state.log.poll_error(&error);
        return;
    }
    tracing::error!(group = %state.group, %error, "fatal consumer error; stopping");
    state
        .fatal
        .lock()
        .expect("fatal error")
        .get_or_insert(error);
    shutdown.shutdown();
}

/// Unsubscribes and closes the consumer, which leaves the group.
fn leave_group(consumer: Arc<BaseConsumer<ClientCallbacks>>) {
    consumer.unsubscribe();
    match Arc::try_unwrap(consumer) {
        Ok(consumer) => drop(consumer),
        Err(consumer) => {
            // A record is still held somewhere (a handler past the shutdown deadline, a task a
            // handler spawned): leave the group now; the client itself goes with the last record.
            if consumer.close_queue().is_ok() {
                while !consumer.closed() {
                    consumer.poll(Duration::from_millis(100));
                }
            }
        }
    }
}
