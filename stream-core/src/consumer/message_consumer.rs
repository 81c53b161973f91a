//! [`MessageConsumer`]: the consumer a user builds, checks its settings, and runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::consumer::callbacks::ClientCallbacks;
use crate::consumer::observe::MessageMetrics;
use crate::consumer::options::{BatchOptions, ConsumerOptions};
use crate::consumer::order::Order;
use crate::consumer::pipeline::Pipeline;
use crate::consumer::poll::poll_loop;
use crate::consumer::rebalance_hooks::RebalanceHooks;
use crate::consumer::shutdown::ShutdownHandle;
use crate::consumer::state::ConsumerState;
use crate::consumer::stats::{ConsumerReport, ConsumerStats};
use crate::consumer::transaction::Transaction;
use crate::error::{Error, Result};
use crate::handler::{BatchHandler, BatchOfOne, MessageHandler};
use crate::kafka::config::{KafkaConfig, client_creation_error};
use crate::kafka::producer::{MessageProducer, ProducerOptions, default_instance};
use crate::kafka::subscription::Subscription;
use crate::reliability::dedup::{ClaimOwner, DedupStore, UnavailablePolicy};
use crate::reliability::dlq::DeadLetterWriter;
use crate::reliability::retry::RetryPolicy;

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
    pub(super) config: KafkaConfig,
    pub(super) subscription: Subscription,
    pub(super) group: String,
    pub(super) options: ConsumerOptions,
    pub(super) producer: Option<MessageProducer>,
    pub(super) stats: Arc<ConsumerStats>,
    pub(super) shutdown: ShutdownHandle,
    pub(super) hooks: RebalanceHooks,
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
            hooks: RebalanceHooks::default(),
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

    /// Consumes and publishes in Kafka transactions ([`ConsumerOptions::exactly_once`]).
    pub fn exactly_once(mut self, enabled: bool) -> Self {
        self.options.exactly_once = enabled;
        self
    }

    /// Handles up to `records` of one partition at the same time, keeping `order`
    /// ([`ConsumerOptions::concurrency`], [`Order`]). Not with exactly-once.
    pub fn concurrency(mut self, records: usize, order: Order) -> Self {
        self.options.concurrency = records.max(1);
        self.options.order = order;
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

    /// Calls `hooks` when partitions are assigned and revoked (see [`RebalanceHooks`]).
    pub fn rebalance_hooks(mut self, hooks: RebalanceHooks) -> Self {
        self.hooks = hooks;
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

    /// Like [`MessageConsumer::run`], handing `handler` batches of up to `batch.max` records of
    /// one partition, in offset order (see [`BatchHandler`] and [`BatchResult`]).
    ///
    /// [`BatchResult`]: crate::handler::BatchResult
    pub async fn run_batch<B: BatchHandler>(
        mut self,
        handler: B,
        batch: BatchOptions,
    ) -> Result<ConsumerReport> {
        self.options.batch = Some(batch);
        let handler: Arc<dyn BatchHandler> = Arc::new(handler);
        self.run_boxed(Box::new(BatchOfOne(handler))).await
    }

    /// [`MessageConsumer::run`] with a boxed handler.
    pub async fn run_boxed(mut self, handler: Box<dyn MessageHandler>) -> Result<ConsumerReport> {
        check_concurrency(&self.options)?;
        if self.options.batch.is_some() && handler.batch().is_none() {
            return Err(Error::Config {
                key: "batch".into(),
                message: "expected a batch handler with batch options (run it with `run_batch`), found a handler of one message".into(),
            });
        }
        let transaction = self.transaction()?;
        let producer = match (&transaction, self.producer.clone()) {
            (Some(t), _) => t.producer().clone(),
            (None, Some(p)) => p,
            (None, None) => MessageProducer::new(&self.config, &self.options.service)?,
        };
        let dlq = self.dead_letter_writer(&producer)?;
        let mut state = ConsumerState::new(&self.group, &self.options, Arc::clone(&self.stats));
        state.transaction = transaction.clone();
        let state = Arc::new(state);
        let consumer = self.subscribe(Arc::clone(&state))?;
        let pipeline = Arc::new(Pipeline {
            transaction: transaction.clone(),
            claimer: ClaimOwner::new(self.options.instance.as_deref()),
            handler,
            producer,
            dlq,
            options: self.options.clone(),
            group: self.group.clone(),
            metrics: MessageMetrics::new(&self.group),
            stats: Arc::clone(&self.stats),
            stop: self.shutdown.clone(),
            failure: Mutex::new(None),
        });
        let report = self.poll_on_own_thread(consumer, state, Arc::clone(&pipeline))?;
        let report = report.await.map_err(|_| Error::Runtime {
            what: format!("consumer of group `{}`", self.group),
            message: "the poll thread ended without a report".into(),
        })??;
        let failure = pipeline.failure.lock().expect("failure").take();
        match failure.or_else(|| transaction.and_then(|t| t.take_failure())) {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// In exactly-once mode, the group's transaction and its transactional producer
    /// (`transactional.id` `<service>-<group>-<instance>`); dedup is off then: the transaction is
    /// what keeps outputs once.
    fn transaction(&mut self) -> Result<Option<Arc<Transaction>>> {
        if !self.options.exactly_once {
            return Ok(None);
        }
        let instance = self
            .options
            .instance
            .clone()
            .unwrap_or_else(default_instance);
        let id = format!("{}-{}-{}", self.options.service, self.group, instance);
        let options = ProducerOptions::default().instance(instance.as_str());
        let producer =
            MessageProducer::transactional(&self.config, &self.options.service, &id, options)?;
        if self.options.dedup.take().is_some() {
            tracing::info!(group = %self.group, transactional_id = %id, "exactly-once: outputs and offsets commit in transactions; dedup is off");
        }
        let stop = self.shutdown.clone();
        Ok(Some(Arc::new(Transaction::new(
            producer,
            &self.group,
            stop,
        ))))
    }

    /// The dead-letter writer, unless dead-letter topics are off.
    fn dead_letter_writer(&self, producer: &MessageProducer) -> Result<Option<DeadLetterWriter>> {
        if !self.options.dlq {
            return Ok(None);
        }
        let writer = DeadLetterWriter::new(
            &self.config,
            producer.clone(),
            &self.options.service,
            &self.group,
            self.options.dlq_partitions,
        )?;
        Ok(Some(writer))
    }

    /// The librdkafka properties streamkit owns (commits, offsets, membership) over the user's.
    fn client_config(&self) -> KafkaConfig {
        let instance = self.options.instance.clone();
        let client_id = format!(
            "{}-{}",
            self.options.service,
            instance.clone().unwrap_or_else(default_instance)
        );
        let mut config = self
            .config
            .for_consumer()
            .set("group.id", self.group.as_str())
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set_default("auto.offset.reset", "earliest")
            .set_default("isolation.level", "read_committed")
            .set_default("socket.nagle.disable", "true")
            .set_default("client.id", client_id)
            // Consumer lag per partition for `/metrics`, and broker state.
            .set_default("statistics.interval.ms", "1000")
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
        config
    }

    /// Creates the librdkafka consumer and subscribes it.
    fn subscribe(&self, state: Arc<ConsumerState>) -> Result<BaseConsumer<ClientCallbacks>> {
        let config = self.client_config();
        match config.get("group.instance.id") {
            Some(id) => {
                tracing::info!(group = %self.group, instance = id, "static group membership: a restart within session.timeout.ms takes the same partitions back at once")
            }
            None => {
                tracing::info!(group = %self.group, "dynamic group membership (no instance name: set STREAMKIT_INSTANCE for static membership)")
            }
        }
        let consumer: BaseConsumer<ClientCallbacks> = config
            .to_client_config()
            .create_with_context(ClientCallbacks::new(state, self.hooks.clone()))
            .map_err(client_creation_error)?;
        let topics = self.subscription.kafka_topics();
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&refs)?;
        tracing::info!(group = %self.group, topics = ?topics, "consumer subscribed");
        Ok(consumer)
    }

    /// Starts the poll thread; its report (or the fatal error that stopped it) arrives on the
    /// returned channel.
    fn poll_on_own_thread(
        &self,
        consumer: BaseConsumer<ClientCallbacks>,
        state: Arc<ConsumerState>,
        pipeline: Arc<Pipeline>,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<ConsumerReport>>> {
        let shutdown = self.shutdown.clone();
        let commit_interval = self.options.commit_interval;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("streamkit-poll-{}", self.group))
            .spawn(move || {
                let report = poll_loop(
                    consumer,
                    Arc::clone(&state),
                    pipeline,
                    shutdown,
                    commit_interval,
                );
                let fatal = state.fatal.lock().expect("fatal error").take();
                let _ = done_tx.send(match fatal {
                    Some(error) => Err(Error::Kafka(error)),
                    None => Ok(report),
                });
            })
            .map_err(|e| Error::Runtime {
                what: format!("consumer of group `{}`", self.group),
                message: format!("could not start the poll thread: {e}"),
            })?;
        Ok(done_rx)
    }
}

/// Exactly-once and concurrency do not go together: a transaction commits the records every
/// finished handler staged, but only the contiguous offsets, so a record finished ahead of an
/// unfinished one would have its outputs committed and itself delivered again.
pub(crate) fn check_concurrency(options: &ConsumerOptions) -> Result<()> {
    if let Some(batch) = options.batch
        && (options.exactly_once || options.is_concurrent())
    {
        return Err(Error::Config {
            key: "batch".into(),
            message: format!(
                "expected a batch handler (batches of up to {}) without exactly-once or concurrency: a partition's batches are handled one at a time, outside transactions",
                batch.max
            ),
        });
    }
    if options.exactly_once && options.is_concurrent() {
        return Err(Error::Config {
            key: "concurrency".into(),
            message: format!(
                "expected 1 with exactly-once, found {} (order `{}`): a transaction commits contiguous offsets only, so records of one partition are handled one at a time; drop `concurrency` or `exactly_once`",
                options.concurrency, options.order
            ),
        });
    }
    Ok(())
}
