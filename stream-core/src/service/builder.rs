//! [`StreamServiceBuilder`]: handlers, state, producer, dedup and retry wired into a
//! [`StreamService`], the whole wiring checked before anything connects.

use std::sync::Arc;

use crate::consumer::{ConsumerOptions, MessageConsumer, RebalanceHooks, ShutdownHandle};
use crate::error::{Error, Result};
use crate::handler::Handler;
use crate::handler::extract::{Requirement, Resources};
use crate::kafka::producer::MessageProducer;
use crate::reliability::dedup::DedupStore;
use crate::reliability::dedup::memory::MemoryDedupStore;
use crate::reliability::dedup::redis::RedisDedupStore;
use crate::reliability::retry::RetryPolicy;
use crate::service::config::ServiceConfig;
use crate::service::handle::ServiceHandle;
use crate::service::handler_spec::HandlerSpec;
use crate::service::routing::{Routes, group_handler};
use crate::service::stream_service::StreamService;
use crate::topic::{Catalog, TopicPattern};

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
    hooks: RebalanceHooks,
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
            hooks: RebalanceHooks::default(),
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

    /// Calls `hooks` on every consumer group's rebalances (see [`RebalanceHooks`]); hooks set
    /// here replace those set before, one by one.
    pub fn with_rebalance_hooks(mut self, hooks: RebalanceHooks) -> Self {
        self.hooks = self.hooks.merged(hooks);
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
        if self.handlers.is_empty() {
            return Err(Error::NoHandlers {
                service: self.name.clone(),
            });
        }
        let parsed = self
            .handlers
            .iter()
            .map(|h| self.check_handler(h))
            .collect::<Result<Vec<_>>>()?;
        check_groups(&self.handlers, &parsed, &self.retry)?;
        let kafka = self.config.kafka.clone();
        let producer = if self.producer {
            Some(MessageProducer::new(&kafka, &self.name)?)
        } else {
            None
        };
        let dedup = self.shared_dedup_store()?;
        let dedup_store = if self.config.exactly_once {
            "off (exactly-once: transactions keep outputs once)".to_owned()
        } else {
            describe_dedup(dedup.as_deref(), &self.config)
        };
        let (name, shutdown_timeout, health_port) = (
            self.name.clone(),
            self.config.shutdown_timeout,
            self.config.health_port,
        );
        let mut consumers = Vec::new();
        let self_hooks = self.hooks.clone();
        for plan in self.plan_groups(parsed, dedup) {
            let refs: Vec<&str> = plan.topics.iter().map(String::as_str).collect();
            let mut consumer = MessageConsumer::new(&kafka, &refs, &plan.group)?
                .options(plan.options)
                .rebalance_hooks(self_hooks.clone());
            if let Some(p) = &producer {
                consumer = consumer.producer(p.clone());
            }
            consumers.push((consumer, group_handler(plan.routes)));
        }
        let handle = ServiceHandle {
            stop: ShutdownHandle::new(),
            consumers: Arc::new(consumers.iter().map(|(c, _)| c.shutdown_handle()).collect()),
            stats: Arc::new(
                consumers
                    .iter()
                    .map(|(c, _)| (c.group().to_owned(), c.stats()))
                    .collect(),
            ),
            producer: producer.clone(),
        };
        Ok(StreamService {
            name,
            dedup_store,
            shutdown_timeout,
            health_port,
            producer,
            consumers,
            handle,
        })
    }

    /// One handler's topics, parsed (and checked against the catalog), after checking that the
    /// service has what its arguments need.
    fn check_handler(&self, h: &HandlerSpec) -> Result<Vec<TopicPattern>> {
        if h.topics.is_empty() {
            return Err(wiring(&h.name, "subscribes to no topic".into()));
        }
        if h.group.trim().is_empty() {
            return Err(wiring(&h.name, "has an empty consumer group".into()));
        }
        if h.batch.is_some() && (h.exactly_once || self.config.exactly_once || h.concurrency > 1) {
            return Err(wiring(
                &h.name,
                "is a batch handler, which runs without exactly-once and without concurrency: a partition's batches are handled one at a time, outside transactions".into(),
            ));
        }
        if (h.exactly_once || self.config.exactly_once)
            && h.concurrency > 1
            && h.order != crate::consumer::Order::Partition
        {
            return Err(wiring(
                &h.name,
                format!(
                    "runs with concurrency {} but exactly-once: a transaction commits contiguous offsets only, so an exactly-once handler takes one record of a partition at a time; drop `concurrency` or `exactly_once`",
                    h.concurrency
                ),
            ));
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
        Ok(patterns)
    }

    /// The dedup store every group shares: the code's, or Redis when the configuration names
    /// it; `None` leaves each group its own in-memory store.
    fn shared_dedup_store(&self) -> Result<Option<Arc<dyn DedupStore>>> {
        Ok(match (&self.dedup, &self.config.redis_url) {
            (Some(store), _) => Some(Arc::clone(store)),
            (None, Some(url)) => Some(Arc::new(
                RedisDedupStore::new(url)?.claim_lease(self.config.dedup_claim_lease),
            ) as Arc<dyn DedupStore>),
            (None, None) => None,
        })
    }

    /// The handlers grouped by consumer group, each group with the options of its first handler
    /// (the others' were checked to be the same).
    fn plan_groups(
        self,
        parsed: Vec<Vec<TopicPattern>>,
        shared_dedup: Option<Arc<dyn DedupStore>>,
    ) -> Vec<GroupPlan> {
        let resources = Arc::new(self.resources);
        let mut groups: Vec<GroupPlan> = Vec::new();
        for (spec, patterns) in self.handlers.into_iter().zip(parsed) {
            let handler = (spec.make)(Arc::clone(&resources), spec.accept);
            if let Some(plan) = groups.iter_mut().find(|g| g.group == spec.group) {
                plan.routes.push((patterns, handler));
                plan.topics.extend(spec.topics);
                continue;
            }
            let dedup = spec.dedup.then(|| {
                shared_dedup
                    .clone()
                    .unwrap_or_else(|| Arc::new(MemoryDedupStore::default()))
            });
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
                exactly_once: spec.exactly_once || self.config.exactly_once,
                concurrency: spec.concurrency,
                order: spec.order,
                batch: spec.batch,
                ..ConsumerOptions::default()
            };
            groups.push(GroupPlan {
                group: spec.group,
                routes: vec![(patterns, handler)],
                options,
                topics: spec.topics,
            });
        }
        groups
    }
}

