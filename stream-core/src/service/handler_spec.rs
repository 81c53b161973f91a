//! [`HandlerSpec`]: one handler with its subscription and options, as the builder and the
//! `#[stream_handler]` registry hand it over.

use std::sync::Arc;

use crate::consumer::{BatchOptions, Order};
use crate::handler::event_types::EventTypes;
use crate::handler::extract::{Requirement, Resources};
use crate::handler::publishes::DeclaredOutputs;
use crate::handler::{
    BatchFn, BatchHandler, BatchOfOne, BoundHandler, Handler, MessageHandler, TypedBatch,
};
use crate::reliability::retry::RetryPolicy;

/// Makes the handler once the service's shared resources and the accepted event types are known.
pub(super) type MakeHandler =
    Box<dyn FnOnce(Arc<Resources>, EventTypes) -> Arc<dyn MessageHandler> + Send>;

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
    pub(super) name: String,
    pub(super) topics: Vec<String>,
    pub(super) group: String,
    pub(super) make: MakeHandler,
    pub(super) requirements: Vec<Requirement>,
    pub(super) retry: Option<RetryPolicy>,
    pub(super) dlq: bool,
    pub(super) dedup: bool,
    pub(super) exactly_once: bool,
    pub(super) concurrency: usize,
    pub(super) order: Order,
    /// How batches are made, for a batch handler ([`HandlerSpec::batch`]).
    pub(super) batch: Option<BatchOptions>,
    pub(super) accept: EventTypes,
    /// Declared outputs ([`HandlerSpec::publishes`]).
    pub(super) publishes: Vec<String>,
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
            exactly_once: false,
            concurrency: 1,
            order: Order::Key,
            batch: None,
            accept: EventTypes::Only(Vec::new()),
            publishes: Vec::new(),
        }
    }

    /// A batch handler named `name`: an async fn taking a [`Batch<T>`](crate::handler::Batch),
    /// handed up to 500 records of one partition at a time, waiting at most 50 ms for more
    /// ([`HandlerSpec::batch_max`], [`HandlerSpec::batch_linger`]). What `#[stream_handler]`
    /// makes of a function whose argument is a `Batch<T>`.
    ///
    /// ```
    /// use stream_core::handler::{Batch, BatchResult};
    /// use stream_core::service::HandlerSpec;
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Fill { qty: i64 }
    /// # impl stream_core::Event for Fill { const EVENT_TYPE: &'static str = "order_filled"; }
    /// async fn insert_fills(fills: Batch<Fill>) -> BatchResult { BatchResult::all_ok() }
    /// let spec = HandlerSpec::batch("insert_fills", &["*.orders.filled"], "ledger.fills", insert_fills)
    ///     .batch_max(200);
    /// assert!(spec.is_batch());
    /// ```
    pub fn batch<F, T>(name: &str, topics: &[&str], group: &str, handler: F) -> Self
    where
        F: BatchFn<T>,
        T: crate::Event + serde::de::DeserializeOwned + Send + 'static,
    {
        Self {
            make: Box::new(move |_resources, accept| {
                let batch: Arc<dyn BatchHandler> = Arc::new(TypedBatch::new(handler, &accept));
                Arc::new(BatchOfOne(batch)) as Arc<dyn MessageHandler>
            }),
            requirements: crate::handler::extract::payload_event_types::<T>(),
            batch: Some(BatchOptions::default()),
            ..Self::new(name, topics, group, no_handler)
        }
    }

    /// The most records in one batch of a batch handler (default 500, at least 1).
    #[must_use]
    pub fn batch_max(mut self, records: usize) -> Self {
        if let Some(b) = &mut self.batch {
            b.max = records.max(1);
        }
        self
    }

    /// How long a batch waits for more records after its first (default 50 ms).
    #[must_use]
    pub fn batch_linger(mut self, linger: std::time::Duration) -> Self {
        if let Some(b) = &mut self.batch {
            b.linger = linger;
        }
        self
    }

    /// Whether this is a batch handler ([`HandlerSpec::batch`]).
    pub fn is_batch(&self) -> bool {
        self.batch.is_some()
    }

    /// The handler's name (in errors and logs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Whether the handler runs in Kafka transactions ([`HandlerSpec::exactly_once`]).
    pub fn is_exactly_once(&self) -> bool {
        self.exactly_once
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

    /// Whether this handler consumes and publishes in Kafka transactions (default false): its
    /// published records and its input offsets commit together or not at all, so a
    /// `read_committed` reader sees each output once, crashes included. What
    /// `#[stream_handler(exactly_once)]` sets; `STREAMKIT_EXACTLY_ONCE=1` sets it for every
    /// handler of a service.
    #[must_use]
    pub fn exactly_once(mut self, enabled: bool) -> Self {
        self.exactly_once = enabled;
        self
    }

    /// Handles up to `records` of one partition at the same time (default 1: one at a time, in
    /// offset order), keeping `order` ([`Order::Key`] by default): see
    /// [`ConsumerOptions::concurrency`](crate::consumer::ConsumerOptions::concurrency). Commits
    /// stay contiguous whatever the order. What `#[stream_handler(concurrency = N, order =
    /// "key")]` sets. Not with [`HandlerSpec::exactly_once`]: the service does not build.
    ///
    /// ```
    /// use stream_core::consumer::Order;
    /// use stream_core::service::HandlerSpec;
    /// async fn place() {}
    /// let spec = HandlerSpec::new("place", &["*.orders.new"], "engine.orders", place)
    ///     .concurrency(8)
    ///     .order(Order::Key);
    /// assert_eq!(spec.concurrency_limit(), 8);
    /// ```
    #[must_use]
    pub fn concurrency(mut self, records: usize) -> Self {
        self.concurrency = records.max(1);
        self
    }

    /// What stays in order when [`HandlerSpec::concurrency`] is above 1.
    #[must_use]
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Records of one partition handled at the same time ([`HandlerSpec::concurrency`]).
    pub fn concurrency_limit(&self) -> usize {
        self.concurrency
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

    /// Declares the topics the handler publishes to: catalog topic names without the broker
    /// (`signals.validated`, on any broker), full topics or `*` patterns. What
    /// `#[stream_handler(publishes = [...])]` sets; the wiring report and the AsyncAPI document
    /// list them. Once a handler declares any, publishing through its
    /// [`Context`](crate::handler::extract::Context) to another topic is a permanent error that
    /// names the declaration to add.
    ///
    /// ```
    /// use stream_core::service::HandlerSpec;
    /// async fn validate() {}
    /// let spec = HandlerSpec::new("validate", &["*.signals.raw"], "risk.signals", validate)
    ///     .publishes(&["signals.validated"]);
    /// assert_eq!(spec.outputs(), ["signals.validated"]);
    /// ```
    #[must_use]
    pub fn publishes(mut self, topics: &[&str]) -> Self {
        self.publishes
            .extend(topics.iter().map(|t| (*t).to_owned()));
        let outputs = Arc::new(DeclaredOutputs::new(&self.name, &self.publishes));
        let make = std::mem::replace(&mut self.make, Box::new(|_, _| unreachable!()));
        // The handler's context finds its declared outputs among the resources it is bound to;
        // the last call's (all of them) are inserted first and kept.
        self.make = Box::new(move |resources: Arc<Resources>, accept| {
            if resources.get::<Arc<DeclaredOutputs>>().is_some() {
                return make(resources, accept);
            }
            let mut own = (*resources).clone();
            own.insert(outputs);
            make(Arc::new(own), accept)
        });
        self
    }

    /// The declared outputs ([`HandlerSpec::publishes`]); empty when the handler declares none.
    pub fn outputs(&self) -> &[String] {
        &self.publishes
    }
}

/// The handler [`HandlerSpec::batch`] starts from, before replacing it with the batch handler.
async fn no_handler() {}
