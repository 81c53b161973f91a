//! `MemoryDedupStore`: the default dedup store, in process memory, bounded in size and time.
//!
//! Ids are kept in a map ordered by id. Envelope ids are UUIDv7, which sort by creation time, so
//! the oldest ids are the first entries: eviction drops ids created more than `ttl` ago and, past
//! `capacity`, the oldest ones. The window in which a duplicate is caught is therefore bounded by
//! the id's own time, not by when this process saw it. The store does not survive a restart: use
//! [`RedisDedupStore`](super::redis::RedisDedupStore) for that.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use uuid::Uuid;

use super::{DEFAULT_TTL, DedupError, DedupKey, DedupStore};

/// One namespace (service, group, broker) that marked an id done.
type Namespace = (String, String, String);

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
    ids: Mutex<BTreeMap<Uuid, Vec<Namespace>>>,
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
            ids: Mutex::new(BTreeMap::new()),
        }
    }

    /// Ids currently remembered.
    pub fn len(&self) -> usize {
        self.ids.lock().expect("dedup ids").len()
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
                created_ms + (self.ttl.as_millis() as u64) < now_ms
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

impl DedupStore for MemoryDedupStore {
    fn is_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<bool, DedupError>> {
        let found = self
            .ids
            .lock()
            .expect("dedup ids")
            .get(&key.event_id)
            .is_some_and(|nss| nss.iter().any(|ns| same_namespace(ns, key)));
        Box::pin(async move { Ok(found) })
    }

    fn mark_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<(), DedupError>> {
        let now = now_ms();
        let mut ids = self.ids.lock().expect("dedup ids");
        let nss = ids.entry(key.event_id).or_default();
        if !nss.iter().any(|ns| same_namespace(ns, key)) {
            nss.push((key.service.clone(), key.group.clone(), key.broker.clone()));
        }
        while ids.len() > self.capacity {
            ids.pop_first();
        }
        while let Some((id, _)) = ids.first_key_value() {
            if self.expired(id, now) {
                ids.pop_first();
            } else {
                break;
            }
        }
        drop(ids);
        Box::pin(async { Ok(()) })
    }

    fn name(&self) -> &'static str {
        "memory"
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
        store
            .mark_done(&key("paper", Uuid::now_v7()))
            .await
            .unwrap();
        assert!(!store.is_done(&key("paper", old)).await.unwrap());
        assert_eq!(store.len(), 1);
    }
}
