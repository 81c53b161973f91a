//! What a consumer did: [`ConsumerStats`] (live counters), [`StatsSnapshot`] (a copy) and
//! [`ConsumerReport`] (how a run ended).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters of what a consumer did. Read them any time through [`MessageConsumer::stats`](crate::consumer::MessageConsumer::stats).
///
/// Laid out in two cache lines: the first holds what the poll thread writes, the second what
/// the partition workers write, so counting a message on one thread does not take the line
/// from the other.
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub struct ConsumerStats {
    /// Records received from Kafka.
    pub received: AtomicU64,
    /// Offset commits made.
    pub commits: AtomicU64,
    /// Offset commits the broker or the client refused (each is logged; the offsets are
    /// committed again with the next commit).
    pub commit_failures: AtomicU64,
    /// Times a partition was paused because its handler fell behind (backpressure).
    pub paused: AtomicU64,
    /// Partitions currently assigned.
    pub assigned_partitions: AtomicU64,
    /// Assignments received (0 until the consumer first joined its group).
    pub rebalances: AtomicU64,
    /// When the poll loop last ran, in milliseconds since the epoch (liveness).
    pub last_poll_ms: AtomicU64,
    /// Set from a revoke until the next assignment: the group is rebalancing (not ready).
    pub rebalancing: AtomicBool,
    /// Messages whose handler succeeded.
    pub handled: AtomicU64,
    /// Retries made (attempts after the first).
    pub retried: AtomicU64,
    /// Messages written to a dead-letter topic.
    pub dead_lettered: AtomicU64,
    /// Messages skipped because their id was already done.
    pub deduplicated: AtomicU64,
    /// Messages handled without a dedup check because the store was unavailable.
    pub dedup_unavailable: AtomicU64,
    /// Messages that could not be dead-lettered: each stops its consumer with an error.
    pub dead_letter_failures: AtomicU64,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

impl ConsumerStats {
    pub(super) fn bump(counter: &AtomicU64) {
        Self::add(counter, 1);
    }

    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A plain copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            received: g(&self.received),
            handled: g(&self.handled),
            retried: g(&self.retried),
            dead_lettered: g(&self.dead_lettered),
            deduplicated: g(&self.deduplicated),
            dedup_unavailable: g(&self.dedup_unavailable),
            commits: g(&self.commits),
            commit_failures: g(&self.commit_failures),
            paused: g(&self.paused),
            assigned_partitions: g(&self.assigned_partitions),
            dead_letter_failures: g(&self.dead_letter_failures),
        }
    }
}

/// A copy of [`ConsumerStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// See [`ConsumerStats::received`].
    pub received: u64,
    /// See [`ConsumerStats::handled`].
    pub handled: u64,
    /// See [`ConsumerStats::retried`].
    pub retried: u64,
    /// See [`ConsumerStats::dead_lettered`].
    pub dead_lettered: u64,
    /// See [`ConsumerStats::deduplicated`].
    pub deduplicated: u64,
    /// See [`ConsumerStats::dedup_unavailable`].
    pub dedup_unavailable: u64,
    /// See [`ConsumerStats::commits`].
    pub commits: u64,
    /// See [`ConsumerStats::commit_failures`].
    pub commit_failures: u64,
    /// See [`ConsumerStats::paused`].
    pub paused: u64,
    /// See [`ConsumerStats::assigned_partitions`].
    pub assigned_partitions: u64,
    /// See [`ConsumerStats::dead_letter_failures`].
    pub dead_letter_failures: u64,
}

/// How a consumer run ended.
#[derive(Debug, Clone, Default)]
pub struct ConsumerReport {
    /// The counters at the end.
    pub stats: StatsSnapshot,
    /// Messages still running when the shutdown deadline passed: `(topic, partition, offset)`.
    /// They are not committed and will be delivered again.
    pub unfinished: Vec<(String, i32, i64)>,
}

#[cfg(test)]
mod tests {
    use super::ConsumerStats;

    #[test]
    fn the_workers_counters_start_a_cache_line_of_their_own() {
        assert_eq!(std::mem::align_of::<ConsumerStats>(), 64);
        assert_eq!(std::mem::offset_of!(ConsumerStats, handled), 64);
        assert!(std::mem::offset_of!(ConsumerStats, rebalancing) < 64);
    }
}
