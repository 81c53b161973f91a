//! Deduplication on the envelope id: the `DedupStore` trait and its key.
//!
//! Kafka delivers at least once; a handler runs effectively once because the consumer claims an
//! event id in the store before calling the handler ([`DedupStore::claim`]: done already, held by
//! another instance, or now ours), marks it done only after the handler succeeded, and releases
//! the claim when the handler failed. Two stores ship: [`memory::MemoryDedupStore`] (the default,
//! bounded, per process) and [`redis::RedisDedupStore`] (shared across restarts and instances).
//! Keys are namespaced by service, consumer group and trading broker
//! (`<service>:<group>:<broker>:<event id>`) so namespaces never see each other's ids.

pub mod memory;
pub mod redis;

use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;
use uuid::Uuid;

/// What identifies one handled event: service, consumer group, trading broker and event id.
///
/// ```
/// use stream_core::reliability::dedup::DedupKey;
/// let id = uuid::Uuid::nil();
/// let key = DedupKey::new("risk", "risk.signals", "paper", id);
/// assert_eq!(key.to_string(), "risk:risk.signals:paper:00000000-0000-0000-0000-000000000000");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupKey {
    /// The service name.
    pub service: String,
    /// The consumer group.
    pub group: String,
    /// The trading broker namespace of the topic the event came from.
    pub broker: String,
    /// The envelope id.
    pub event_id: Uuid,
}

impl DedupKey {
    /// A key for `event_id` in the namespace of `service`, `group` and `broker`.
    pub fn new(
        service: impl Into<String>,
        group: impl Into<String>,
        broker: impl Into<String>,
        event_id: Uuid,
    ) -> Self {
        Self {
            service: service.into(),
            group: group.into(),
            broker: broker.into(),
            event_id,
        }
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.service, self.group, self.broker, self.event_id
        )
    }
}

/// A dedup store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    /// The store's backend is unreachable (network, server down, timeout).
    #[error("dedup store unavailable: {0}")]
    Unavailable(String),
}

/// What a [`DedupStore::claim`] found.
///
/// ```
/// use stream_core::reliability::dedup::Claim;
/// assert_ne!(Claim::Acquired, Claim::Held);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The id is now claimed by the caller (or its claim renewed): run the handler.
    Acquired,
    /// The id was marked done: skip it.
    Done,
    /// Another consumer holds a live claim on the id (it is running the handler): wait, then ask
    /// again. A claim whose holder died lapses after the store's lease.
    Held,
}

/// Who claims an event id: one consumer run of one instance.
///
/// A claim held by an earlier run of the same named instance (a process killed and restarted
/// under the same `STREAMKIT_INSTANCE`) is taken over at once: that run is dead, since static
/// group membership lets only one run of a name consume. Without an instance name a dead run's
/// claims lapse after the store's lease.
///
/// ```
/// use stream_core::reliability::dedup::ClaimOwner;
/// let a = ClaimOwner::new(Some("risk-1"));
/// let b = ClaimOwner::new(Some("risk-1"));
/// assert_eq!(a.instance(), Some("risk-1"));
/// assert_ne!(a.token(), b.token()); // two runs of one instance
/// assert!(b.token().starts_with(a.instance_prefix()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimOwner {
    instance: Option<String>,
    token: String,
    prefix_len: usize,
}

impl ClaimOwner {
    /// The owner for this run of `instance` (none: an unnamed instance). Line breaks in the name
    /// are replaced, since they separate the token's parts.
    pub fn new(instance: Option<&str>) -> Self {
        let instance = instance.map(|i| i.replace(['\n', '\r'], "_"));
        let prefix = format!("claim:{}\n", instance.as_deref().unwrap_or(""));
        let prefix_len = if instance.is_some() { prefix.len() } else { 0 };
        let token = format!("{prefix}{}", Uuid::now_v7());
        Self {
            instance,
            token,
            prefix_len,
        }
    }

    /// The instance name, if the owner has one.
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    /// The value a claim of this owner is stored as (unique per run).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// What every run of this owner's instance starts its token with (empty without a name: no
    /// run takes over another's claims).
    pub fn instance_prefix(&self) -> &str {
        &self.token[..self.prefix_len]
    }
}

/// What the consumer does when the dedup store cannot answer.
///
/// ```
/// use stream_core::reliability::dedup::UnavailablePolicy;
/// assert_eq!(UnavailablePolicy::default(), UnavailablePolicy::Pause);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnavailablePolicy {
    /// Handle the event anyway (at-least-once: a duplicate may run while the store is down);
    /// each such event is counted and logged.
    ProcessAnyway,
    /// Wait and ask again with backoff; the partition makes no progress until the store answers
    /// (nothing runs twice). The service keeps running and other partitions wait the same way.
    #[default]
    Pause,
}

