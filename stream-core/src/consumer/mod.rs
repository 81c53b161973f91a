//! `MessageConsumer`: subscription, fetch loop, per-partition dispatch, commits.
//!
//! How a message travels:
//!
//! 1. One dedicated thread polls librdkafka (so rebalance callbacks can block safely) and hands
//!    each record to its partition's worker, a tokio task. One partition's messages are handled
//!    strictly in order; partitions run concurrently. A worker that falls behind gets its
//!    partition paused instead of stalling the others.
//! 2. The worker decodes the envelope (undecodable: straight to the dead-letter topic), asks the
//!    [`DedupStore`] whether the id is done (then it is skipped and counted), calls the handler,
//!    retries retryable errors in place per the [`RetryPolicy`], and dead-letters what still
//!    fails. A panic in a handler is caught and treated as an error.
//!    A handler that publishes with [`Context::publish`](crate::handler::extract::Context::publish) does
//!    not wait for the broker: the worker awaits those deliveries, in order, alongside the next
//!    messages, and the message is finished (marked done, committable) once they are
//!    acknowledged, or dead-lettered if one fails.
//! 3. An offset is committed only when it and everything before it in its partition is finished
//!    ([`offsets`](crate::consumer::offsets)). Commits happen in the background once `commit_every`
//!    messages have finished or `commit_interval` has passed, whichever comes first, and
//!    synchronously when partitions are revoked and at shutdown. What a crash replays is bounded
//!    by those two settings.
//!
//! `enable.auto.commit` is always off. Delivery is at-least-once; with dedup on, handlers run
//! effectively once.

pub mod offsets;

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use chrono::Utc;
use foldhash::{HashMap, HashSet};
use futures::FutureExt;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::{Notify, mpsc};
use tracing::Instrument;

use crate::consumer::offsets::PartitionOffsets;
use crate::envelope::codec::RawEnvelope;
use crate::error::{Error, Result};
use crate::handler::{ErrorKind, HandlerError, Incoming, MessageHandler};
use crate::kafka::config::KafkaConfig;
use crate::kafka::producer::MessageProducer;
use crate::kafka::record::{InPlace, RecordMeta};
use crate::kafka::subscription::Subscription;
use crate::reliability::contract;
use crate::reliability::dedup::memory::MemoryDedupStore;
use crate::reliability::dedup::{Claim, ClaimOwner, DedupKey, DedupStore, UnavailablePolicy};
use crate::reliability::dlq::{DeadLetter, DeadLetterWriter, WriteError, Written};
use crate::reliability::retry::RetryPolicy;
use crate::topic::Broker;

/// Counters of what a consumer did. Read them any time through [`MessageConsumer::stats`].
#[derive(Debug, Default)]
pub struct ConsumerStats {
    /// Records received from Kafka.
    pub received: AtomicU64,
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
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
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

/// Stops a running consumer from anywhere; cheap to clone.
///
/// ```
/// let handle = stream_core::consumer::ShutdownHandle::new();
/// assert!(!handle.is_requested());
/// handle.shutdown();
/// assert!(handle.is_requested());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ShutdownHandle {
    inner: Arc<ShutdownInner>,
}

#[derive(Debug, Default)]
struct ShutdownInner {
    requested: AtomicBool,
    notify: Notify,
}

