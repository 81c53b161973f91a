//! [`CommitTrigger`]: when a background commit is due by count.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// Counts finished messages toward the next background commit: one is due once `every` have
/// finished since the last. Workers count; only the poll thread commits (a commit from elsewhere
/// could land after a revoked partition's final commit and move its offset back).
pub(super) struct CommitTrigger {
    pub(super) finished: AtomicU64,
    pub(super) every: u64,
    /// Woken when the count reaches `every`, for the poll thread waiting on a full queue.
    pub(super) due: Notify,
}

impl CommitTrigger {
    pub(super) fn new(every: u64) -> Self {
        Self {
            finished: AtomicU64::new(0),
            every: every.max(1),
            due: Notify::new(),
        }
    }

    pub(super) fn finished_one(&self) {
        self.finished_many(1);
    }

    pub(super) fn finished_many(&self, n: u64) {
        let before = self.finished.fetch_add(n, Ordering::Relaxed);
        if before < self.every && before + n >= self.every {
            self.due.notify_one();
        }
    }

    /// Messages finished since the last commit.
    pub(super) fn pending(&self) -> u64 {
        self.finished.load(Ordering::Relaxed)
    }

    pub(super) fn count_due(&self) -> bool {
        self.pending() >= self.every
    }

    /// Starts counting anew, before a commit: what finishes from here on counts toward the next.
    pub(super) fn restart(&self) {
        self.finished.fetch_sub(self.pending(), Ordering::Relaxed);
    }
}
