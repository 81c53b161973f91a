//! `StreamServiceBuilder` and `StreamService`: handlers wired into consumers, run until a signal.
//!
//! The builder collects handlers (by hand with [`StreamServiceBuilder::add_consumer_handler`], or
//! from the `#[stream_handler]` registry), shared state, the producer, dedup and retry, and checks
//! the whole wiring in [`StreamServiceBuilder::build`] before anything connects:
//!
//! - every handler has at least one topic, and every topic or pattern is valid;
//! - two handlers in one consumer group never subscribe to overlapping topics;
//! - with a catalog ([`StreamServiceBuilder::with_catalog`]), every pattern matches a declared topic;
//! - a handler that publishes (takes `Context`) has a producer (`.add_producer()`);
//! - a handler that takes `State<S>` has an `S` (`.with_state(..)`).
//!
//! Each error names the handler. Each consumer group becomes one [`MessageConsumer`] (groups are
//! isolated from one another); handlers of one group share it and are routed by topic.
//! [`StreamService::run`] runs until SIGINT/SIGTERM or [`ServiceHandle::shutdown`], then stops
//! fetching, lets in-flight handlers finish within the shutdown timeout, commits, flushes the
//! producer and leaves the groups.

pub mod config;
pub mod health;
pub mod registry;
pub mod runtime;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::consumer::{
    ConsumerOptions, ConsumerReport, ConsumerStats, MessageConsumer, ShutdownHandle,
};
use crate::error::{Error, Result};
use crate::handler::extract::{Requirement, Resources};
use crate::handler::{BoundHandler, Handler, HandlerError, Incoming, MessageHandler};
use crate::kafka::producer::MessageProducer;
use crate::reliability::contract::EventTypes;
use crate::reliability::dedup::DedupStore;
use crate::reliability::dedup::memory::MemoryDedupStore;
use crate::reliability::dedup::redis::RedisDedupStore;
use crate::reliability::retry::RetryPolicy;
use crate::service::config::ServiceConfig;
use crate::topic::{Catalog, TopicPattern};

/// One consumer group as `build` plans it: name, routes, options, topics.
type GroupPlan = (
    String,
    Vec<(Vec<TopicPattern>, Arc<dyn MessageHandler>)>,
    ConsumerOptions,
    Vec<String>,
);

type MakeHandler = Box<dyn FnOnce(Arc<Resources>, EventTypes) -> Arc<dyn MessageHandler> + Send>;

/// One handler with its subscription and options.
///
/// ```
/// use stream_core::service::HandlerSpec;
/// use stream_core::reliability::retry::RetryPolicy;
/// async fn on_fill() -> Result<(), stream_core::handler::HandlerError> { Ok(()) }
/// let spec = HandlerSpec::new("on_fill", &["*.orders.filled"], "portfolio.fills", on_fill)
///     .retry(RetryPolicy::default().max_attempts(5));
/// assert_eq!(spec.group(), "portfolio.fills");
/// ```
pub struct HandlerSpec {
    name: String,
    topics: Vec<String>,
    group: String,
    make: MakeHandler,
    requirements: Vec<Requirement>,
    retry: Option<RetryPolicy>,
    dlq: bool,
    dedup: bool,
    accept: EventTypes,
}