impl ShutdownHandle {
    /// A handle nobody has triggered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the consumer to stop: stop fetching, finish in-flight messages within the shutdown
    /// timeout, commit, leave the group.
    pub fn shutdown(&self) {
        self.inner.requested.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether a shutdown was asked for.
    pub fn is_requested(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// Resolves once a shutdown is asked for.
    pub async fn requested(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }
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

/// Finished messages that trigger a background commit by default.
pub const DEFAULT_COMMIT_EVERY: u64 = 1_000;

/// Options of a [`MessageConsumer`] beyond librdkafka's properties.
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
    /// Messages queued per partition before the partition is paused.
    pub partition_queue: usize,
    /// How long in-flight handlers may run on shutdown and on partition revoke.
    pub shutdown_timeout: Duration,
    /// How often topic metadata is refreshed, i.e. how soon a new topic matching a pattern is
    /// picked up (`topic.metadata.refresh.interval.ms`).
    pub metadata_refresh: Duration,
    /// How long a dead-letter write that fails for a retryable reason (broker unreachable,
    /// timeout) is retried, with backoff, before the consumer gives up: it then stops with
    /// [`Error::DeadLetter`], the message's offset uncommitted. A dead letter that cannot fit
    /// even as a reference stops it at once. 60 s by default.
    pub dlq_write_timeout: Duration,
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
            shutdown_timeout: Duration::from_secs(30),
            metadata_refresh: Duration::from_secs(10),
            dlq_write_timeout: Duration::from_secs(60),
        }
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
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

/// A consumer group member that dispatches envelopes to a handler.
///
/// ```no_run
/// use std::sync::Arc;
/// use stream_core::{KafkaConfig, MessageConsumer, handler::{Incoming, HandlerError}};
/// # async fn run() -> stream_core::Result<()> {
/// let consumer = MessageConsumer::new(
///     &KafkaConfig::new("127.0.0.1:19092"),
///     &["*.signals.raw"],
///     "risk-manager.signals",
/// )?
/// .service("risk-manager");
/// let stop = consumer.shutdown_handle();
/// tokio::spawn(async move { tokio::signal::ctrl_c().await.ok(); stop.shutdown(); });
/// let report = consumer
///     .run(|msg: Arc<Incoming>| async move {
///         println!("{} on {}", msg.envelope.event_type, msg.record.broker);
///         Ok::<(), HandlerError>(())
///     })
///     .await?;
/// println!("handled {}", report.stats.handled);
/// # Ok(()) }
/// ```
#[must_use = "a consumer does nothing until run"]
pub struct MessageConsumer {
    config: KafkaConfig,
    subscription: Subscription,
    group: String,
    options: ConsumerOptions,
    producer: Option<MessageProducer>,
    stats: Arc<ConsumerStats>,
    shutdown: ShutdownHandle,
}

impl std::fmt::Debug for MessageConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageConsumer")
            .field("group", &self.group)
            .field("subscription", &self.subscription)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl MessageConsumer {
    /// A consumer in group `group_id` for `topics` (names or `*` patterns).
    pub fn new(config: &KafkaConfig, topics: &[&str], group_id: &str) -> Result<Self> {
        let subscription = Subscription::parse(topics)?;
        if group_id.trim().is_empty() {
            return Err(Error::Config {
                key: "group.id".into(),
                message: "expected a consumer group name, found an empty string".into(),
            });
        }
        if let Some(v) = config.get("enable.auto.commit")
            && v.trim() != "false"
        {
            return Err(Error::Config {
                key: "enable.auto.commit".into(),
                message: format!(
                    "expected `false` (streamkit commits only finished offsets), found `{v}`"
                ),
            });
        }
        Ok(Self {
            config: config.clone(),
            subscription,
            group: group_id.to_owned(),
            options: ConsumerOptions::default(),
            producer: None,
            stats: Arc::new(ConsumerStats::default()),
            shutdown: ShutdownHandle::new(),
        })
    }

    /// Sets the service name (default `streamkit`).
    pub fn service(mut self, name: &str) -> Self {
        self.options.service = name.to_owned();
        self
    }

    /// Replaces all options at once.
    pub fn options(mut self, options: ConsumerOptions) -> Self {
        self.options = options;
        self
    }

    /// The producer used for dead letters and handed to handlers (default: one created from the
    /// same configuration on [`MessageConsumer::run`]).
    pub fn producer(mut self, producer: MessageProducer) -> Self {
        self.producer = Some(producer);
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.options.retry = policy;
        self
    }

    /// Sets the dedup store.
    pub fn dedup(mut self, store: Arc<dyn DedupStore>) -> Self {
        self.options.dedup = Some(store);
        self
    }

    /// Turns dedup off (every delivery runs the handler).
    pub fn no_dedup(mut self) -> Self {
        self.options.dedup = None;
        self
    }

    /// Sets what happens while the dedup store is unavailable.
    pub fn dedup_policy(mut self, policy: UnavailablePolicy) -> Self {
        self.options.dedup_policy = policy;
        self
    }

    /// Turns dead-letter topics on or off.
    pub fn dlq(mut self, enabled: bool) -> Self {
        self.options.dlq = enabled;
        self
    }

    /// Sets the background commit interval.
    pub fn commit_interval(mut self, every: Duration) -> Self {
        self.options.commit_interval = every;
        self
    }

    /// Sets how many finished messages trigger a background commit (at least 1).
    pub fn commit_every(mut self, messages: u64) -> Self {
        self.options.commit_every = messages.max(1);
        self
    }

    /// Names this instance (stable across restarts): the consumer joins as a static member
    /// (`group.instance.id`), unless the configuration sets `group.instance.id` itself.
    pub fn instance(mut self, name: &str) -> Self {
        self.options.instance = Some(name.to_owned()).filter(|n| !n.trim().is_empty());
        self
    }

    /// Sets the shutdown (and revoke) deadline for in-flight handlers.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.options.shutdown_timeout = timeout;
        self
    }

    /// Sets how soon new topics matching a pattern are picked up.
    pub fn metadata_refresh(mut self, every: Duration) -> Self {
        self.options.metadata_refresh = every;
        self
    }

    /// Sets how long a failing dead-letter write is retried before the consumer stops
    /// ([`ConsumerOptions::dlq_write_timeout`]).
    pub fn dlq_write_timeout(mut self, timeout: Duration) -> Self {
        self.options.dlq_write_timeout = timeout;
        self
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<ConsumerStats> {
        Arc::clone(&self.stats)
    }

    /// A handle that stops [`MessageConsumer::run`] from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Subscribes and handles messages until the shutdown handle is triggered; then finishes
    /// in-flight messages (within the shutdown timeout), commits, and leaves the group.
    pub async fn run<H: MessageHandler>(self, handler: H) -> Result<ConsumerReport> {
        self.run_boxed(Box::new(handler)).await
    }

    /// [`MessageConsumer::run`] with a boxed handler.
    pub async fn run_boxed(self, handler: Box<dyn MessageHandler>) -> Result<ConsumerReport> {
        let producer = match self.producer.clone() {
            Some(p) => p,
            None => MessageProducer::new(&self.config, &self.options.service)?,
        };
        let dlq = if self.options.dlq {
            Some(DeadLetterWriter::new(
                &self.config,
                producer.clone(),
                &self.options.service,
                &self.group,
                self.options.dlq_partitions,
            )?)
        } else {
            None
        };
        let instance = self.options.instance.clone();
        let client_id = format!(
            "{}-{}",
            self.options.service,
            instance
                .clone()
                .unwrap_or_else(crate::kafka::producer::default_instance)
        );
        let mut config = self
            .config
            .for_consumer()
            .set("group.id", self.group.as_str())
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set_default("auto.offset.reset", "earliest")
            .set_default("socket.nagle.disable", "true")
            .set_default("client.id", client_id)
            .set_default(
                "topic.metadata.refresh.interval.ms",
                self.options.metadata_refresh.as_millis().to_string(),
            );
        if config.get("group.protocol") != Some("consumer") {
            config = config.set_default("partition.assignment.strategy", "cooperative-sticky");
        }
        if let Some(name) = &instance {
            config = config.set_default("group.instance.id", name.as_str());
        }
        match config.get("group.instance.id") {
            Some(id) => {
                tracing::info!(group = %self.group, instance = id, "static group membership: a restart within session.timeout.ms takes the same partitions back at once")
            }
            None => {
                tracing::info!(group = %self.group, "dynamic group membership (no instance name: set STREAMKIT_INSTANCE for static membership)")
            }
        }
        let shared = Arc::new(Shared {
            partitions: Mutex::new(HashMap::default()),
            fatal: Mutex::new(None),
            commits: Arc::new(CommitTrigger::new(self.options.commit_every)),
            recommit: AtomicBool::new(false),
            runtime: tokio::runtime::Handle::current(),
            stats: Arc::clone(&self.stats),
            shutdown_timeout: self.options.shutdown_timeout,
            group: self.group.clone(),
        });
        let consumer: BaseConsumer<Ctx> = config
            .to_client_config()
            .create_with_context(Ctx {
                shared: Arc::clone(&shared),
            })
            .map_err(|e| Error::Config {
                key: "consumer".into(),
                message: e.to_string(),
            })?;
        let topics = self.subscription.kafka_topics();
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&refs)?;
        tracing::info!(group = %self.group, topics = ?topics, "consumer subscribed");

        let worker = Arc::new(WorkerCtx {
            handler,
            producer,
            dlq,
            options: self.options.clone(),
            group: self.group.clone(),
            stats: Arc::clone(&self.stats),
            stop: self.shutdown.clone(),
            claimer: ClaimOwner::new(instance.as_deref()),
            failure: Mutex::new(None),
        });
        let failed = Arc::clone(&worker);
        let shutdown = self.shutdown.clone();
        let commit_interval = self.options.commit_interval;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("streamkit-poll-{}", self.group))
            .spawn(move || {
                let report = poll_loop(
                    consumer,
                    Arc::clone(&shared),
                    worker,
                    shutdown,
                    commit_interval,
                );
                let fatal = shared.fatal.lock().expect("fatal error").take();
                let _ = done_tx.send(match fatal {
                    Some(error) => Err(Error::Kafka(error)),
                    None => Ok(report),
                });
            })
            .map_err(|e| Error::Config {
                key: "consumer".into(),
                message: format!("could not start the poll thread: {e}"),
            })?;
        let report = done_rx.await.map_err(|_| Error::Config {
            key: "consumer".into(),
            message: "the poll thread ended without a report".into(),
        })??;
        match failed.failure.lock().expect("failure").take() {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }
}

/// The `tracing` target of the span the consumer opens around each message (`message`, with
/// `topic`, `partition`, `offset`, `broker`, `event_id` and `correlation_id`). The span is at
/// DEBUG: with a subscriber recording it, it costs more per message than the rest of the
/// consumer, so it is off at the usual INFO. Switch it on to see which message a handler's log
/// lines belong to, for example `RUST_LOG=info,streamkit::message=debug`. The consumer's own
/// warnings about a message (retries, dead letters, undecodable records) name its topic,
/// partition and offset whether it is on or not.
///
/// ```
/// assert_eq!(stream_core::consumer::MESSAGE_SPAN_TARGET, "streamkit::message");
/// ```
pub const MESSAGE_SPAN_TARGET: &str = "streamkit::message";

/// Poll timeout while no partition is paused.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// Poll timeout while workers finish messages that are not committed yet: how late a commit
/// may come after `commit_every` messages have finished.
const BUSY_POLL: Duration = Duration::from_millis(5);
/// Poll timeout while a partition is paused, so its overflow is fed and it resumes promptly.
const PAUSED_POLL: Duration = Duration::from_millis(2);
/// How long the poll thread waits for room in a full partition queue before pausing the
/// partition instead.
const BACKPRESSURE_WAIT: Duration = Duration::from_millis(20);

/// Counts finished messages toward the next background commit: one is due once `every` have
/// finished since the last. Workers count; only the poll thread commits (a commit from elsewhere
/// could land after a revoked partition's final commit and move its offset back).
struct CommitTrigger {
    finished: AtomicU64,
    every: u64,
    /// Woken when the count reaches `every`, for the poll thread waiting on a full queue.
    due: Notify,
}

impl CommitTrigger {
    fn new(every: u64) -> Self {
        Self {
            finished: AtomicU64::new(0),
            every: every.max(1),
            due: Notify::new(),
        }
    }

