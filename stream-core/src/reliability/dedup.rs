//! Deduplication on the envelope id: the `DedupStore` trait and its key.
//!
//! Kafka delivers at least once; a handler runs effectively once because the consumer asks the
//! store whether an event id is already done before calling the handler, and marks it done only
//! after the handler succeeded. Two stores ship: [`memory::MemoryDedupStore`] (the default,
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
/// Implementations must be cheap to call concurrently; the consumer calls [`DedupStore::is_done`]
/// before a handler and [`DedupStore::mark_done`] after it succeeded.
pub trait DedupStore: Send + Sync + 'static {
    /// Whether `key` was marked done (within the store's retention).
    fn is_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<bool, DedupError>>;
    /// Remembers `key` as done.
    fn mark_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<(), DedupError>>;
    /// A short name for logs and metrics (`memory`, `redis`).
    fn name(&self) -> &'static str;

    /// [`DedupStore::is_done`] answered at once, for a store that needs no I/O to answer (one in
    /// process memory); `None` (the default) means the consumer awaits `is_done`. Saves the
    /// boxed future on every message.
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
}

/// Asks `store` whether `key` is done, at once when it can answer at once.
pub(crate) async fn is_done(store: &dyn DedupStore, key: &DedupKey) -> Result<bool, DedupError> {
    match store.is_done_now(key) {
        Some(answer) => answer,
        None => store.is_done(key).await,
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
