//! Records to partition workers, in order, with backpressure: a full queue is waited on briefly,
//! then its partition is paused while the others keep flowing.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use foldhash::HashMap;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio::sync::{Notify, mpsc};

use crate::consumer::batch::run_batch_worker;
use crate::consumer::callbacks::ClientCallbacks;
use crate::consumer::commit::block_on_committing;
use crate::consumer::concurrent::run_concurrent_worker;
use crate::consumer::offsets::PartitionOffsets;
use crate::consumer::partition::{AssignedPartition, PartitionControl};
use crate::consumer::partition::{PartitionKey, QueuedRecord};
use crate::consumer::pipeline::Pipeline;
use crate::consumer::state::ConsumerState;
use crate::consumer::stats::ConsumerStats;
use crate::consumer::worker::run_worker;
use crate::kafka::record::{InPlace, RecordMeta};
use crate::topic::Broker;

/// How long the poll thread waits for room in a full partition queue before pausing the
/// partition instead.
pub(super) const BACKPRESSURE_WAIT: Duration = Duration::from_millis(20);

/// Feeds paused partitions' overflow to their workers and resumes those whose overflow is
/// empty. Returns whether a partition is still paused.
pub(super) fn drain_overflow(
    consumer: &BaseConsumer<ClientCallbacks>,
    state: &ConsumerState,
    pipeline: &Pipeline,
) -> bool {
    let mut still_paused = false;
    let mut map = state.partitions.lock().expect("partitions");
    for ((topic, partition), assigned) in map.iter_mut() {
        if !assigned.paused {
            continue;
        }
        while let Some(work) = assigned.overflow.pop_front() {
            match assigned.tx.try_send(work) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(work)) => {
                    assigned.overflow.push_front(work);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    worker_gone(pipeline, &(Arc::clone(topic), *partition));
                    assigned.overflow.clear();
                    break;
                }
            }
        }
        if assigned.overflow.is_empty() {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(topic, *partition);
            if consumer.resume(&tpl).is_ok() {
                assigned.paused = false;
            }
        }
        still_paused |= assigned.paused;
    }
    still_paused
}

/// The topic names seen so far, shared, with their brokers: consecutive records nearly always
/// come from a topic seen before.
pub(super) type TopicCache = HashMap<String, (Arc<str>, Broker)>;

/// Hands one polled record to its partition's worker, spawning the worker on the partition's
/// first record; waits briefly when the worker's queue is full, then pauses the partition.
/// Returns whether the partition is paused now.
pub(super) fn dispatch(
    consumer: &BaseConsumer<ClientCallbacks>,
    msg: InPlace,
    state: &Arc<ConsumerState>,
    pipeline: &Arc<Pipeline>,
    topics: &mut TopicCache,
) -> bool {
    ConsumerStats::bump(&state.stats.received);
    let (topic, broker) = topic_of(msg.topic(), topics);
    // No copy: the worker reads the key, value and headers from librdkafka's message.
    let meta = RecordMeta::in_place(Arc::clone(&topic), broker, msg);
    let (partition, offset) = (meta.partition, meta.offset);
    let record = QueuedRecord { meta };
    let key = (topic, partition);
    let mut map = state.partitions.lock().expect("partitions");
    let assigned = map
        .entry(key.clone())
        .or_insert_with(|| spawn_worker(state, pipeline, pipeline.options.partition_queue.max(1)));
    assigned
        .control
        .offsets
        .lock()
        .expect("offsets")
        .dispatched(offset);
    if assigned.paused {
        assigned.overflow.push_back(record);
        return true;
    }
    let record = match assigned.tx.try_send(record) {
        Ok(()) => return false,
        Err(mpsc::error::TrySendError::Closed(_)) => {
            worker_gone(pipeline, &key);
            return false;
        }
        Err(mpsc::error::TrySendError::Full(record)) => record,
    };
    let tx = assigned.tx.clone();
    drop(map);
    let record = match wait_for_room(consumer, state, tx, record) {
        Room::Sent => return false,
        Room::Full(record) => record,
        Room::Closed => {
            worker_gone(pipeline, &key);
            return false;
        }
    };
    let mut map = state.partitions.lock().expect("partitions");
    let Some(assigned) = map.get_mut(&key) else {
        return false; // revoked meanwhile
    };
    match assigned.tx.try_send(record) {
        Err(mpsc::error::TrySendError::Full(record)) => {
            // Still full: this partition's handler is slow, not the whole consumer. Pause it so
            // the other partitions keep flowing.
            assigned.overflow.push_back(record);
            pause(consumer, &key, state);
            assigned.paused = true;
            true
        }
        Ok(()) => false,
        Err(mpsc::error::TrySendError::Closed(_)) => {
            worker_gone(pipeline, &key);
            false
        }
    }
}

