//! `MemoryDedupStore`: the default dedup store, in process memory, bounded in size and time.
//!
//! Ids are kept in a hash map (one lookup per message on the hot path), and in the order they
//! were marked, for eviction: past `capacity` the earliest marked go first, and every 64 marks so
//! does every id at the front of that order created more than `ttl` ago (a lookup never reports
//! an id older than `ttl` done, swept yet or not). Envelope ids are UUIDv7, which carry
//! their creation time, so the window in which a duplicate is caught is bounded by the id's own
//! time, not by when this process saw it (an id marked out of creation order waits behind newer
//! ones until they expire, or until capacity pushes it out). The map hashes with foldhash,
//! several times cheaper than std's SipHash on a 16-byte id and seeded at random per map, so a
//! sender cannot aim ids at one bucket without the seed, which it never sees. The store does not
//! survive a restart: use [`RedisDedupStore`](super::redis::RedisDedupStore) for that.

use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use foldhash::HashMap;
use futures::future::BoxFuture;
use uuid::Uuid;

use super::{DEFAULT_TTL, DedupError, DedupKey, DedupStore};

/// One namespace (service, group, broker) that marked an id done.
type Namespace = (String, String, String);

/// The value of an id marked in several namespaces, whose namespaces are in
/// [`Ids::several`].
const SEVERAL: u32 = u32::MAX;

/// The remembered ids, and the namespaces they were marked in, each stored once (a store sees
/// few of them: one per service, group and broker).
///
/// An id maps to the index of the one namespace that marked it, nearly always, or to
/// [`SEVERAL`]: 20 bytes an entry, so that a lookup, nearly always for an id not there, touches
/// as little memory as it can (the map outgrows every cache; a lookup's cost is its misses).
#[derive(Debug, Default)]
struct Ids {
    ids: HashMap<Uuid, u32>,
    /// The namespaces of the ids marked in more than one.
    several: HashMap<Uuid, Vec<u32>>,
    /// The ids of `ids` in the order they were first marked.
    order: VecDeque<Uuid>,
    namespaces: Vec<Namespace>,
    /// Marks since expired ids were last dropped.
    since_sweep: u32,
}

impl Ids {
    fn contains(&self, id: &Uuid, ns: u32) -> bool {
        match self.ids.get(id) {
            Some(&SEVERAL) => self.several.get(id).is_some_and(|all| all.contains(&ns)),
            Some(&one) => one == ns,
            None => false,
        }
    }

    /// Marks `id` in `ns`; true when the id was not remembered before.
    fn insert(&mut self, id: Uuid, ns: u32) -> bool {
        match self.ids.entry(id) {
            Entry::Vacant(slot) => {
                slot.insert(ns);
                true
            }
            Entry::Occupied(mut marked) => {
                match *marked.get() {
                    one if one == ns => {}
                    SEVERAL => {
                        let all = self.several.entry(id).or_default();
                        if !all.contains(&ns) {
                            all.push(ns);
                        }
                    }
                    one => {
                        self.several.insert(id, vec![one, ns]);
                        marked.insert(SEVERAL);
                    }
                }
                false
            }
        }
    }

    fn remove(&mut self, id: &Uuid) {
        if self.ids.remove(id) == Some(SEVERAL) {
            self.several.remove(id);
        }
    }
}

/// Marks between two sweeps of expired ids: a sweep reads the clock, which a mark on every
/// message should not. A lookup checks the age of an id it finds itself, so an expired id is
/// never reported done while it waits for the next sweep.
const SWEEP_EVERY: u32 = 64;

impl Ids {
    fn namespace(&self, key: &DedupKey) -> Option<u32> {
        self.namespaces
            .iter()
            .position(|ns| same_namespace(ns, key))
            .map(|i| i as u32)
    }

    fn namespace_or_add(&mut self, key: &DedupKey) -> u32 {
        self.namespace(key).unwrap_or_else(|| {
            self.namespaces
                .push((key.service.clone(), key.group.clone(), key.broker.clone()));
            u32::try_from(self.namespaces.len() - 1)
                .ok()
                .filter(|&ns| ns != SEVERAL)
                .expect("fewer dedup namespaces than u32::MAX")
        })
    }
}

