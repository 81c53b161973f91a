//! [`ConsumerOptions`]: what a consumer does beyond librdkafka's properties.

use std::sync::Arc;
use std::time::Duration;

use crate::consumer::order::Order;
use crate::reliability::dedup::memory::MemoryDedupStore;
use crate::reliability::dedup::{DedupStore, UnavailablePolicy};
use crate::reliability::retry::RetryPolicy;

/// Finished messages that trigger a background commit by default.
pub const DEFAULT_COMMIT_EVERY: u64 = 1_000;

/// Options of a [`MessageConsumer`](crate::consumer::MessageConsumer) beyond librdkafka's properties.
#[derive(Clone)]
pub struct ConsumerOptions {
    /// The service name: `source` of what it sends, part of dedup keys and dead-letter headers.
    pub service: String,
    /// Retry policy for retryable handler errors.
    pub retry: RetryPolicy,
    /// The dedup store; `None` turns dedup off.
    pub dedup: Option<Arc<dyn DedupStore>>,
    /// What to do when the dedup store cannot answer.
    pub dedup_policy: UnavailablePolicy,
    /// Whether failed messages go to `<topic>.dlq` (otherwise they are logged and skipped).
    pub dlq: bool,
    /// Partitions of a dead-letter topic created on first use when those of the topic it serves
    /// cannot be read (it gets as many as that topic otherwise).
    pub dlq_partitions: i32,
    /// The longest time between background commits of finished offsets.
    pub commit_interval: Duration,
    /// Finished messages that trigger a background commit before `commit_interval` has passed
    /// (at least 1). With `commit_interval`, it bounds what a crash replays.
    pub commit_every: u64,
    /// The name of this instance of the service (`STREAMKIT_INSTANCE`), stable across restarts:
    /// with one, the consumer is a static group member (`group.instance.id`), so a restarted
    /// instance takes its partitions back at once, and takes over its earlier run's dedup claims.
    pub instance: Option<String>,
    /// Messages queued per partition before the partition is paused. With `concurrency` above
    /// 1, the worker holds up to this many more (running, or waiting for their key), however
    /// hot one key is.
    pub partition_queue: usize,
    /// Records of one partition handled at the same time (default 1: one at a time, in offset
    /// order). Above 1, `order` says what stays in order. Not with `exactly_once`.
    pub concurrency: usize,
    /// What stays in order when `concurrency` is above 1 (default [`Order::Key`]).
    pub order: Order,
    /// Hand a batch handler batches of a partition's records (set by
    /// [`MessageConsumer::run_batch`](crate::consumer::MessageConsumer::run_batch)); `None` for
    /// one record at a time.
    pub batch: Option<BatchOptions>,
    /// How long in-flight handlers may run on shutdown and on partition revoke.
    pub shutdown_timeout: Duration,
    /// How often topic metadata is refreshed, i.e. how soon a new topic matching a pattern is
    /// picked up (`topic.metadata.refresh.interval.ms`).
    pub metadata_refresh: Duration,
    /// How long a dead-letter write that fails for a retryable reason (broker unreachable,
    /// timeout) is retried, with backoff, before the consumer gives up: it then stops with
    /// [`Error::DeadLetter`](crate::Error::DeadLetter), the message's offset uncommitted. A dead letter that cannot fit
    /// even as a reference stops it at once. 60 s by default.
    pub dlq_write_timeout: Duration,
    /// Consume and publish in Kafka transactions: what the handler publishes, its dead letters
    /// and the input offsets commit together, every `commit_every` messages or
    /// `commit_interval`, whichever comes first (see the guide's "Delivery semantics"). The
    /// consumer then writes with a transactional producer of its own
    /// (`transactional.id` `<service>-<group>-<instance>`), not one given with
    /// [`MessageConsumer::producer`](crate::consumer::MessageConsumer::producer), and turns dedup
    /// off.
    pub exactly_once: bool,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self {
            service: "streamkit".into(),
            retry: RetryPolicy::default(),
            dedup: Some(Arc::new(MemoryDedupStore::default())),
            dedup_policy: UnavailablePolicy::default(),
            dlq: true,
            dlq_partitions: 1,
            commit_interval: Duration::from_millis(500),
            commit_every: DEFAULT_COMMIT_EVERY,
            instance: None,
            partition_queue: 1024,
            concurrency: 1,
            order: Order::Key,
            batch: None,
            shutdown_timeout: Duration::from_secs(30),
            metadata_refresh: Duration::from_secs(10),
            dlq_write_timeout: Duration::from_secs(60),
            exactly_once: false,
        }
    }
}

/// How a batch is made: up to `max` records of one partition, in offset order, waiting at most
/// `linger` after its first record for more.
///
/// ```
/// let b = stream_core::consumer::BatchOptions::default();
/// assert_eq!((b.max, b.linger.as_millis()), (500, 50));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// The most records in one batch (at least 1).
    pub max: usize,
    /// How long a batch waits for more records after its first.
    pub linger: Duration,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            max: 500,
            linger: Duration::from_millis(50),
        }
    }
}

impl ConsumerOptions {
    /// Whether a partition's worker handles several records at once: `concurrency` above 1 and
    /// an order other than [`Order::Partition`].
    pub fn is_concurrent(&self) -> bool {
        self.concurrency > 1 && self.order != Order::Partition
    }
}

impl std::fmt::Debug for ConsumerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerOptions")
            .field("service", &self.service)
            .field("retry", &self.retry)
            .field("dedup", &self.dedup.as_ref().map(|d| d.name()))
            .field("dedup_policy", &self.dedup_policy)
            .field("dlq", &self.dlq)
            .field("commit_interval", &self.commit_interval)
            .field("commit_every", &self.commit_every)
            .field("instance", &self.instance)
            .field("concurrency", &self.concurrency)
            .field("order", &self.order)
            .field("batch", &self.batch)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("exactly_once", &self.exactly_once)
            .finish_non_exhaustive()
    }
}