    fn finished_one(&self) {
        if self.finished.fetch_add(1, Ordering::Relaxed) + 1 == self.every {
            self.due.notify_one();
        }
    }

    /// Messages finished since the last commit.
    fn pending(&self) -> u64 {
        self.finished.load(Ordering::Relaxed)
    }

    fn count_due(&self) -> bool {
        self.pending() >= self.every
    }

    /// Starts counting anew, before a commit: what finishes from here on counts toward the next.
    fn restart(&self) {
        self.finished.fetch_sub(self.pending(), Ordering::Relaxed);
    }
}

/// Runs `wait` on the poll thread (a wait for room in a partition queue), committing meanwhile
/// whenever `commit_every` messages have finished: a poll thread held up by backpressure must
/// not hold commits back.
fn block_on_committing<F: Future>(
    consumer: &BaseConsumer<Ctx>,
    shared: &Shared,
    wait: F,
) -> F::Output {
    shared.runtime.block_on(async {
        let mut wait = std::pin::pin!(wait);
        loop {
            tokio::select! {
                biased;
                out = wait.as_mut() => return out,
                () = shared.commits.due.notified() => {
                    if shared.commits.count_due() {
                        shared.commits.restart();
                        commit_finished(consumer, shared, CommitMode::Async);
                    }
                }
            }
        }
    })
}

/// A record as queued to a partition worker: librdkafka's message, read in place.
struct Work {
    meta: RecordMeta,
}

/// What the poll thread keeps per assigned partition.
struct PartitionState {
    tx: mpsc::Sender<Work>,
    overflow: std::collections::VecDeque<Work>,
    paused: bool,
    shared: Arc<PartitionShared>,
    task: tokio::task::JoinHandle<()>,
}

/// What a partition's worker and the poll thread share.
struct PartitionShared {
    offsets: Mutex<PartitionOffsets>,
    /// Counts the messages finished since the consumer's last background commit.
    commits: Arc<CommitTrigger>,
    /// Set when the partition is revoked or the consumer stops: finish the current message only.
    stop: AtomicBool,
    stopped: Notify,
}

impl PartitionShared {
    /// Marks `offset` finished: committable once everything before it is.
    fn finish(&self, offset: i64) {
        self.offsets.lock().expect("offsets").finished(offset);
        self.commits.finished_one();
    }

    fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stopped.notify_waiters();
    }

    fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps `d` unless stopped first; returns false when stopped.
    ///
    /// Boxed: it is awaited only on rare paths (a retry's back-off, a paused dedup store, a
    /// failing dead-letter write), and its timer would otherwise be carried in the future of
    /// every message.
    fn sleep(&self, d: Duration) -> futures::future::BoxFuture<'_, bool> {
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

type PartitionKey = (Arc<str>, i32);

struct Shared {
    partitions: Mutex<HashMap<PartitionKey, PartitionState>>,
    /// The error that stopped the consumer, if one did.
    fatal: Mutex<Option<KafkaError>>,
    /// When the next background commit is due by count.
    commits: Arc<CommitTrigger>,
    /// Set when a background commit failed: the next one sends every committable offset.
    recommit: AtomicBool,
    runtime: tokio::runtime::Handle,
    stats: Arc<ConsumerStats>,
    shutdown_timeout: Duration,
    group: String,
}

impl Shared {
    /// Stops the workers of `keys`, waits for their in-flight message (within the shutdown
    /// timeout), and commits what they finished. Returns what was still running.
    fn release<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        keys: &[PartitionKey],
    ) -> Vec<(String, i32, i64)> {
        let states: Vec<(PartitionKey, PartitionState)> = {
            let mut map = self.partitions.lock().expect("partitions");
            keys.iter()
                .filter_map(|k| map.remove(k).map(|s| (k.clone(), s)))
                .collect()
        };
        // Stop each worker after its current message: set the flag, and close its queue so a
        // worker waiting for work wakes up and ends.
        let states: Vec<(
            PartitionKey,
            Arc<PartitionShared>,
            tokio::task::JoinHandle<()>,
        )> = states
            .into_iter()
            .map(|(key, state)| {
                let PartitionState { shared, task, .. } = state;
                shared.request_stop();
                (key, shared, task)
            })
            .collect();
        let deadline = Instant::now() + self.shutdown_timeout;
        let mut unfinished = Vec::new();
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), shared, mut task) in states {
            let left = deadline.saturating_duration_since(Instant::now());
            let finished = self
                .runtime
                .block_on(async { tokio::time::timeout(left, &mut task).await.is_ok() });
            if !finished {
                // Past the deadline: the message stays uncommitted and will be delivered again.
                task.abort();
            }
            let offsets = shared.offsets.lock().expect("offsets");
            if !finished && let Some(offset) = offsets.first_unfinished() {
                unfinished.push((topic.to_string(), partition, offset));
            }
            // Everything finished, changed since the last commit or not: a background commit
            // of it may have failed.
            if let Some(next) = offsets.committable() {
                let _ = tpl.add_partition_offset(&topic, partition, Offset::Offset(next));
            }
        }
        if tpl.count() > 0 {
            match consumer.commit(&tpl, CommitMode::Sync) {
                Ok(()) => ConsumerStats::bump(&self.stats.commits),
                Err(error) => {
                    ConsumerStats::bump(&self.stats.commit_failures);
                    tracing::warn!(group = %self.group, %error, "commit of released partitions failed; their new owner starts from the last committed offsets")
                }
            }
        }
        if !unfinished.is_empty() {
            tracing::warn!(group = %self.group, ?unfinished, "handlers still running at the deadline; their messages will be delivered again");
        }
        unfinished
    }
}

struct Ctx {
    shared: Arc<Shared>,
}

impl ClientContext for Ctx {
    /// librdkafka's log, into `tracing` (target `librdkafka`). A background commit's result comes
    /// only this way (librdkafka reports an asynchronous commit that no callback took as a
    /// `COMMITFAIL` line): it is counted, and the next commit sends every committable offset
    /// again, changed or not.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        use RDKafkaLogLevel as L;
        if fac == "COMMITFAIL" {
            ConsumerStats::bump(&self.shared.stats.commit_failures);
            self.shared.recommit.store(true, Ordering::Relaxed);
            tracing::warn!(target: "librdkafka", group = %self.shared.group, "offset commit failed; the offsets are committed again with the next commit: {log_message}");
            return;
        }
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                tracing::error!(target: "librdkafka", "{fac} {log_message}")
            }
            L::Warning => tracing::warn!(target: "librdkafka", "{fac} {log_message}"),
            L::Notice | L::Info => tracing::info!(target: "librdkafka", "{fac} {log_message}"),
            L::Debug => tracing::debug!(target: "librdkafka", "{fac} {log_message}"),
        }
    }
}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let keys: Vec<PartitionKey> = tpl
                .elements()
                .iter()
                .map(|e| (Arc::<str>::from(e.topic()), e.partition()))
                .collect();
            tracing::info!(group = %self.shared.group, revoked = keys.len(), "partitions revoked");
            self.shared.release(consumer, &keys);
            self.shared
                .stats
                .assigned_partitions
                .fetch_sub(keys.len() as u64, Ordering::Relaxed);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            // A partition paused for backpressure, revoked, and assigned again would otherwise
            // stay paused: librdkafka keeps the application's pause across a revoke, and its
            // state here was dropped with the revoke.
            if let Err(error) = consumer.resume(tpl) {
                tracing::warn!(group = %self.shared.group, %error, "could not resume assigned partitions");
            }
            tracing::info!(group = %self.shared.group, assigned = tpl.count(), "partitions assigned");
            ConsumerStats::bump(&self.shared.stats.rebalances);
            self.shared
                .stats
                .assigned_partitions
                .fetch_add(tpl.count() as u64, Ordering::Relaxed);
        }
    }
}

