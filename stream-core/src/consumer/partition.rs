//! One assigned partition: what the poll thread keeps of it ([`AssignedPartition`]) and what it
//! shares with the partition's worker ([`PartitionControl`]: finished offsets, the stop signal).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use crate::consumer::commit_trigger::CommitTrigger;
use crate::consumer::offsets::PartitionOffsets;
use crate::kafka::record::RecordMeta;

/// A record as queued to a partition worker: librdkafka's message, read in place.
pub(super) struct QueuedRecord {
    pub(super) meta: RecordMeta,
}

/// What the poll thread keeps per assigned partition.
pub(super) struct AssignedPartition {
    pub(super) tx: mpsc::Sender<QueuedRecord>,
    pub(super) overflow: std::collections::VecDeque<QueuedRecord>,
    pub(super) paused: bool,
    pub(super) control: Arc<PartitionControl>,
    pub(super) task: tokio::task::JoinHandle<()>,
}

/// What a partition's worker and the poll thread share.
pub(super) struct PartitionControl {
    pub(super) offsets: Mutex<PartitionOffsets>,
    /// Counts the messages finished since the consumer's last background commit.
    pub(super) commits: Arc<CommitTrigger>,
    /// Set when the partition is revoked or the consumer stops: finish the current message only.
    pub(super) stop: AtomicBool,
    pub(super) stopped: Notify,
}

impl PartitionControl {
    /// Marks `offset` finished: committable once everything before it is.
    pub(super) fn finish(&self, offset: i64) {
        self.offsets.lock().expect("offsets").finished(offset);
        self.commits.finished_one();
    }

    /// [`PartitionControl::finish`] for several offsets, under one lock.
    pub(super) fn finish_all(&self, offsets: impl Iterator<Item = i64>) {
        let mut n = 0;
        let mut tracked = self.offsets.lock().expect("offsets");
        for offset in offsets {
            tracked.finished(offset);
            n += 1;
        }
        drop(tracked);
        self.commits.finished_many(n);
    }

    pub(super) fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stopped.notify_waiters();
    }

    pub(super) fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps `d` unless stopped first; returns false when stopped.
    ///
    /// Boxed: it is awaited only on rare paths (a retry's back-off, a paused dedup store, a
    /// failing dead-letter write), and its timer would otherwise be carried in the future of
    /// every message.
    pub(super) fn sleep(&self, d: Duration) -> futures::future::BoxFuture<'_, bool> {
        Box::pin(async move {
            let notified = self.stopped.notified();
            if self.is_stopped() {
                return false;
            }
            tokio::select! {
                _ = tokio::time::sleep(d) => !self.is_stopped(),
                _ = notified => false,
            }
        })
    }
}

pub(super) type PartitionKey = (Arc<str>, i32);