/// In-memory, bounded dedup store (the default).
///
/// ```
/// use stream_core::reliability::dedup::{DedupKey, DedupStore, memory::MemoryDedupStore};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let store = MemoryDedupStore::new(10_000, std::time::Duration::from_secs(3600));
/// let key = DedupKey::new("risk", "risk.signals", "paper", uuid::Uuid::now_v7());
/// assert!(!store.is_done(&key).await.unwrap());
/// store.mark_done(&key).await.unwrap();
/// assert!(store.is_done(&key).await.unwrap());
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryDedupStore {
    capacity: usize,
    ttl: Duration,
    ids: Mutex<Ids>,
}

impl Default for MemoryDedupStore {
    /// 1,000,000 ids, one day.
    fn default() -> Self {
        Self::new(1_000_000, DEFAULT_TTL)
    }
}

impl MemoryDedupStore {
    /// A store keeping at most `capacity` ids, none created more than `ttl` ago.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            ids: Mutex::new(Ids::default()),
        }
    }

    /// Ids currently remembered.
    pub fn len(&self) -> usize {
        self.ids.lock().expect("dedup ids").ids.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expired(&self, id: &Uuid, now_ms: u64) -> bool {
        match id.get_timestamp() {
            Some(ts) => {
                let (secs, nanos) = ts.to_unix();
                let created_ms = secs * 1000 + u64::from(nanos) / 1_000_000;
                let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
                created_ms.saturating_add(ttl_ms) < now_ms
            }
            None => false,
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn same_namespace(ns: &Namespace, key: &DedupKey) -> bool {
    ns.0 == key.service && ns.1 == key.group && ns.2 == key.broker
}

impl MemoryDedupStore {
    fn check(&self, key: &DedupKey) -> bool {
        let found = {
            let ids = self.ids.lock().expect("dedup ids");
            ids.namespace(key)
                .is_some_and(|ns| ids.contains(&key.event_id, ns))
        };
        found && !self.expired(&key.event_id, now_ms())
    }

    fn mark(&self, key: &DedupKey) {
        self.mark_many(key, &[key.event_id]);
    }

    /// Marks `event_ids` in `key`'s namespace under one lock: the map is shared by every
    /// partition's worker, and taking its lock (and the cache lines it guards) from another
    /// core costs more than an insert.
    fn mark_many(&self, key: &DedupKey, event_ids: &[Uuid]) {
        let mut guard = self.ids.lock().expect("dedup ids");
        let ids = &mut *guard;
        let ns = ids.namespace_or_add(key);
        for &id in event_ids {
            if ids.insert(id, ns) {
                ids.order.push_back(id);
            }
            ids.after_mark(self);
        }
    }
}

impl Ids {
    /// Keeps the store within its capacity, and every [`SWEEP_EVERY`] marks drops the ids at
    /// the front of the mark order that are past the store's ttl.
    fn after_mark(&mut self, store: &MemoryDedupStore) {
        let ids = self;
        while ids.ids.len() > store.capacity {
            let Some(oldest) = ids.order.pop_front() else {
                break;
            };
            ids.remove(&oldest);
        }
        ids.since_sweep += 1;
        if ids.since_sweep < SWEEP_EVERY {
            return;
        }
        ids.since_sweep = 0;
        let now = now_ms();
        while let Some(&oldest) = ids.order.front() {
            if !store.expired(&oldest, now) {
                break;
            }
            ids.remove(&oldest);
            ids.order.pop_front();
        }
    }
}

impl DedupStore for MemoryDedupStore {
    fn is_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<bool, DedupError>> {
        let found = self.check(key);
        Box::pin(async move { Ok(found) })
    }

    fn mark_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<(), DedupError>> {
        self.mark(key);
        Box::pin(async { Ok(()) })
    }

    fn name(&self) -> &'static str {
        "memory"
    }

    fn is_done_now(&self, key: &DedupKey) -> Option<Result<bool, DedupError>> {
        Some(Ok(self.check(key)))
    }

    fn mark_done_now(&self, key: &DedupKey) -> Option<Result<(), DedupError>> {
        self.mark(key);
        Some(Ok(()))
    }

    fn mark_many_done_now(
        &self,
        key: &DedupKey,
        event_ids: &[Uuid],
    ) -> Option<Result<(), DedupError>> {
        self.mark_many(key, event_ids);
        Some(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ns: &str, id: Uuid) -> DedupKey {
        DedupKey::new("svc", "grp", ns, id)
    }

    #[tokio::test]
    async fn namespaces_stay_apart() {
        let store = MemoryDedupStore::default();
        let id = Uuid::now_v7();
        store.mark_done(&key("paper", id)).await.unwrap();
        assert!(store.is_done(&key("paper", id)).await.unwrap());
        assert!(!store.is_done(&key("zerodha", id)).await.unwrap());
        let other_group = DedupKey::new("svc", "other", "paper", id);
        assert!(!store.is_done(&other_group).await.unwrap());
    }

    #[tokio::test]
    async fn one_id_done_in_several_namespaces() {
        let store = MemoryDedupStore::default();
        let id = Uuid::now_v7();
        for ns in ["paper", "zerodha", "paper"] {
            store.mark_done(&key(ns, id)).await.unwrap();
        }
        assert!(store.is_done(&key("paper", id)).await.unwrap());
        assert!(store.is_done(&key("zerodha", id)).await.unwrap());
        assert!(!store.is_done(&key("upstox", id)).await.unwrap());
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn capacity_evicts_the_oldest_ids() {
        let store = MemoryDedupStore::new(3, DEFAULT_TTL);
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        for id in &ids {
            store.mark_done(&key("paper", *id)).await.unwrap();
        }
        assert_eq!(store.len(), 3);
        assert!(!store.is_done(&key("paper", ids[0])).await.unwrap());
        assert!(!store.is_done(&key("paper", ids[1])).await.unwrap());
        assert!(store.is_done(&key("paper", ids[4])).await.unwrap());
    }

    #[tokio::test]
    async fn an_id_of_several_namespaces_is_evicted_from_all() {
        let store = MemoryDedupStore::new(2, DEFAULT_TTL);
        let shared = Uuid::now_v7();
        for ns in ["paper", "zerodha", "kite"] {
            store.mark_done(&key(ns, shared)).await.unwrap();
        }
        assert!(store.is_done(&key("kite", shared)).await.unwrap());
        for _ in 0..2 {
            store
                .mark_done(&key("paper", Uuid::now_v7()))
                .await
                .unwrap();
        }
        for ns in ["paper", "zerodha", "kite"] {
            assert!(!store.is_done(&key(ns, shared)).await.unwrap(), "{ns}");
        }
        assert!(store.ids.lock().unwrap().several.is_empty());
        assert_eq!(store.len(), 2);
    }

    #[tokio::test]
    async fn a_ttl_too_long_to_count_in_milliseconds_keeps_ids() {
        let store = MemoryDedupStore::new(100, Duration::MAX);
        let id = Uuid::now_v7();
        store.mark_done(&key("paper", id)).await.unwrap();
        store
            .mark_done(&key("paper", Uuid::now_v7()))
            .await
            .unwrap();
        assert!(store.is_done(&key("paper", id)).await.unwrap());
        assert_eq!(store.len(), 2);
    }

    #[tokio::test]
    async fn ids_older_than_the_ttl_are_dropped() {
        let store = MemoryDedupStore::new(100, Duration::from_secs(60));
        // An id created two minutes ago (UUIDv7 carries its creation time).
        let old_ms = now_ms() - 120_000;
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            old_ms / 1000,
            ((old_ms % 1000) * 1_000_000) as u32,
        );
        let old = Uuid::new_v7(ts);
        store.mark_done(&key("paper", old)).await.unwrap();
        assert!(!store.is_done(&key("paper", old)).await.unwrap());
        for _ in 1..SWEEP_EVERY {
            assert_eq!(store.ids.lock().unwrap().order.front(), Some(&old));
            store
                .mark_done(&key("paper", Uuid::now_v7()))
                .await
                .unwrap();
        }
        assert!(!store.is_done(&key("paper", old)).await.unwrap());
        assert_eq!(store.len(), SWEEP_EVERY as usize - 1);
    }
}