impl std::fmt::Debug for HandlerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerSpec")
            .field("name", &self.name)
            .field("topics", &self.topics)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl HandlerSpec {
    /// A handler named `name` for `topics` (names or `*` patterns) in consumer group `group`.
    pub fn new<H, Args>(name: &str, topics: &[&str], group: &str, handler: H) -> Self
    where
        H: Handler<Args>,
        Args: 'static,
    {
        Self {
            name: name.to_owned(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            group: group.to_owned(),
            make: Box::new(move |resources, accept| {
                Arc::new(BoundHandler::new(handler, resources).accepting(&accept))
                    as Arc<dyn MessageHandler>
            }),
            requirements: H::requirements(),
            retry: None,
            dlq: true,
            dedup: true,
            accept: EventTypes::Only(Vec::new()),
        }
    }

    /// The handler's name (in errors and logs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The subscribed topics and patterns.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// The event types the handler reads: its payload type's and those it accepts
    /// ([`HandlerSpec::accept`]).
    pub fn event_types(&self) -> EventTypes {
        EventTypes::of(&self.requirements).and(&self.accept)
    }

    /// A retry policy for this handler (default: the service's).
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Whether failed messages go to the dead-letter topic (default true).
    #[must_use]
    pub fn dlq(mut self, enabled: bool) -> Self {
        self.dlq = enabled;
        self
    }

    /// Whether this handler deduplicates on the envelope id (default true).
    #[must_use]
    pub fn dedup(mut self, enabled: bool) -> Self {
        self.dedup = enabled;
        self
    }

    /// Lets the handler read envelopes of `event_types` as well as those of its payload type:
    /// without it, the consumer dead-letters them as contract breaks (see
    /// [`reliability::contract`](crate::reliability::contract)). What
    /// `#[stream_handler(accept = [...])]` sets.
    ///
    /// ```
    /// use stream_core::handler::extract::Envelope;
    /// use stream_core::service::HandlerSpec;
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Signal { qty: u32 }
    /// # impl stream_core::Event for Signal { const EVENT_TYPE: &'static str = "trading_signal"; }
    /// async fn on_signal(_s: Envelope<Signal>) {}
    /// let spec = HandlerSpec::new("on_signal", &["*.signals.raw"], "risk.signals", on_signal)
    ///     .accept(&["manual_signal"]);
    /// # let _ = spec;
    /// ```
    #[must_use]
    pub fn accept(mut self, event_types: &[&str]) -> Self {
        let more = EventTypes::only(event_types.iter().map(|t| (*t).to_owned()));
        self.accept = self.accept.and(&more);
        self
    }
}

/// Builds a [`StreamService`].
///
/// ```no_run
/// use stream_core::service::config::ServiceConfig;
/// use stream_core::handler::extract::{Context, Data};
/// use stream_core::handler::HandlerError;
/// use stream_core::service::StreamServiceBuilder;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Signal { qty: u32 }
/// # impl stream_core::Event for Signal { const EVENT_TYPE: &'static str = "trading_signal"; }
///
/// async fn validate(Data(s): Data<Signal>, ctx: Context) -> Result<(), HandlerError> {
///     ctx.send(&ctx.topic_on_same_broker("signals.validated")?, &s).await?;
///     Ok(())
/// }
///
/// # async fn run() -> stream_core::Result<()> {
/// let service = StreamServiceBuilder::new("risk-manager", ServiceConfig::from_env()?)
///     .add_producer()
///     .add_consumer_handler(&["*.signals.raw"], "risk-manager.signals", validate)
///     .build()?;
/// service.run().await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct StreamServiceBuilder {
    name: String,
    config: ServiceConfig,
    producer: bool,
    resources: Resources,
    dedup: Option<Arc<dyn DedupStore>>,
    retry: RetryPolicy,
    handlers: Vec<HandlerSpec>,
    catalog: Option<Catalog>,
}

impl std::fmt::Debug for StreamServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamServiceBuilder")
            .field("name", &self.name)
            .field("handlers", &self.handlers)
            .finish_non_exhaustive()
    }
}

impl StreamServiceBuilder {
    /// A builder for the service `name`.
    pub fn new(name: &str, config: ServiceConfig) -> Self {
        Self {
            name: name.to_owned(),
            config,
            producer: false,
            resources: Resources::default(),
            dedup: None,
            retry: RetryPolicy::default(),
            handlers: Vec::new(),
            catalog: None,
        }
    }

    /// Adds the service's producer (needed by handlers that publish through `Context`).
    pub fn add_producer(mut self) -> Self {
        self.producer = true;
        self
    }

    /// Adds a handler for `topics` in consumer group `group_id`, named after its type.
    pub fn add_consumer_handler<H, Args>(self, topics: &[&str], group_id: &str, handler: H) -> Self
    where
        H: Handler<Args>,
        Args: 'static,
    {
        let name = short_type_name(std::any::type_name::<H>());
        self.add_handler(HandlerSpec::new(&name, topics, group_id, handler))
    }

    /// Adds a handler with its own options.
    pub fn add_handler(mut self, spec: HandlerSpec) -> Self {
        self.handlers.push(spec);
        self
    }

