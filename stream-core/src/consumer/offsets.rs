//! Which offsets may be committed: the highest contiguous finished offset of each partition.
//!
//! A partition's messages are dispatched in offset order. An offset becomes committable only
//! when it and every message dispatched before it in the partition are finished (handled,
//! deduplicated or dead-lettered). Offsets are tracked as dispatched, not as integers, so gaps
//! (transaction markers, compacted records) never hold a partition back. What gets committed is
//! Kafka's convention: the offset of the *next* message to read.

use std::collections::VecDeque;

/// The commit state of one partition.
///
/// ```
/// use stream_core::consumer::offsets::PartitionOffsets;
/// let mut p = PartitionOffsets::default();
/// p.dispatched(10);
/// p.dispatched(12); // 11 was a transaction marker
/// p.dispatched(13);
/// p.finished(12);
/// assert_eq!(p.committable(), None); // 10 is still running
/// p.finished(10);
/// assert_eq!(p.committable(), Some(13)); // 10 and 12 done: next to read is 13
/// ```
#[derive(Debug, Default, Clone)]
pub struct PartitionOffsets {
    /// Dispatched offsets not yet contiguous-finished, in order, with their finished flag.
    pending: VecDeque<(i64, bool)>,
    /// The next offset to read once everything before it is finished.
    committable: Option<i64>,
    /// The last offset given to a commit.
    committed: Option<i64>,
}

impl PartitionOffsets {
    /// Records that `offset` was handed to a handler. Offsets must be dispatched in increasing
    /// order; an offset at or below the last dispatched one is ignored (a re-fetch).
    pub fn dispatched(&mut self, offset: i64) {
        let last = self
            .pending
            .back()
            .map(|(o, _)| *o)
            .or(self.committable.map(|c| c - 1));
        if last.is_some_and(|l| offset <= l) {
            return;
        }
        self.pending.push_back((offset, false));
    }

    /// Records that `offset` is finished.
    pub fn finished(&mut self, offset: i64) {
        if let Some(front) = self.pending.front()
            && front.0 == offset
        {
            self.pending.pop_front();
            self.committable = Some(offset + 1);
            while let Some(&(o, true)) = self.pending.front() {
                self.pending.pop_front();
                self.committable = Some(o + 1);
            }
            return;
        }
        if let Some(entry) = self.pending.iter_mut().find(|(o, _)| *o == offset) {
            entry.1 = true;
        }
    }

    /// The offset to commit (next to read) if everything up to it is finished.
    pub fn committable(&self) -> Option<i64> {
        self.committable
    }

    /// The committable offset if it moved since the last [`PartitionOffsets::mark_committed`].
    pub fn to_commit(&self) -> Option<i64> {
        match (self.committable, self.committed) {
            (Some(c), Some(done)) if c <= done => None,
            (c, _) => c,
        }
    }

    /// Records that `offset` was committed.
    pub fn mark_committed(&mut self, offset: i64) {
        self.committed = Some(self.committed.map_or(offset, |c| c.max(offset)));
    }

    /// The oldest dispatched offset that is not finished.
    pub fn first_unfinished(&self) -> Option<i64> {
        self.pending.iter().find(|(_, done)| !done).map(|(o, _)| *o)
    }

    /// Messages dispatched and not yet finished (or finished behind an unfinished one).
    pub fn in_flight(&self) -> usize {
        self.pending.iter().filter(|(_, done)| !done).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_completion_advances_one_by_one() {
        let mut p = PartitionOffsets::default();
        for o in 0..5 {
            p.dispatched(o);
        }
        assert_eq!(p.committable(), None);
        p.finished(0);
        assert_eq!(p.committable(), Some(1));
        p.finished(1);
        p.finished(2);
        assert_eq!(p.to_commit(), Some(3));
        p.mark_committed(3);
        assert_eq!(p.to_commit(), None);
        p.finished(3);
        assert_eq!(p.to_commit(), Some(4));
        assert_eq!(p.in_flight(), 1);
    }

    #[test]
    fn out_of_order_completion_waits_for_the_gap() {
        let mut p = PartitionOffsets::default();
        for o in [5, 6, 7, 8] {
            p.dispatched(o);
        }
        p.finished(8);
        p.finished(6);
        assert_eq!(p.committable(), None);
        p.finished(5);
        assert_eq!(p.committable(), Some(7));
        p.finished(7);
        assert_eq!(p.committable(), Some(9));
        assert_eq!(p.in_flight(), 0);
    }

    #[test]
    fn refetched_offsets_are_ignored() {
        let mut p = PartitionOffsets::default();
        p.dispatched(3);
        p.finished(3);
        p.dispatched(3);
        p.dispatched(2);
        assert_eq!(p.in_flight(), 0);
        assert_eq!(p.committable(), Some(4));
    }
}