struct WorkerCtx {
    /// Who this run is when it claims event ids in the dedup store.
    claimer: ClaimOwner,
    handler: Box<dyn MessageHandler>,
    producer: MessageProducer,
    dlq: Option<DeadLetterWriter>,
    options: ConsumerOptions,
    group: String,
    stats: Arc<ConsumerStats>,
    stop: ShutdownHandle,
    /// Why the consumer stopped on its own (a message that could not be dead-lettered).
    failure: Mutex<Option<Error>>,
}

fn poll_loop(
    consumer: BaseConsumer<Ctx>,
    shared: Arc<Shared>,
    worker: Arc<WorkerCtx>,
    shutdown: ShutdownHandle,
    commit_interval: Duration,
) -> ConsumerReport {
    // Shared with every record handed to a worker: librdkafka's messages are read in place, and
    // the consumer must outlive them.
    let consumer = Arc::new(consumer);
    let mut last_commit = Instant::now();
    let mut topics: HashMap<String, (Arc<str>, Broker)> = HashMap::default();
    while !shutdown.is_requested() {
        shared.stats.last_poll_ms.store(now_ms(), Ordering::Relaxed);
        let paused = drain_overflow(&consumer, &shared, &worker);
        if shared.commits.count_due() || last_commit.elapsed() >= commit_interval {
            shared.commits.restart();
            commit_finished(&consumer, &shared, CommitMode::Async);
            last_commit = Instant::now();
        }
        // While a partition waits for its worker, come back soon to feed it and resume it: a
        // paused partition would otherwise idle for the whole poll timeout. While workers finish
        // messages, come back soon to commit them once there are `commit_every`.
        let timeout = if paused {
            PAUSED_POLL
        } else if shared.commits.pending() > 0 {
            BUSY_POLL
        } else {
            IDLE_POLL
        };
        match consumer.poll(timeout) {
            None => {}
            Some(Err(error @ KafkaError::MessageConsumptionFatal(_))) => {
                // The client cannot go on (for example another member joined with this
                // instance's `group.instance.id` and fenced this one): stop, loudly.
                tracing::error!(group = %worker.group, %error, "fatal consumer error; stopping");
                shared
                    .fatal
                    .lock()
                    .expect("fatal error")
                    .get_or_insert(error);
                shutdown.shutdown();
            }
            Some(Err(error)) => {
                tracing::warn!(group = %worker.group, %error, "consumer error");
            }
            Some(Ok(msg)) => {
                // SAFETY: `consumer` is the consumer `msg` was polled from.
                let msg = unsafe { InPlace::new(msg, Arc::clone(&consumer)) };
                dispatch(&consumer, msg, &shared, &worker, &mut topics)
            }
        }
    }
    // Shutdown: stop every worker after its current message, commit, leave.
    let keys: Vec<PartitionKey> = shared
        .partitions
        .lock()
        .expect("partitions")
        .keys()
        .cloned()
        .collect();
    let unfinished = shared.release(&consumer, &keys);
    consumer.unsubscribe();
    match Arc::try_unwrap(consumer) {
        Ok(consumer) => drop(consumer), // closes the consumer: leaves the group
        Err(consumer) => {
            // A record is still held somewhere (a handler past the shutdown deadline, a task a
            // handler spawned): leave the group now; the client itself goes with the last record.
            if consumer.close_queue().is_ok() {
                while !consumer.closed() {
                    consumer.poll(Duration::from_millis(100));
                }
            }
        }
    }
    tracing::info!(group = %shared.group, stats = ?shared.stats.snapshot(), "consumer stopped");
    ConsumerReport {
        stats: shared.stats.snapshot(),
        unfinished,
    }
}

fn commit_finished(consumer: &BaseConsumer<Ctx>, shared: &Shared, mode: CommitMode) {
    let mut tpl = TopicPartitionList::new();
    let mut marks = Vec::new();
    let again = shared.recommit.swap(false, Ordering::Relaxed);
    {
        let map = shared.partitions.lock().expect("partitions");
        for ((topic, partition), state) in map.iter() {
            let offsets = state.shared.offsets.lock().expect("offsets");
            let next = if again {
                offsets.committable()
            } else {
                offsets.to_commit()
            };
            drop(offsets);
            if let Some(next) = next {
                let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(next));
                marks.push((Arc::clone(&state.shared), next));
            }
        }
    }
    if tpl.count() == 0 {
        return;
    }
    match consumer.commit(&tpl, mode) {
        Ok(()) => {
            ConsumerStats::bump(&shared.stats.commits);
            for (s, next) in marks {
                s.offsets.lock().expect("offsets").mark_committed(next);
            }
        }
        Err(error) => {
            ConsumerStats::bump(&shared.stats.commit_failures);
            tracing::warn!(group = %shared.group, %error, "offset commit failed; the offsets are committed again with the next commit")
        }
    }
}

/// Feeds paused partitions' overflow to their workers and resumes those whose overflow is
/// empty. Returns whether a partition is still paused.
fn drain_overflow(consumer: &BaseConsumer<Ctx>, shared: &Shared, worker: &WorkerCtx) -> bool {
    let mut still_paused = false;
    let mut map = shared.partitions.lock().expect("partitions");
    for ((topic, partition), state) in map.iter_mut() {
        if !state.paused {
            continue;
        }
        while let Some(work) = state.overflow.pop_front() {
            match state.tx.try_send(work) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(work)) => {
                    state.overflow.push_front(work);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    worker_gone(worker, &(Arc::clone(topic), *partition));
                    state.overflow.clear();
                    break;
                }
            }
        }
        if state.overflow.is_empty() {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(topic, *partition);
            if consumer.resume(&tpl).is_ok() {
                state.paused = false;
            }
        }
        still_paused |= state.paused;
    }
    still_paused
}