    /// Gives every handler taking `State<S>` this value.
    pub fn with_state<S: Clone + Send + Sync + 'static>(mut self, state: S) -> Self {
        self.resources.insert(state);
        self
    }

    /// Sets the dedup store shared by every handler. Default: a [`RedisDedupStore`] when the
    /// configuration names one ([`ServiceConfig::redis_url`], `STREAMKIT_REDIS_URL`), shared by
    /// every group; otherwise one in-memory store per group. The service logs which at start-up.
    pub fn with_dedup(mut self, store: Arc<dyn DedupStore>) -> Self {
        self.dedup = Some(store);
        self
    }

    /// Sets the default retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Checks patterns against a topic catalog (`topics.toml`).
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The registered handlers.
    pub fn handlers(&self) -> &[HandlerSpec] {
        &self.handlers
    }

    /// Checks the wiring and creates the clients (nothing connects yet).
    pub fn build(self) -> Result<StreamService> {
        let wiring = |handler: &str, message: String| Error::Wiring {
            handler: handler.to_owned(),
            message,
        };
        if self.handlers.is_empty() {
            return Err(Error::NoHandlers {
                service: self.name.clone(),
            });
        }
        let mut parsed: Vec<Vec<TopicPattern>> = Vec::new();
        for h in &self.handlers {
            if h.topics.is_empty() {
                return Err(wiring(&h.name, "subscribes to no topic".into()));
            }
            if h.group.trim().is_empty() {
                return Err(wiring(&h.name, "has an empty consumer group".into()));
            }
            let mut patterns = Vec::new();
            for t in &h.topics {
                let p = TopicPattern::parse(t).map_err(|e| wiring(&h.name, e.to_string()))?;
                if let Some(catalog) = &self.catalog {
                    catalog
                        .check_pattern(&p)
                        .map_err(|e| wiring(&h.name, e.to_string()))?;
                }
                patterns.push(p);
            }
            for r in &h.requirements {
                match r {
                    Requirement::Producer if !self.producer => {
                        return Err(wiring(
                            &h.name,
                            "publishes through `Context` but the service has no producer: add .add_producer()".into(),
                        ));
                    }
                    Requirement::State(id, ty) if !self.resources.has(*id) => {
                        return Err(wiring(
                            &h.name,
                            format!(
                                "takes `State<{ty}>` but no such state was given: add .with_state(..)"
                            ),
                        ));
                    }
                    _ => {}
                }
            }
            parsed.push(patterns);
        }
        for (i, a) in self.handlers.iter().enumerate() {
            for (j, b) in self.handlers.iter().enumerate().skip(i + 1) {
                if a.group != b.group {
                    continue;
                }
                for pa in &parsed[i] {
                    for pb in &parsed[j] {
                        if pa.overlaps(pb) {
                            return Err(wiring(
                                &b.name,
                                format!(
                                    "subscribes to `{pb}` in group `{}`, which overlaps `{pa}` of handler `{}`; give one of them its own group",
                                    b.group, a.name
                                ),
                            ));
                        }
                    }
                }
                if a.retry != b.retry || a.dlq != b.dlq || a.dedup != b.dedup {
                    return Err(wiring(
                        &b.name,
                        format!(
                            "shares group `{}` with handler `{}` but not its retry/dlq/dedup options; one group is one consumer with one set of options",
                            b.group, a.name
                        ),
                    ));
                }
            }
        }

        let kafka = self.config.kafka.clone();
        let producer = if self.producer {
            Some(MessageProducer::new(&kafka, &self.name)?)
        } else {
            None
        };
        let resources = Arc::new(self.resources);
        let shared_dedup = match (self.dedup, &self.config.redis_url) {
            (Some(store), _) => Some(store),
            (None, Some(url)) => Some(Arc::new(
                RedisDedupStore::new(url)?.claim_lease(self.config.dedup_claim_lease),
            ) as Arc<dyn DedupStore>),
            (None, None) => None,
        };
        let dedup_store = describe_dedup(shared_dedup.as_deref(), &self.config);
        let mut groups: Vec<GroupPlan> = Vec::new();
        for (spec, patterns) in self.handlers.into_iter().zip(parsed) {
            let handler = (spec.make)(Arc::clone(&resources), spec.accept);
            let dedup = if spec.dedup {
                Some(
                    shared_dedup
                        .clone()
                        .unwrap_or_else(|| Arc::new(MemoryDedupStore::default())),
                )
            } else {
                None
            };
            match groups.iter_mut().find(|g| g.0 == spec.group) {
                Some(g) => {
                    g.1.push((patterns, handler));
                    g.3.extend(spec.topics);
                }
                None => {
                    let options = ConsumerOptions {
                        service: self.name.clone(),
                        retry: spec.retry.unwrap_or_else(|| self.retry.clone()),
                        dedup,
                        dedup_policy: self.config.dedup_policy,
                        dlq: spec.dlq,
                        commit_interval: self.config.commit_interval,
                        commit_every: self.config.commit_every,
                        instance: self.config.instance.clone(),
                        shutdown_timeout: self.config.shutdown_timeout,
                        dlq_write_timeout: self.config.dlq_write_timeout,
                        ..ConsumerOptions::default()
                    };
                    groups.push((spec.group, vec![(patterns, handler)], options, spec.topics));
                }
            }
        }
        let mut consumers = Vec::new();
        for (group, routes, options, topics) in groups {
            let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
            let mut consumer = MessageConsumer::new(&kafka, &refs, &group)?.options(options);
            if let Some(p) = &producer {
                consumer = consumer.producer(p.clone());
            }
            let router: Box<dyn MessageHandler> = if routes.len() == 1 {
                let (_, h) = routes.into_iter().next().expect("one route");
                Box::new(SingleRoute(h))
            } else {
                Box::new(Router { routes })
            };
            consumers.push((consumer, router));
        }
        let stats = consumers
            .iter()
            .map(|(c, _)| (c.group().to_owned(), c.stats()))
            .collect();
        let stops = consumers.iter().map(|(c, _)| c.shutdown_handle()).collect();
        Ok(StreamService {
            name: self.name,
            dedup_store,
            shutdown_timeout: self.config.shutdown_timeout,
            health_port: self.config.health_port,
            producer,
            consumers,
            handle: ServiceHandle {
                stop: ShutdownHandle::new(),
                consumers: Arc::new(stops),
                stats: Arc::new(stats),
            },
        })
    }
}

