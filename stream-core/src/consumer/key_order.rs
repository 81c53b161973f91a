//! [`Lanes`]: which of a concurrent partition worker's records may start, per its
//! [`Order`](crate::consumer::Order).
//!
//! Under [`Order::Key`] every key is a lane: a record whose key has one running (or ready to
//! run) waits behind it, so one key's records run one at a time in offset order, and a key
//! that retries holds back only its own records. Records without a key share one lane. Keys are
//! told apart by a 64-bit hash: two keys that collide are merely kept in order together. Under
//! [`Order::None`] there are no lanes. Of the records free to start, the oldest starts first:
//! the commit watermark waits for the oldest unfinished offset.

use std::collections::{BTreeMap, VecDeque};
use std::hash::BuildHasher;

use foldhash::HashMap;

use crate::consumer::order::Order;

/// The lane of a record: its key's hash, or none under [`Order::None`].
pub(super) type Lane = Option<u64>;

/// The records a concurrent worker holds: ready to start, or waiting for their lane.
pub(super) struct Lanes<T> {
    order: Order,
    hasher: foldhash::fast::FixedState,
    /// Lanes with a record running or ready, each with the records waiting behind it, in
    /// offset order.
    busy: HashMap<u64, VecDeque<(i64, T)>>,
    /// Records free to start, by offset.
    ready: BTreeMap<i64, (Lane, T)>,
    /// Records pushed and not yet done.
    held: usize,
}

impl<T> Lanes<T> {
    pub(super) fn new(order: Order) -> Self {
        Self {
            order,
            hasher: foldhash::fast::FixedState::default(),
            busy: HashMap::default(),
            ready: BTreeMap::new(),
            held: 0,
        }
    }

    /// The lane of a record with `key`.
    pub(super) fn lane_of(&self, key: Option<&[u8]>) -> Lane {
        match self.order {
            Order::None => None,
            Order::Key | Order::Partition => Some(self.hasher.hash_one(key)),
        }
    }

    /// Takes a record of `lane` in; records must come in offset order.
    pub(super) fn push(&mut self, offset: i64, lane: Lane, item: T) {
        self.held += 1;
        let Some(lane) = lane else {
            self.ready.insert(offset, (None, item));
            return;
        };
        match self.busy.get_mut(&lane) {
            Some(waiting) => waiting.push_back((offset, item)),
            None => {
                self.busy.insert(lane, VecDeque::new());
                self.ready.insert(offset, (Some(lane), item));
            }
        }
    }

    /// The oldest record free to start, with its lane.
    pub(super) fn next_ready(&mut self) -> Option<(Lane, T)> {
        self.ready.pop_first().map(|(_, ready)| ready)
    }

    /// A record of `lane` is done: the next one waiting behind it, if any, is free to start.
    pub(super) fn done(&mut self, lane: Lane) {
        self.held -= 1;
        let Some(lane) = lane else { return };
        let next = self.busy.get_mut(&lane).and_then(VecDeque::pop_front);
        match next {
            Some((offset, item)) => {
                self.ready.insert(offset, (Some(lane), item));
            }
            None => {
                self.busy.remove(&lane);
            }
        }
    }

    /// Records taken in and not yet done: running, ready, or waiting for their lane.
    pub(super) fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start_all(lanes: &mut Lanes<i64>) -> Vec<(Lane, i64)> {
        std::iter::from_fn(|| lanes.next_ready()).collect()
    }

    #[test]
    fn one_keys_records_start_one_at_a_time_in_order() {
        let mut lanes = Lanes::new(Order::Key);
        for (offset, key) in [(0, "a"), (1, "b"), (2, "a"), (3, "a"), (4, "c")] {
            lanes.push(offset, lanes.lane_of(Some(key.as_bytes())), offset);
        }
        let started = start_all(&mut lanes);
        assert_eq!(started.iter().map(|s| s.1).collect::<Vec<_>>(), [0, 1, 4]);
        let lane_a = started[0].0;
        lanes.done(lane_a);
        assert_eq!(
            start_all(&mut lanes)
                .iter()
                .map(|s| s.1)
                .collect::<Vec<_>>(),
            [2]
        );
        lanes.done(lane_a);
        assert_eq!(
            start_all(&mut lanes)
                .iter()
                .map(|s| s.1)
                .collect::<Vec<_>>(),
            [3]
        );
        assert_eq!(lanes.held(), 3, "3 running: b, c and the last a");
    }

    #[test]
    fn records_without_a_key_share_one_lane() {
        let mut lanes = Lanes::new(Order::Key);
        lanes.push(0, lanes.lane_of(None), 0);
        lanes.push(1, lanes.lane_of(None), 1);
        lanes.push(2, lanes.lane_of(Some(b"")), 2);
        let started = start_all(&mut lanes);
        assert_eq!(started.iter().map(|s| s.1).collect::<Vec<_>>(), [0, 2]);
        lanes.done(started[0].0);
        assert_eq!(
            start_all(&mut lanes)
                .iter()
                .map(|s| s.1)
                .collect::<Vec<_>>(),
            [1]
        );
    }

    #[test]
    fn without_order_everything_is_ready_oldest_first() {
        let mut lanes = Lanes::new(Order::None);
        for offset in [5, 6, 7] {
            lanes.push(offset, lanes.lane_of(Some(b"a")), offset);
        }
        let started = start_all(&mut lanes);
        assert_eq!(started, [(None, 5), (None, 6), (None, 7)]);
        for (lane, _) in started {
            lanes.done(lane);
        }
        assert_eq!(lanes.held(), 0);
    }

    #[test]
    fn a_freed_record_starts_before_younger_ready_ones() {
        let mut lanes = Lanes::new(Order::Key);
        lanes.push(0, lanes.lane_of(Some(b"a")), 0);
        lanes.push(1, lanes.lane_of(Some(b"a")), 1);
        let first = lanes.next_ready().unwrap();
        lanes.push(2, lanes.lane_of(Some(b"b")), 2);
        lanes.done(first.0);
        assert_eq!(
            start_all(&mut lanes)
                .iter()
                .map(|s| s.1)
                .collect::<Vec<_>>(),
            [1, 2]
        );
    }
}