fn dispatch(
    consumer: &BaseConsumer<Ctx>,
    msg: InPlace,
    shared: &Arc<Shared>,
    worker: &Arc<WorkerCtx>,
    topics: &mut HashMap<String, (Arc<str>, Broker)>,
) {
    ConsumerStats::bump(&shared.stats.received);
    let topic_name = msg.topic();
    let (topic, broker) = match topics.get(topic_name) {
        Some((t, b)) => (Arc::clone(t), b.clone()),
        None => {
            let t: Arc<str> = Arc::from(topic_name);
            let b = crate::topic::broker_of(&t)
                .unwrap_or_else(|_| Broker::new("unknown").expect("valid broker"));
            topics.insert(topic_name.to_owned(), (Arc::clone(&t), b.clone()));
            (t, b)
        }
    };
    // No copy: the worker reads the key, value and headers from librdkafka's message.
    let meta = RecordMeta::in_place(Arc::clone(&topic), broker, msg);
    let (partition, offset) = (meta.partition, meta.offset);
    let work = Work { meta };
    let key = (topic, partition);
    let mut map = shared.partitions.lock().expect("partitions");
    let state = map
        .entry(key.clone())
        .or_insert_with(|| spawn_worker(shared, worker, worker.options.partition_queue.max(1)));
    state
        .shared
        .offsets
        .lock()
        .expect("offsets")
        .dispatched(offset);
    if state.paused {
        state.overflow.push_back(work);
        return;
    }
    let work = match state.tx.try_send(work) {
        Ok(()) => return,
        Err(mpsc::error::TrySendError::Closed(_)) => return worker_gone(worker, &key),
        Err(mpsc::error::TrySendError::Full(work)) => work,
    };
    // The worker is behind. Wait a moment for room first: when every worker is busy (the
    // consumer is CPU-bound) a slot frees within microseconds, and waiting here is the cheapest
    // backpressure there is. Pausing instead would make librdkafka drop every record it has
    // prefetched for the partition and fetch them again on resume, over and over.
    //
    // Wait for room for a quarter of the queue first, not for one slot: woken for every slot a
    // busy worker frees, this thread and the worker would take turns, one thread switch per
    // message. A handler too slow to free that much soon still gets its next message as soon as
    // one slot is free.
    let tx = state.tx.clone();
    drop(map);
    let room = (tx.max_capacity() / 4).max(1);
    let waited = block_on_committing(consumer, shared, async move {
        if let Ok(permits) = tokio::time::timeout(BACKPRESSURE_WAIT, tx.reserve_many(room)).await {
            return match permits.map(|mut p| p.next()) {
                Ok(Some(permit)) => {
                    permit.send(work);
                    None
                }
                _ => Some(Err(())), // closed
            };
        }
        match tokio::time::timeout(BACKPRESSURE_WAIT, tx.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(work);
                None
            }
            Ok(Err(_closed)) => Some(Err(())),
            Err(_elapsed) => Some(Ok(work)),
        }
    });
    let work = match waited {
        None => return,
        Some(Ok(work)) => work,
        Some(Err(())) => return worker_gone(worker, &key),
    };
    let mut map = shared.partitions.lock().expect("partitions");
    let Some(state) = map.get_mut(&key) else {
        return; // revoked meanwhile
    };
    match state.tx.try_send(work) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(work)) => {
            // Still full: this partition's handler is slow, not the whole consumer. Pause it so
            // the other partitions keep flowing.
            state.overflow.push_back(work);
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&key.0, key.1);
            // Pausing stops fetching this partition; records already fetched go to the overflow
            // (keeping their order), which is fed to the worker as it drains.
            if let Err(error) = consumer.pause(&tpl) {
                tracing::warn!(%error, "could not pause partition");
            }
            ConsumerStats::bump(&shared.stats.paused);
            state.paused = true;
        }
        Err(mpsc::error::TrySendError::Closed(_)) => worker_gone(worker, &key),
    }
}

/// A partition's worker ended although nobody stopped it (partitions are released on this same
/// thread, after their state is taken out of the map): only a bug in streamkit ends one that
/// way. Its records cannot be handled, and dropping them would stall the partition without a
/// word; stop the consumer instead, loudly. What it had not finished is not committed, so it is
/// delivered again.
fn worker_gone(worker: &WorkerCtx, key: &PartitionKey) {
    if worker.stop.is_requested() {
        return; // shutting down: workers end on their own
    }
    tracing::error!(
        group = %worker.group,
        topic = %key.0,
        partition = key.1,
        "a partition worker ended unexpectedly; stopping the consumer"
    );
    worker.stop.shutdown();
}

fn spawn_worker(shared: &Arc<Shared>, worker: &Arc<WorkerCtx>, capacity: usize) -> PartitionState {
    let (tx, rx) = mpsc::channel(capacity);
    let part = Arc::new(PartitionShared {
        offsets: Mutex::new(PartitionOffsets::default()),
        commits: Arc::clone(&shared.commits),
        stop: AtomicBool::new(false),
        stopped: Notify::new(),
    });
    let task = shared
        .runtime
        .spawn(run_worker(rx, Arc::clone(&part), Arc::clone(worker)));
    PartitionState {
        tx,
        overflow: Default::default(),
        paused: false,
        shared: part,
        task,
    }
}

/// The span around one message, at DEBUG under its own target: see [`MESSAGE_SPAN_TARGET`] for
/// why, and how to switch it on.
fn message_span(meta: &RecordMeta) -> tracing::Span {
    tracing::debug_span!(
        target: MESSAGE_SPAN_TARGET,
        "message",
        topic = %meta.topic,
        partition = meta.partition,
        offset = meta.offset,
        broker = %meta.broker,
        event_id = tracing::field::Empty,
        correlation_id = tracing::field::Empty,
    )
}

async fn run_worker(mut rx: mpsc::Receiver<Work>, part: Arc<PartitionShared>, ctx: Arc<WorkerCtx>) {
    let (part, ctx) = (&*part, &*ctx);
    // The ids of handled messages whose published records are still in flight (a duplicate of
    // one of them is skipped, as if it were already marked done)...
    let unsettled = Mutex::new(HashSet::<uuid::Uuid>::default());
    let unsettled = &unsettled;
    // ...and those messages, oldest first. One loop handles messages and settles them: it looks
    // at acknowledgements between messages without waiting for them (no wake-up from the
    // producer's thread while messages keep coming), and waits for them only when it has
    // nothing else to do, when `partition_queue` messages are waiting, or while a handler waits.
    let mut waiting: VecDeque<Unsettled> = VecDeque::new();
    let room = ctx.options.partition_queue.max(1);
    // One dedup key each for handling and settling, their event ids set per message: a
    // partition's topic, and with it the broker, never changes.
    let (mut key, mut settle_key) = (None, None);
    loop {
        while waiting.front_mut().is_some_and(Unsettled::delivered_now) {
            if !settle_front(&mut waiting, part, ctx, unsettled, &mut settle_key).await {
                return;
            }
        }
        let next = if waiting.is_empty() {
            rx.recv().await
        } else if waiting.len() >= room {
            front_delivered(&mut waiting).await;
            continue;
        } else {
            tokio::select! {
                biased;
                work = rx.recv() => work,
                () = front_delivered(&mut waiting) => continue,
            }
        };
        let Some(work) = next else { break };
        if part.is_stopped() {
            break;
        }
        let offset = work.meta.offset;
        let span = message_span(&work.meta);
        let mut processing =
            std::pin::pin!(process(work, part, ctx, unsettled, &mut key).instrument(span));
        // While the handler waits (on I/O, `Context::send`, a retry's back-off), the messages
        // before it keep settling. A settle is never started inside the `select!`, so none is
        // abandoned half done when the handler finishes first.
        let mut settling = true;
        let outcome = loop {
            if !settling || waiting.is_empty() {
                break processing.as_mut().await;
            }
            tokio::select! {
                biased;
                outcome = processing.as_mut() => break outcome,
                () = front_delivered(&mut waiting) => {
                    settling = settle_front(&mut waiting, part, ctx, unsettled, &mut settle_key).await;
                }
            }
        };
        match outcome {
            Outcome::Finished => part.finish(offset),
            Outcome::Unsettled(u) => waiting.push_back(u),
            Outcome::Stopped => break,
        }
        if !settling {
            return; // stopped while dead-lettering: what is still waiting is delivered again
        }
    }
    // No more messages: settle what was handled, in order, as its acknowledgements come in.
    while !waiting.is_empty() {
        front_delivered(&mut waiting).await;
        if !settle_front(&mut waiting, part, ctx, unsettled, &mut settle_key).await {
            return;
        }
    }
}

/// Resolves once the oldest waiting message's deliveries are all done (never, if none waits).
fn front_delivered(waiting: &mut VecDeque<Unsettled>) -> impl Future<Output = ()> + '_ {
    std::future::poll_fn(move |cx| match waiting.front_mut() {
        Some(u) => u.poll_delivered(cx),
        None => Poll::Pending,
    })
}

/// Settles the oldest waiting message, whose deliveries are all done, and finishes its offset.
/// False when the partition stopped first (its offset stays unfinished: delivered again).
async fn settle_front(
    waiting: &mut VecDeque<Unsettled>,
    part: &PartitionShared,
    ctx: &WorkerCtx,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    key: &mut Option<DedupKey>,
) -> bool {
    let u = waiting.pop_front().expect("a waiting message");
    let offset = u.incoming.record.offset;
    if !settle(u, part, ctx, unsettled, key).await {
        return false;
    }
    part.finish(offset);
    true
}