/// Starts the worker of a partition: one record at a time, or several at once when the
/// consumer's options say so.
fn spawn_worker(
    state: &Arc<ConsumerState>,
    pipeline: &Arc<Pipeline>,
    capacity: usize,
) -> AssignedPartition {
    let (tx, rx) = mpsc::channel(capacity);
    let part = Arc::new(PartitionControl {
        offsets: Mutex::new(PartitionOffsets::default()),
        commits: Arc::clone(&state.commits),
        stop: AtomicBool::new(false),
        stopped: Notify::new(),
    });
    let (control, pipeline) = (Arc::clone(&part), Arc::clone(pipeline));
    let task = if pipeline.options.batch.is_some() && pipeline.handler.batch().is_some() {
        state.runtime.spawn(run_batch_worker(rx, control, pipeline))
    } else if pipeline.options.is_concurrent() {
        state
            .runtime
            .spawn(run_concurrent_worker(rx, control, pipeline))
    } else {
        state.runtime.spawn(run_worker(rx, control, pipeline))
    };
    AssignedPartition {
        tx,
        overflow: Default::default(),
        paused: false,
        control: part,
        task,
    }
}

/// The shared name and the broker of the topic named `name`.
fn topic_of(name: &str, topics: &mut TopicCache) -> (Arc<str>, Broker) {
    if let Some((t, b)) = topics.get(name) {
        return (Arc::clone(t), b.clone());
    }
    let t: Arc<str> = Arc::from(name);
    let b = crate::topic::broker_of(&t)
        .unwrap_or_else(|_| Broker::new("unknown").expect("valid broker"));
    topics.insert(name.to_owned(), (Arc::clone(&t), b.clone()));
    (t, b)
}

/// What waiting for room in a full partition queue came to.
enum Room {
    Sent,
    /// Still full after the wait: the record, to keep in the overflow.
    Full(QueuedRecord),
    /// The worker is gone.
    Closed,
}

/// Waits a moment for room in a full queue, committing meanwhile when due.
///
/// When every worker is busy (the consumer is CPU-bound) a slot frees within microseconds, and
/// waiting here is the cheapest backpressure there is. Pausing instead would make librdkafka
/// drop every record it has prefetched for the partition and fetch them again on resume, over
/// and over. It waits for room for a quarter of the queue first, not for one slot: woken for
/// every slot a busy worker frees, this thread and the worker would take turns, one thread
/// switch per message. A handler too slow to free that much soon still gets its next message
/// as soon as one slot is free.
fn wait_for_room(
    consumer: &BaseConsumer<ClientCallbacks>,
    state: &ConsumerState,
    tx: mpsc::Sender<QueuedRecord>,
    record: QueuedRecord,
) -> Room {
    let room = (tx.max_capacity() / 4).max(1);
    block_on_committing(consumer, state, async move {
        if let Ok(permits) = tokio::time::timeout(BACKPRESSURE_WAIT, tx.reserve_many(room)).await {
            return match permits.map(|mut p| p.next()) {
                Ok(Some(permit)) => {
                    permit.send(record);
                    Room::Sent
                }
                _ => Room::Closed,
            };
        }
        match tokio::time::timeout(BACKPRESSURE_WAIT, tx.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(record);
                Room::Sent
            }
            Ok(Err(_closed)) => Room::Closed,
            Err(_elapsed) => Room::Full(record),
        }
    })
}

/// Stops fetching the partition of `key`; records already fetched go to its overflow (keeping
/// their order), which is fed to the worker as it drains.
fn pause(consumer: &BaseConsumer<ClientCallbacks>, key: &PartitionKey, state: &ConsumerState) {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&key.0, key.1);
    if let Err(error) = consumer.pause(&tpl) {
        tracing::warn!(%error, "could not pause partition");
    }
    ConsumerStats::bump(&state.stats.paused);
}

/// A partition's worker ended although nobody stopped it (partitions are released on this same
/// thread, after their state is taken out of the map): only a bug in streamkit ends one that
/// way. Its records cannot be handled, and dropping them would stall the partition without a
/// word; stop the consumer instead, loudly. What it had not finished is not committed, so it is
/// delivered again.
pub(super) fn worker_gone(pipeline: &Pipeline, key: &PartitionKey) {
    if pipeline.stop.is_requested() {
        return; // shutting down: workers end on their own
    }
    tracing::error!(
        group = %pipeline.group,
        topic = %key.0,
        partition = key.1,
        "a partition pipeline ended unexpectedly; stopping the consumer"
    );
    pipeline.stop.shutdown();
}