/// One consumer group as [`StreamServiceBuilder::build`] plans it.
struct GroupPlan {
    group: String,
    routes: Routes,
    options: ConsumerOptions,
    /// Every topic and pattern its handlers subscribe to.
    topics: Vec<String>,
}

fn wiring(handler: &str, message: String) -> Error {
    Error::Wiring {
        handler: handler.to_owned(),
        message,
    }
}

/// Handlers of one group must not subscribe to overlapping topics, and must share their
/// retry, dead-letter and dedup options: one group is one consumer.
fn check_groups(
    handlers: &[HandlerSpec],
    parsed: &[Vec<TopicPattern>],
    default_retry: &RetryPolicy,
) -> Result<()> {
    // A handler without its own policy runs with the service's.
    let retry = |h: &HandlerSpec| h.retry.clone().unwrap_or_else(|| default_retry.clone());
    for (i, a) in handlers.iter().enumerate() {
        for (j, b) in handlers.iter().enumerate().skip(i + 1) {
            if a.group != b.group {
                continue;
            }
            for pa in &parsed[i] {
                if let Some(pb) = parsed[j].iter().find(|pb| pa.overlaps(pb)) {
                    return Err(wiring(
                        &b.name,
                        format!(
                            "subscribes to `{pb}` in group `{}`, which overlaps `{pa}` of handler `{}`; give one of them its own group",
                            b.group, a.name
                        ),
                    ));
                }
            }
            if retry(a) != retry(b)
                || a.dlq != b.dlq
                || a.dedup != b.dedup
                || a.exactly_once != b.exactly_once
                || a.batch.is_some()
                || b.batch.is_some()
                || a.concurrency != b.concurrency
                || a.order != b.order
            {
                return Err(wiring(
                    &b.name,
                    format!(
                        "shares group `{}` with handler `{}` but not its retry/dlq/dedup/exactly_once/concurrency/order options (and a batch handler has its group to itself); one group is one consumer with one set of options",
                        b.group, a.name
                    ),
                ));
            }
        }
    }
    Ok(())
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

/// The last segment of a type's path: a handler's name.
fn short_type_name(full: &str) -> String {
    full.rsplit("::").next().unwrap_or(full).to_owned()
}