/// How processing a record ended.
enum Outcome {
    /// Finished: handled, deduplicated or dead-lettered.
    Finished,
    /// Handled, with records it published still to be acknowledged.
    Unsettled(Unsettled),
    /// The partition stopped first; the record is not finished.
    Stopped,
}

/// A handled message waiting for the records its handler published.
struct Unsettled {
    incoming: Arc<Incoming>,
    /// Its deliveries, in publish order: those before `resolved` have resolved.
    deliveries: crate::handler::Deliveries,
    resolved: usize,
    /// The first of them that failed.
    failure: Option<crate::kafka::producer::ProduceError>,
    /// Whether to mark the event done in the dedup store once they are acknowledged.
    dedup: bool,
    attempts: u32,
}

impl Unsettled {
    /// Takes in the deliveries that have resolved, in order; ready once all have.
    fn poll_delivered(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        while let Some(delivery) = self.deliveries.get_mut(self.resolved) {
            let result = std::task::ready!(std::pin::Pin::new(delivery).poll(cx));
            self.resolved += 1;
            if let Err(error) = result {
                self.failure.get_or_insert(error);
            }
        }
        Poll::Ready(())
    }

    /// Whether every delivery has resolved, without waiting or asking to be woken.
    fn delivered_now(&mut self) -> bool {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        self.poll_delivered(&mut cx).is_ready()
    }
}

/// `key` (a worker's reused dedup key) for `event_id` from `meta`'s namespace.
fn dedup_key<'k>(
    key: &'k mut Option<DedupKey>,
    ctx: &WorkerCtx,
    meta: &RecordMeta,
    event_id: uuid::Uuid,
) -> &'k DedupKey {
    let key = key.get_or_insert_with(|| {
        DedupKey::new(
            ctx.options.service.as_str(),
            ctx.group.as_str(),
            meta.broker.as_str(),
            event_id,
        )
    });
    key.event_id = event_id;
    key
}

/// Marks a message whose deliveries have all resolved done; a failed delivery sends the message
/// to the dead-letter topic instead. True when finished, false when stopped first.
async fn settle(
    u: Unsettled,
    part: &PartitionShared,
    ctx: &WorkerCtx,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    key: &mut Option<DedupKey>,
) -> bool {
    let Unsettled {
        incoming,
        deliveries,
        resolved,
        failure,
        dedup,
        attempts,
    } = u;
    debug_assert!(
        resolved == deliveries.len(),
        "settled before its deliveries resolved"
    );
    let finished = match failure {
        None => {
            ConsumerStats::bump(&ctx.stats.handled);
            if let Some(store) = &ctx.options.dedup
                && dedup
            {
                let key = dedup_key(key, ctx, &incoming.record, incoming.envelope.id);
                if let Err(error) = crate::reliability::dedup::mark_done(store.as_ref(), key).await
                {
                    ConsumerStats::bump(&ctx.stats.dedup_unavailable);
                    tracing::warn!(event_id = %incoming.envelope.id, %error, "could not mark the event done in the dedup store");
                }
            }
            true
        }
        Some(error) => {
            let error = crate::handler::extract::handler_error(error);
            let now = Utc::now();
            let r = &incoming.record;
            tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, event_id = %incoming.envelope.id, %error, "a record the handler published was not delivered; dead-lettering");
            if let Some(store) = ctx.options.dedup.as_ref().filter(|_| dedup) {
                let key = dedup_key(key, ctx, r, incoming.envelope.id);
                release_claim(Some((store, key)), ctx).await;
            }
            dead_letter(
                &incoming.record,
                format!(
                    "a record the handler published was not delivered: {}",
                    error.source_error()
                ),
                error.kind(),
                attempts,
                (now, now),
                part,
                ctx,
            )
            .await
        }
    };
    unsettled
        .lock()
        .expect("unsettled ids")
        .remove(&incoming.envelope.id);
    finished
}

/// The record's envelope, or why it cannot go to the handler: it has no value (a tombstone), it
/// does not decode, or it breaks its topic's contract.
fn decode_checked(meta: &RecordMeta, ctx: &WorkerCtx) -> Result<RawEnvelope, (String, ErrorKind)> {
    let Some(value) = meta.value() else {
        let error = "the record has no value (a tombstone), so no envelope to handle";
        return Err((error.to_owned(), ErrorKind::Decode));
    };
    let envelope = RawEnvelope::decode(value).map_err(|e| (e.to_string(), ErrorKind::Decode))?;
    contract::check(&envelope, meta, ctx.handler.as_ref())
        .map_err(|v| (v.to_string(), ErrorKind::Contract))?;
    Ok(envelope)
}

/// Handles one record.
async fn process(
    work: Work,
    part: &PartitionShared,
    ctx: &WorkerCtx,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
    key: &mut Option<DedupKey>,
) -> Outcome {
    let finished = |written: bool| {
        if written {
            Outcome::Finished
        } else {
            Outcome::Stopped
        }
    };
    let Work { meta } = work;
    let envelope = match decode_checked(&meta, ctx) {
        Ok(env) => env,
        Err((error, kind)) => {
            let now = Utc::now();
            tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, %error, kind = kind.as_str(), "record refused before its handler");
            return finished(dead_letter(&meta, error, kind, 0, (now, now), part, ctx).await);
        }
    };
    let span = tracing::Span::current();
    if !span.is_disabled() {
        span.record("event_id", tracing::field::display(envelope.id));
        span.record(
            "correlation_id",
            tracing::field::display(envelope.correlation_id),
        );
    }

    let dedup_key = ctx
        .options
        .dedup
        .as_ref()
        .map(|store| (store, dedup_key(key, ctx, &meta, envelope.id)));
    let mut dedup_usable = true;
    if let Some((store, key)) = &dedup_key {
        match claim_event(store.as_ref(), key, &meta, part, ctx, unsettled).await {
            ClaimStep::Run { dedup } => dedup_usable = dedup,
            ClaimStep::Skip => return Outcome::Finished,
            ClaimStep::Stopped => return Outcome::Stopped,
        }
    }
    // The claim to give up when the handler fails or the partition stops first.
    let claimed = dedup_key.filter(|_| dedup_usable);

    let incoming = Arc::new(Incoming::new(envelope, meta, Some(ctx.producer.clone())));
    let mut attempts = 0u32;
    // When the first attempt failed, by the wall clock (for the dead letter's headers) and by the
    // monotonic one (for the retry budget, which counts from the first failure). Read only once
    // something failed: a message handled at the first attempt reads no clock here.
    let mut first_failure: Option<(chrono::DateTime<Utc>, Instant)> = None;
    loop {
        attempts += 1;
        let result = AssertUnwindSafe(ctx.handler.call(Arc::clone(&incoming)))
            .catch_unwind()
            .await;
        let error = match result {
            Ok(Ok(())) => break,
            Ok(Err(e)) => e,
            Err(panic) => HandlerError::panic(panic_text(&panic)),
        };
        let now = Utc::now();
        let (first, first_at) = *first_failure.get_or_insert_with(|| (now, Instant::now()));
        let elapsed = first_at.elapsed();
        if error.is_retryable() && ctx.options.retry.should_retry(attempts, elapsed) {
            ConsumerStats::bump(&ctx.stats.retried);
            let delay = ctx.options.retry.delay(attempts);
            let r = &incoming.record;
            tracing::info!(topic = %r.topic, partition = r.partition, offset = r.offset, event_id = %incoming.envelope.id, attempt = attempts, %error, ?delay, "handler failed; retrying");
            if !part.sleep(delay).await {
                release_claim(claimed, ctx).await;
                return Outcome::Stopped;
            }
            if !renew_claim(claimed, ctx).await {
                tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, event_id = %incoming.envelope.id, "another consumer claimed the event while its handler was failing here; leaving it to that consumer");
                ConsumerStats::bump(&ctx.stats.deduplicated);
                return Outcome::Finished;
            }
            continue;
        }
        let r = &incoming.record;
        tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, event_id = %incoming.envelope.id, attempts, %error, "handler failed; dead-lettering");
        release_claim(claimed, ctx).await;
        // A payload that does not decode never reached the handler's code: like an envelope
        // that does not decode, it counts no attempt.
        let attempts = if error.kind() == ErrorKind::Decode {
            0
        } else {
            attempts
        };
        return finished(
            dead_letter(
                &incoming.record,
                error.source_error().to_string(),
                error.kind(),
                attempts,
                (first, now),
                part,
                ctx,
            )
            .await,
        );
    }
    // Records published by the handler (every attempt's) that are not acknowledged yet: the
    // message is finished once they are.
    let deliveries = incoming.take_deferred();
    let dedup = claimed;
    if !deliveries.is_empty() {
        if dedup.is_some() {
            unsettled
                .lock()
                .expect("unsettled ids")
                .insert(incoming.envelope.id);
        }
        return Outcome::Unsettled(Unsettled {
            incoming,
            deliveries,
            resolved: 0,
            failure: None,
            dedup: dedup.is_some(),
            attempts,
        });
    }
    ConsumerStats::bump(&ctx.stats.handled);
    if let Some((store, key)) = dedup
        && let Err(error) = crate::reliability::dedup::mark_done(store.as_ref(), key).await
    {
        ConsumerStats::bump(&ctx.stats.dedup_unavailable);
        tracing::warn!(event_id = %incoming.envelope.id, %error, "could not mark the event done in the dedup store");
    }
    Outcome::Finished
}