/// The start-up log's words for the dedup store: which one, and what it does not cover.
fn describe_dedup(store: Option<&dyn DedupStore>, config: &ServiceConfig) -> String {
    match (store, &config.redis_url) {
        (None, _) => "memory (per process: a restart or another instance does not see its ids; set STREAMKIT_REDIS_URL for Redis)".to_owned(),
        (Some(s), Some(url)) if s.name() == "redis" => format!("redis at {}", redact_url(url)),
        (Some(s), _) => format!("{} (given by the code)", s.name()),
    }
}

/// `url` without its password (`redis://user:secret@host` becomes `redis://user:***@host`).
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((auth, host)) => match auth.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://***@{host}"),
        },
        None => url.to_owned(),
    }
}

fn short_type_name(full: &str) -> String {
    full.rsplit("::").next().unwrap_or(full).to_owned()
}

struct SingleRoute(Arc<dyn MessageHandler>);

impl MessageHandler for SingleRoute {
    fn call(
        &self,
        message: Arc<Incoming>,
    ) -> futures::future::BoxFuture<'static, std::result::Result<(), HandlerError>> {
        self.0.call(message)
    }

    fn event_types(&self, topic: &str) -> &EventTypes {
        self.0.event_types(topic)
    }
}

/// Routes a group's messages to the handler whose patterns match the topic.
struct Router {
    routes: Vec<(Vec<TopicPattern>, Arc<dyn MessageHandler>)>,
}

impl MessageHandler for Router {
    fn call(
        &self,
        message: Arc<Incoming>,
    ) -> futures::future::BoxFuture<'static, std::result::Result<(), HandlerError>> {
        let topic = &message.record.topic;
        for (patterns, handler) in &self.routes {
            if crate::topic::Topic::parse(topic)
                .is_ok_and(|t| patterns.iter().any(|p| p.matches(&t)))
            {
                return handler.call(message);
            }
        }
        let topic = topic.to_string();
        Box::pin(async move {
            Err(HandlerError::permanent(format!(
                "no handler of this group subscribes to `{topic}`"
            )))
        })
    }

    fn event_types(&self, topic: &str) -> &EventTypes {
        let route = crate::topic::Topic::parse(topic).ok().and_then(|t| {
            self.routes
                .iter()
                .find(|(patterns, _)| patterns.iter().any(|p| p.matches(&t)))
        });
        match route {
            Some((_, handler)) => handler.event_types(topic),
            None => &EventTypes::ANY,
        }
    }
}

/// Stops a running service and reports its health; cheap to clone.
#[derive(Clone)]
pub struct ServiceHandle {
    stop: ShutdownHandle,
    consumers: Arc<Vec<ShutdownHandle>>,
    stats: Arc<Vec<(String, Arc<ConsumerStats>)>>,
}

impl std::fmt::Debug for ServiceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHandle")
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

impl ServiceHandle {
    /// Asks the service to stop gracefully.
    pub fn shutdown(&self) {
        self.stop.shutdown();
        for c in self.consumers.iter() {
            c.shutdown();
        }
    }