/// Where handled event ids are remembered.
///
/// Implementations must be cheap to call concurrently; the consumer calls [`DedupStore::claim`]
/// before a handler, [`DedupStore::mark_done`] after it succeeded and [`DedupStore::release`]
/// after it failed. A store that only implements `is_done` and `mark_done` gets a claim that is
/// a plain `is_done` check: enough within one process, not atomic across instances.
pub trait DedupStore: Send + Sync + 'static {
    /// Whether `key` was marked done (within the store's retention).
    fn is_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<bool, DedupError>>;
    /// Remembers `key` as done.
    fn mark_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<(), DedupError>>;
    /// A short name for logs and metrics (`memory`, `redis`).
    fn name(&self) -> &'static str;

    /// Claims `key` for `owner` before its handler runs, atomically where the store is shared:
    /// of two consumers that ask at once, one gets [`Claim::Acquired`] and the other
    /// [`Claim::Held`] until the first marks it done or releases it. Asking again with a claim
    /// already held renews its lease. The default is [`DedupStore::is_done`].
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: &'a ClaimOwner,
    ) -> BoxFuture<'a, Result<Claim, DedupError>> {
        let _ = owner;
        Box::pin(async move {
            Ok(if self.is_done(key).await? {
                Claim::Done
            } else {
                Claim::Acquired
            })
        })
    }

    /// Gives up `owner`'s claim on `key` (its handler failed: a redelivery may run it again).
    /// A claim of someone else, or a done mark, is left as it is. The default does nothing.
    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: &'a ClaimOwner,
    ) -> BoxFuture<'a, Result<(), DedupError>> {
        let _ = (key, owner);
        Box::pin(async { Ok(()) })
    }

    /// [`DedupStore::is_done`] answered at once, for a store that needs no I/O to answer (one in
    /// process memory); `None` (the default) means the consumer awaits `is_done`. Saves the
    /// boxed future on every message. Such a store is asked nothing else before a handler runs:
    /// this answer is its claim.
    ///
    /// ```
    /// use stream_core::reliability::dedup::{DedupKey, DedupStore, memory::MemoryDedupStore};
    /// let store = MemoryDedupStore::default();
    /// let key = DedupKey::new("risk", "risk.signals", "paper", uuid::Uuid::now_v7());
    /// assert!(matches!(store.is_done_now(&key), Some(Ok(false))));
    /// ```
    fn is_done_now(&self, key: &DedupKey) -> Option<Result<bool, DedupError>> {
        let _ = key;
        None
    }

    /// [`DedupStore::mark_done`] done at once, when the store can; `None` (the default) means
    /// the consumer awaits `mark_done`.
    ///
    /// ```
    /// use stream_core::reliability::dedup::{DedupKey, DedupStore, memory::MemoryDedupStore};
    /// let store = MemoryDedupStore::default();
    /// let key = DedupKey::new("risk", "risk.signals", "paper", uuid::Uuid::now_v7());
    /// assert!(matches!(store.mark_done_now(&key), Some(Ok(()))));
    /// assert!(matches!(store.is_done_now(&key), Some(Ok(true))));
    /// ```
    fn mark_done_now(&self, key: &DedupKey) -> Option<Result<(), DedupError>> {
        let _ = key;
        None
    }

    /// [`DedupStore::mark_done_now`] for several events of `key`'s namespace at once (`key`'s
    /// own event id is ignored): what a partition's worker marks when it settles a run of
    /// handled messages. `None` (the default) means the consumer marks them one by one.
    ///
    /// ```
    /// use stream_core::reliability::dedup::{DedupKey, DedupStore, memory::MemoryDedupStore};
    /// let store = MemoryDedupStore::default();
    /// let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    /// let mut key = DedupKey::new("risk", "risk.signals", "paper", a);
    /// assert!(matches!(store.mark_many_done_now(&key, &[a, b]), Some(Ok(()))));
    /// key.event_id = b;
    /// assert!(matches!(store.is_done_now(&key), Some(Ok(true))));
    /// ```
    fn mark_many_done_now(
        &self,
        key: &DedupKey,
        event_ids: &[Uuid],
    ) -> Option<Result<(), DedupError>> {
        let _ = (key, event_ids);
        None
    }
}

/// Claims `key` in `store`: at once when the store answers `is_done` at once (it keeps no claims
/// of its own then), otherwise through [`DedupStore::claim`].
pub(crate) async fn claim(
    store: &dyn DedupStore,
    key: &DedupKey,
    owner: &ClaimOwner,
) -> Result<Claim, DedupError> {
    match store.is_done_now(key) {
        Some(Ok(true)) => Ok(Claim::Done),
        Some(Ok(false)) => Ok(Claim::Acquired),
        Some(Err(error)) => Err(error),
        None => store.claim(key, owner).await,
    }
}

/// Marks `key` done in `store`, at once when it can.
pub(crate) async fn mark_done(store: &dyn DedupStore, key: &DedupKey) -> Result<(), DedupError> {
    match store.mark_done_now(key) {
        Some(answer) => answer,
        None => store.mark_done(key).await,
    }
}

/// How long an id is remembered by default: one day.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