/// What claiming a message's event id decided.
enum ClaimStep {
    /// Run the handler; `dedup` is false when the store could not answer and the policy says to
    /// handle anyway (nothing to mark or release then).
    Run { dedup: bool },
    /// Done already (or being settled here): skip it.
    Skip,
    /// The partition stopped first.
    Stopped,
}

/// Claims the event id of `key` before its handler runs: skips a done id, waits while another
/// consumer holds it, and follows the unavailable-store policy while the store cannot answer.
async fn claim_event(
    store: &dyn DedupStore,
    key: &DedupKey,
    meta: &RecordMeta,
    part: &PartitionShared,
    ctx: &WorkerCtx,
    unsettled: &Mutex<HashSet<uuid::Uuid>>,
) -> ClaimStep {
    // Handled already, its published records still in flight: a duplicate.
    if unsettled
        .lock()
        .expect("unsettled ids")
        .contains(&key.event_id)
    {
        ConsumerStats::bump(&ctx.stats.deduplicated);
        tracing::debug!("duplicate skipped");
        return ClaimStep::Skip;
    }
    let (mut pause, mut held) = (Duration::from_millis(100), Duration::from_millis(50));
    loop {
        let wait = match crate::reliability::dedup::claim(store, key, &ctx.claimer).await {
            Ok(Claim::Acquired) => return ClaimStep::Run { dedup: true },
            Ok(Claim::Done) => {
                ConsumerStats::bump(&ctx.stats.deduplicated);
                tracing::debug!("duplicate skipped");
                return ClaimStep::Skip;
            }
            Ok(Claim::Held) => {
                tracing::info!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, event_id = %key.event_id, wait = ?held, "event claimed by another consumer; waiting until it is done or the claim lapses");
                held = (held * 2).min(Duration::from_secs(1));
                held / 2
            }
            Err(error) => match ctx.options.dedup_policy {
                UnavailablePolicy::ProcessAnyway => {
                    ConsumerStats::bump(&ctx.stats.dedup_unavailable);
                    tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, %error, "dedup store unavailable; handling without dedup");
                    return ClaimStep::Run { dedup: false };
                }
                UnavailablePolicy::Pause => {
                    tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, %error, wait = ?pause, "dedup store unavailable; partition paused until it answers");
                    pause = (pause * 2).min(Duration::from_secs(5));
                    pause / 2
                }
            },
        };
        if !part.sleep(wait).await || ctx.stop.is_requested() {
            return ClaimStep::Stopped;
        }
    }
}

/// Gives up this run's claim on a message whose handler failed or was stopped, so that a
/// redelivery, here or elsewhere, runs it without waiting for the lease.
async fn release_claim(claimed: Option<(&Arc<dyn DedupStore>, &DedupKey)>, ctx: &WorkerCtx) {
    if let Some((store, key)) = claimed
        && let Err(error) = store.release(key, &ctx.claimer).await
    {
        tracing::warn!(event_id = %key.event_id, %error, "could not release the event's dedup claim; it lapses after the store's lease");
    }
}

/// Renews this run's claim before a retry. False when another consumer holds the event now.
async fn renew_claim(claimed: Option<(&Arc<dyn DedupStore>, &DedupKey)>, ctx: &WorkerCtx) -> bool {
    let Some((store, key)) = claimed else {
        return true;
    };
    !matches!(
        crate::reliability::dedup::claim(store.as_ref(), key, &ctx.claimer).await,
        Ok(Claim::Held)
    )
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        format!("handler panicked: {s}")
    } else if let Some(s) = panic.downcast_ref::<String>() {
        format!("handler panicked: {s}")
    } else {
        "handler panicked".to_owned()
    }
}

/// Writes a dead letter (the record as received: key, value, headers; or a reference to it when
/// it does not fit). True when written (or dead-lettering is off and the message is skipped);
/// false when the partition stopped first or the write failed for good, which stops the
/// consumer ([`fail_consumer`]).
///
/// Boxed, like [`PartitionShared::sleep`]: a message's future holds it only when it is needed,
/// instead of every message's future carrying its state (the record's copy of headers, the write
/// to the dead-letter topic) unused. The consumer's per-message future was 2,280 bytes with it
/// inline.
fn dead_letter<'a>(
    meta: &'a RecordMeta,
    error: String,
    kind: ErrorKind,
    attempts: u32,
    times: (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
    part: &'a PartitionShared,
    ctx: &'a WorkerCtx,
) -> futures::future::BoxFuture<'a, bool> {
    Box::pin(write_dead_letter(
        meta, error, kind, attempts, times, part, ctx,
    ))
}