    /// Ready: every consumer group has joined and received its first assignment.
    pub fn is_ready(&self) -> bool {
        self.stats
            .iter()
            .all(|(_, s)| s.rebalances.load(Ordering::Relaxed) > 0)
            && !self.stop.is_requested()
    }

    /// Live: every consumer's poll loop ran within the last 10 seconds, and no consumer gave
    /// up on a message it could not dead-letter (that one stops, and so does the service).
    pub fn is_live(&self) -> bool {
        let now = crate::consumer::now_ms();
        self.stats.iter().all(|(_, s)| {
            let last = s.last_poll_ms.load(Ordering::Relaxed);
            let polling = last == 0 || now.saturating_sub(last) < 10_000;
            polling && s.dead_letter_failures.load(Ordering::Relaxed) == 0
        })
    }

    /// Each group's counters.
    pub fn stats(&self) -> Vec<(String, crate::consumer::StatsSnapshot)> {
        self.stats
            .iter()
            .map(|(g, s)| (g.clone(), s.snapshot()))
            .collect()
    }
}

/// How a service run ended.
#[derive(Debug, Default)]
pub struct ServiceReport {
    /// Each consumer group's report.
    pub groups: Vec<(String, ConsumerReport)>,
    /// Messages the producer could not deliver before its shutdown deadline.
    pub undelivered: usize,
}

/// A built service: consumers per group, the producer, and the handle that stops them.
#[must_use = "a service does nothing until run"]
pub struct StreamService {
    name: String,
    /// Which dedup store the handlers use, for the start-up log.
    dedup_store: String,
    shutdown_timeout: Duration,
    health_port: Option<u16>,
    producer: Option<MessageProducer>,
    consumers: Vec<(MessageConsumer, Box<dyn MessageHandler>)>,
    handle: ServiceHandle,
}

impl std::fmt::Debug for StreamService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamService")
            .field("name", &self.name)
            .field("groups", &self.consumers.len())
            .finish_non_exhaustive()
    }
}

impl StreamService {
    /// The handle that stops this service from elsewhere.
    pub fn handle(&self) -> ServiceHandle {
        self.handle.clone()
    }

    /// The service's producer, if it has one.
    pub fn producer(&self) -> Option<&MessageProducer> {
        self.producer.as_ref()
    }

    /// Runs until SIGINT, SIGTERM or [`ServiceHandle::shutdown`]; then stops gracefully.
    pub async fn run(self) -> Result<ServiceReport> {
        let handle = self.handle.clone();
        let signals = tokio::spawn({
            let handle = handle.clone();
            async move {
                wait_for_signal().await;
                tracing::info!("signal received; shutting down");
                handle.shutdown();
            }
        });
        let report = self.run_until_stopped().await;
        signals.abort();
        report
    }

    /// Runs until [`ServiceHandle::shutdown`] (no signal handling: for tests and embedding).
    pub async fn run_until_stopped(self) -> Result<ServiceReport> {
        let StreamService {
            name,
            dedup_store,
            shutdown_timeout,
            health_port,
            producer,
            consumers,
            handle,
        } = self;
        let _health = match health_port {
            Some(port) => Some(crate::service::health::serve(port, handle.clone())?),
            None => None,
        };
        if let Some(p) = &producer {
            p.start().await?;
        }
        tracing::info!(service = %name, groups = consumers.len(), dedup = %dedup_store, "service starting");
        let mut tasks = Vec::new();
        for (consumer, handler) in consumers {
            let group = consumer.group().to_owned();
            let handle = handle.clone();
            // A consumer that fails stops the others at once, not when its turn to be awaited
            // comes.
            tasks.push((
                group,
                tokio::spawn(async move {
                    let result = consumer.run_boxed(handler).await;
                    if result.is_err() {
                        handle.shutdown();
                    }
                    result
                }),
            ));
        }
        let mut report = ServiceReport::default();
        let mut first_error = None;
        for (group, task) in tasks {
            match task.await {
                Ok(Ok(r)) => report.groups.push((group, r)),
                Ok(Err(e)) => {
                    handle.shutdown();
                    first_error.get_or_insert(e);
                }
                Err(join) => {
                    handle.shutdown();
                    first_error.get_or_insert(Error::Config {
                        key: "service".into(),
                        message: format!("consumer of group `{group}` failed: {join}"),
                    });
                }
            }
        }
        if let Some(p) = &producer {
            report.undelivered = p.shutdown(shutdown_timeout).await.undelivered;
        }
        tracing::info!(service = %name, "service stopped");
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