async fn write_dead_letter(
    meta: &RecordMeta,
    error: String,
    kind: ErrorKind,
    attempts: u32,
    (first, last): (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
    part: &PartitionShared,
    ctx: &WorkerCtx,
) -> bool {
    let Some(writer) = &ctx.dlq else {
        tracing::error!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, %error, "message skipped (dead-letter topics are off)");
        return true;
    };
    let letter = DeadLetter {
        topic: &meta.topic,
        partition: meta.partition,
        offset: meta.offset,
        key: meta.key(),
        value: meta.value(),
        headers: &meta.headers().to_vec(),
        error,
        kind,
        attempts,
        first_failure: first,
        last_failure: last,
    };
    let deadline = Instant::now() + ctx.options.dlq_write_timeout;
    let mut pause = Duration::from_millis(200);
    loop {
        let failure = match writer.write(&letter).await {
            Ok(written) => {
                if let Written::Reference { reason } = written {
                    tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, %reason, "record too large to dead-letter whole; wrote a reference dead letter (the original stays at its offset)");
                }
                ConsumerStats::bump(&ctx.stats.dead_lettered);
                return true;
            }
            Err(failure) => failure,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if !failure.retryable || left.is_zero() {
            fail_consumer(meta, failure, ctx);
            return false;
        }
        tracing::warn!(topic = %meta.topic, partition = meta.partition, offset = meta.offset, error = %failure, retry_for = ?left, "dead-letter write failed; the offset stays uncommitted and the write is retried");
        if !part.sleep(pause.min(left)).await {
            return false;
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// A message could not be dead-lettered: stop the consumer, loudly, rather than skip the
/// message or let its partition wait in silence. Its offset stays unfinished, so nothing from it
/// on is committed; `run` returns [`Error::DeadLetter`] and liveness fails
/// ([`ConsumerStats::dead_letter_failures`]).
fn fail_consumer(meta: &RecordMeta, failure: WriteError, ctx: &WorkerCtx) {
    ConsumerStats::bump(&ctx.stats.dead_letter_failures);
    tracing::error!(group = %ctx.group, topic = %meta.topic, partition = meta.partition, offset = meta.offset, error = %failure, "could not dead-letter a message; stopping the consumer (nothing from this offset on is committed)");
    let error = Error::DeadLetter {
        topic: meta.topic.to_string(),
        partition: meta.partition,
        offset: meta.offset,
        reason: failure.reason,
    };
    ctx.failure.lock().expect("failure").get_or_insert(error);
    ctx.stop.shutdown();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::event::Event;
    use crate::kafka::dev_cluster::DevCluster;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Tick {
        seq: u64,
    }

    impl Event for Tick {
        const EVENT_TYPE: &'static str = "market_tick";
    }

    /// What `RUST_LOG` users write decides the per-message span: off at INFO (its cost per
    /// message is larger than the consumer's own), on when its target is at DEBUG.
    #[test]
    fn the_message_span_is_off_at_info_and_on_when_its_target_is_at_debug() {
        let meta = RecordMeta::new("paper.ticks.raw", Broker::new("paper").unwrap(), 2, 41);
        let enabled_under = |filter: &str| {
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_writer(std::io::sink)
                .finish();
            tracing::subscriber::with_default(subscriber, || !message_span(&meta).is_disabled())
        };
        assert!(!enabled_under("info"));
        assert!(!enabled_under("debug,streamkit::message=info"));
        assert!(enabled_under("info,streamkit::message=debug"));
        assert!(enabled_under("debug"));
    }

    /// How many times a handler that always fails (retryably) is called for one message before
    /// it is dead-lettered: its first attempt takes `first`, every later one `later`. On
    /// librdkafka's in-process mock cluster: a unit test of the retry loop, not a claim about a
    /// broker.
    async fn attempts_until_dead_letter(
        topic: &str,
        policy: RetryPolicy,
        first: Duration,
        later: Duration,
    ) -> (u64, StatsSnapshot) {
        let cluster = DevCluster::mock().unwrap();
        let dlq = crate::reliability::dlq::dlq_topic(topic);
        cluster.create_topics(&[topic, &dlq], 1).await.unwrap();
        let config = cluster.config();
        let producer = MessageProducer::new(&config, "slow").unwrap();
        producer.send(topic, "k", &Tick { seq: 1 }).await.unwrap();
        let consumer = MessageConsumer::new(&config, &[topic], "slow")
            .unwrap()
            .service("slow")
            .producer(producer)
            .retry(policy);
        let stats = consumer.stats();
        let stop = consumer.shutdown_handle();
        let attempts = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&attempts);
        let run = tokio::spawn(consumer.run(move |_msg: Arc<Incoming>| {
            let seen = Arc::clone(&seen);
            async move {
                let took = if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    first
                } else {
                    later
                };
                tokio::time::sleep(took).await;
                Err::<(), _>(HandlerError::retryable("still failing"))
            }
        }));
        let deadline = Instant::now() + Duration::from_secs(60);
        while stats.snapshot().dead_lettered < 1 {
            assert!(Instant::now() < deadline, "{:?}", stats.snapshot());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.shutdown();
        let report = run.await.unwrap().unwrap();
        assert_eq!(report.stats.dead_lettered, 1, "{:?}", report.stats);
        (attempts.load(Ordering::SeqCst), report.stats)
    }

    /// `RetryPolicy::max_elapsed` counts from the first failure, as documented, not from the start
    /// of the first attempt: a first attempt that runs longer than the whole budget before
    /// failing is still retried (here until `max_attempts`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_retry_budget_counts_from_the_first_failure() {
        let policy = RetryPolicy::default()
            .max_attempts(4)
            .backoff(Duration::from_millis(10), Duration::from_millis(40))
            .max_elapsed(Duration::from_millis(1000));
        let (attempts, stats) = attempts_until_dead_letter(
            "paper.ticks.slow-first",
            policy,
            Duration::from_millis(1500),
            Duration::ZERO,
        )
        .await;
        assert_eq!(attempts, 4);
        assert_eq!(stats.retried, 3, "{stats:?}");
    }

    /// ...and it does stop retries: with room for ten attempts, attempts of 500 ms each leave the
    /// 1 s budget spent after the third (its failure comes at least 1,024 ms after the first one:
    /// two attempts and two back-offs of at least 8 and 16 ms).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_retry_budget_stops_retries_once_spent() {
        let policy = RetryPolicy::default()
            .max_attempts(10)
            .backoff(Duration::from_millis(10), Duration::from_millis(40))
            .max_elapsed(Duration::from_millis(1000));
        let (attempts, stats) = attempts_until_dead_letter(
            "paper.ticks.slow-later",
            policy,
            Duration::ZERO,
            Duration::from_millis(500),
        )
        .await;
        assert_eq!(attempts, 3);
        assert_eq!(stats.retried, 2, "{stats:?}");
    }

    /// A handler that leaves its publishes to the consumer (`Incoming::defer`, what
    /// `Context::publish` does), one record or two a message: every message counts as handled,
    /// and every record it published is on the output topic, once the consumer has awaited
    /// their acknowledgements.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deferred_deliveries_are_awaited_before_a_message_counts_as_handled() {
        const N: u64 = 60;
        let cluster = DevCluster::mock().unwrap();
        let (input, output) = ("paper.ticks.raw", "paper.ticks.copied");
        cluster.create_topics(&[input, output], 3).await.unwrap();
        let config = cluster.config();
        let producer = MessageProducer::new(&config, "copier").unwrap();
        for seq in 0..N {
            let key = format!("k{}", seq % 7);
            producer.send(input, &key, &Tick { seq }).await.unwrap();
        }
        let consumer = MessageConsumer::new(&config, &[input], "copier")
            .unwrap()
            .service("copier")
            .producer(producer.clone())
            .commit_interval(Duration::from_millis(50));
        let stats = consumer.stats();
        let stop = consumer.shutdown_handle();
        let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| async move {
            let tick = msg.typed::<Tick>()?.data;
            let out = msg.reply_producer().expect("a producer");
            let key = msg.record.key_str().unwrap_or_default().to_owned();
            // Every other message publishes twice: more deliveries than are held inline.
            for _ in 0..1 + tick.seq % 2 {
                let pending = out
                    .enqueue(output, &key, &tick)
                    .await
                    .map_err(HandlerError::retryable)?;
                msg.defer(pending);
            }
            Ok::<(), HandlerError>(())
        }));
        let deadline = Instant::now() + Duration::from_secs(60);
        while stats.snapshot().handled < N {
            assert!(Instant::now() < deadline, "{:?}", stats.snapshot());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.shutdown();
        let report = run.await.unwrap().unwrap();
        assert_eq!(report.stats.handled, N, "{:?}", report.stats);
        assert_eq!(report.stats.dead_lettered, 0);
        assert!(report.unfinished.is_empty());
        let copies: i64 = tokio::task::spawn_blocking(move || {
            let reader: BaseConsumer = config.to_client_config().create().unwrap();
            (0..3)
                .map(|p| {
                    let (lo, hi) = reader
                        .fetch_watermarks(output, p, Duration::from_secs(5))
                        .unwrap();
                    hi - lo
                })
                .sum()
        })
        .await
        .unwrap();
        assert_eq!(copies, (N + N / 2) as i64);
    }
}
