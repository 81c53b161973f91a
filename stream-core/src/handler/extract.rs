//! Extractors: the arguments a handler can take, each built from the incoming message.
//!
//! As in axum, a handler is any async fn whose arguments implement [`FromMessage`]:
//!
//! | extractor | what it gives |
//! |---|---|
//! | [`Envelope<T>`] | the typed envelope (metadata and payload) |
//! | [`Data<T>`] | the payload only |
//! | [`Context`] | topic, broker, partition, offset, key, headers, ids, and a producer whose sends carry the correlation id and set `causation_id` |
//! | [`Broker`] | the trading broker namespace of the topic |
//! | [`Key`] | the record key |
//! | [`Headers`] | the record headers |
//! | [`State<S>`] | shared application state given to the service with `.with_state(s)` |
//!
//! A payload that does not match `T` fails extraction with a decode error: the message goes to the
//! dead-letter topic with the field path in its `dlq.error` header. An envelope of another event
//! type than `T`'s never reaches the handler (see [`reliability::contract`](crate::reliability::contract)).

use foldhash::HashMap;
use std::any::{Any, TypeId};
use std::future::Future;
use std::sync::Arc;

use uuid::Uuid;

use crate::envelope::event::Event;
use crate::envelope::event_envelope::EventEnvelope;
use crate::handler::error::HandlerError;
pub(crate) use crate::handler::error::handler_error;
use crate::handler::incoming::Incoming;
use crate::handler::publishes::DeclaredOutputs;
use crate::kafka::producer::causal::CausalProducer;
use crate::kafka::record::RecordHeaders;
use crate::topic::Broker;
use crate::topic::typed::PublishTarget;

/// What an extractor needs from the service for the handler to work; checked by
/// `StreamServiceBuilder::build` before anything connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Shared state of this type, given with `.with_state(..)`.
    State(TypeId, &'static str),
    /// A producer, added with `.add_producer()`.
    Producer,
    /// Reads envelopes of this event type (a payload extractor's `T::EVENT_TYPE` or one of
    /// `T::ACCEPTS`); the consumer dead-letters envelopes of types no requirement names (see
    /// [`reliability::contract`](crate::reliability::contract)).
    EventType(&'static str),
}

/// Values a service hands to every handler: its shared states, by type.
#[derive(Default, Clone)]
pub struct Resources {
    states: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resources")
            .field("states", &self.states.len())
            .finish()
    }
}

impl Resources {
    /// Adds a shared state (one per type; a second of the same type replaces the first).
    pub fn insert<S: Clone + Send + Sync + 'static>(&mut self, state: S) {
        self.states.insert(TypeId::of::<S>(), Arc::new(state));
    }

    /// The state of type `S`, if given.
    pub fn get<S: Clone + Send + Sync + 'static>(&self) -> Option<&S> {
        self.states
            .get(&TypeId::of::<S>())
            .and_then(|s| s.downcast_ref::<S>())
    }

    /// Whether a state with this type id was given.
    pub fn has(&self, id: TypeId) -> bool {
        self.states.contains_key(&id)
    }
}

/// A handler argument built from the incoming message.
///
/// ```
/// use std::sync::Arc;
/// use stream_core::handler::extract::{FromMessage, Resources};
/// use stream_core::handler::{HandlerError, Incoming};
///
/// /// The strategy id, read from a header.
/// struct StrategyId(String);
///
/// impl FromMessage for StrategyId {
///     fn from_message(msg: &Arc<Incoming>, _: &Resources) -> Result<Self, HandlerError> {
///         msg.record
///             .header("strategy")
///             .map(|v| StrategyId(String::from_utf8_lossy(v).into_owned()))
///             .ok_or_else(|| HandlerError::permanent("missing `strategy` header"))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler argument streamkit can extract",
    label = "not an extractor",
    note = "handler arguments must implement `FromMessage`: Envelope<T>, Data<T>, Context, Broker, Key, Headers or State<S>"
)]
pub trait FromMessage: Sized + Send + 'static {
    /// Builds the argument; an error fails the message (decode errors are dead-lettered).
    fn from_message(msg: &Arc<Incoming>, resources: &Resources) -> Result<Self, HandlerError>;

    /// What the service must provide for this extractor.
    fn requirement() -> Option<Requirement> {
        None
    }

    /// Every requirement of this extractor: [`FromMessage::requirement`], and for a payload
    /// extractor the event types it reads.
    fn requirements() -> Vec<Requirement> {
        Self::requirement().into_iter().collect()
    }
}

/// The typed envelope: metadata and payload.
///
/// `T` is an [`Event`]: the handler reads envelopes whose `event_type` is `T::EVENT_TYPE` (or
/// one of `T::ACCEPTS`), and the consumer dead-letters any other as a contract break before the
/// handler runs ([`reliability::contract`](crate::reliability::contract)).
/// `Envelope<serde_json::Value>` reads every event type.
///
/// ```
/// use stream_core::handler::extract::Envelope;
/// use stream_core::handler::HandlerError;
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Tick { price: rust_decimal::Decimal }
/// async fn on_tick(Envelope(tick): Envelope<Tick>) -> Result<(), HandlerError> {
///     println!("{} from {} at {}", tick.data.price, tick.source, tick.timestamp);
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Envelope<T>(pub EventEnvelope<T>);

impl<T: Event> FromMessage for Envelope<T> {
    fn from_message(msg: &Arc<Incoming>, _: &Resources) -> Result<Self, HandlerError> {
        msg.typed::<T>().map(Envelope)
    }

    fn requirements() -> Vec<Requirement> {
        payload_event_types::<T>()
    }
}

/// An untyped payload reads every event type.
impl FromMessage for Envelope<serde_json::Value> {
    fn from_message(msg: &Arc<Incoming>, _: &Resources) -> Result<Self, HandlerError> {
        msg.typed::<serde_json::Value>().map(Envelope)
    }
}

/// The event types a payload extractor of `T` reads.
pub(crate) fn payload_event_types<T: Event>() -> Vec<Requirement> {
    std::iter::once(T::EVENT_TYPE)
        .chain(T::ACCEPTS.iter().copied())
        .map(Requirement::EventType)
        .collect()
}

impl<T> std::ops::Deref for Envelope<T> {
    type Target = EventEnvelope<T>;
    fn deref(&self) -> &EventEnvelope<T> {
        &self.0
    }
}

/// The payload only; `T` as for [`Envelope<T>`].
///
/// ```
/// use stream_core::handler::extract::Data;
/// # #[derive(serde::Deserialize)] struct Fill { qty: u32 }
/// async fn on_fill(Data(fill): Data<Fill>) -> Result<(), stream_core::handler::HandlerError> {
///     println!("filled {}", fill.qty);
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Data<T>(pub T);

impl<T: Event> FromMessage for Data<T> {
    fn from_message(msg: &Arc<Incoming>, _: &Resources) -> Result<Self, HandlerError> {
        msg.typed::<T>().map(|e| Data(e.data))
    }

    fn requirements() -> Vec<Requirement> {
        payload_event_types::<T>()
    }
}

/// An untyped payload reads every event type.
impl FromMessage for Data<serde_json::Value> {
    fn from_message(msg: &Arc<Incoming>, _: &Resources) -> Result<Self, HandlerError> {
        msg.typed::<serde_json::Value>().map(|e| Data(e.data))
    }
}

/// The record key as text (`None` for a record without a key or with a non-UTF-8 key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(pub Option<String>);

impl FromMessage for Key {
    fn from_message(msg: &Arc<Incoming>, _: &Resources) -> Result<Self, HandlerError> {
        Ok(Key(msg.record.key_str().map(str::to_owned)))
    }
}

/// The record headers, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, Vec<u8>)>);

impl Headers {
    /// The first header named `name` as text.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

impl FromMessage for Headers {
    fn from_message(msg: &Arc<Incoming>, _: &Resources) -> Result<Self, HandlerError> {
        Ok(Headers(msg.record.headers().to_vec()))
    }
}

impl FromMessage for Broker {
    fn from_message(msg: &Arc<Incoming>, _: &Resources) -> Result<Self, HandlerError> {
        Ok(msg.record.broker.clone())
    }
}

/// Shared application state given with `StreamServiceBuilder::with_state`; one value shared by
/// every partition and handler (wrap mutable parts in a `Mutex` or atomics).
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
/// use stream_core::handler::extract::State;
/// #[derive(Clone, Default)]
/// struct Positions { open: Arc<AtomicU64> }
/// async fn on_fill(State(p): State<Positions>) -> Result<(), stream_core::handler::HandlerError> {
///     p.open.fetch_add(1, Ordering::Relaxed);
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct State<S>(pub S);

impl<S: Clone + Send + Sync + 'static> FromMessage for State<S> {
    fn from_message(_: &Arc<Incoming>, resources: &Resources) -> Result<Self, HandlerError> {
        resources.get::<S>().cloned().map(State).ok_or_else(|| {
            HandlerError::permanent(format!(
                "no state of type `{}`: add it with .with_state(..)",
                std::any::type_name::<S>()
            ))
        })
    }

    fn requirement() -> Option<Requirement> {
        Some(Requirement::State(
            TypeId::of::<S>(),
            std::any::type_name::<S>(),
        ))
    }
}

/// Everything about the message being handled, and a producer for what it causes.
///
/// Sends through the context carry the incoming event's `correlation_id` and set `causation_id`
/// to its id, so a chain of events can be followed from the first tick to the last fill.
///
/// ```no_run
/// use stream_core::handler::extract::{Context, Data};
/// use stream_core::handler::HandlerError;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Signal { qty: u32 }
/// # impl stream_core::Event for Signal { const EVENT_TYPE: &'static str = "validated_signal"; }
/// async fn validate(Data(s): Data<Signal>, ctx: Context) -> Result<(), HandlerError> {
///     // `paper.signals.raw` in, `paper.signals.validated` out: same broker, no string surgery.
///     let out = ctx.topic_on_same_broker("signals.validated")?;
///     ctx.send(&out, &s).await?;
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    /// The message; its causal producer is made on the first publish
    /// ([`Incoming::causal_producer`]). Two pointers in all: a context is kept in every
    /// handler's future, which is allocated per message.
    message: Arc<Incoming>,
    /// The handler's declared outputs, when it declares any.
    outputs: Option<Arc<DeclaredOutputs>>,
}

// The sends return `impl Future` built from `async` blocks, not `async fn`s: an `async fn`
// keeps two copies of its arguments in its state (see `MessageProducer::enqueue_with`).
#[allow(clippy::manual_async_fn)]
impl Context {
    /// The topic the message came from.
    pub fn topic(&self) -> &str {
        &self.message.record.topic
    }

    /// The trading broker namespace.
    pub fn broker(&self) -> &Broker {
        &self.message.record.broker
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        self.message.record.partition
    }

    /// The offset.
    pub fn offset(&self) -> i64 {
        self.message.record.offset
    }

    /// The record key as text.
    pub fn key(&self) -> Option<&str> {
        self.message.record.key_str()
    }

    /// The record headers.
    pub fn headers(&self) -> &RecordHeaders {
        self.message.record.headers()
    }

    /// The event id.
    pub fn event_id(&self) -> Uuid {
        self.message.envelope.id
    }

    /// The correlation id of the chain this event belongs to.
    pub fn correlation_id(&self) -> Uuid {
        self.message.envelope.correlation_id
    }

    /// The id of the event that caused this one, if any.
    pub fn causation_id(&self) -> Option<Uuid> {
        self.message.envelope.causation_id
    }

    /// The whole incoming message.
    pub fn message(&self) -> &Incoming {
        &self.message
    }

    /// `<this broker>.<rest>`: the topic `rest` in this message's broker namespace.
    pub fn topic_on_same_broker(&self, rest: &str) -> Result<String, HandlerError> {
        let topic = format!("{}.{rest}", self.broker());
        crate::topic::Topic::parse(&topic)
            .map(|t| t.to_string())
            .map_err(|e| HandlerError::permanent(e.to_string()))
    }

    /// The producer bound to this event (`None` when the service has no producer).
    pub fn producer(&self) -> Option<&CausalProducer> {
        self.message.causal_producer()
    }

    /// Publishes `data` caused by this event, keyed by this message's key, and waits for the
    /// acknowledgement. A send failure is a retryable handler error.
    ///
    /// `topic` is a typed topic of `topics!()` (`&topics::signals_validated::on(ctx.broker())`),
    /// which builds only with a payload of its event type, or a topic name (`&str`, `String`,
    /// [`Topic`](crate::topic::Topic)), checked at run time only (see
    /// [`topic::typed`](crate::topic::typed)). When the handler declares its outputs
    /// (`publishes`), a topic it did not declare is a permanent error naming the declaration to
    /// add.
    ///
    /// The handler waits a broker round trip (plus `linger.ms`) per send, and a partition's
    /// messages are handled one after another: a partition that publishes this way moves at one
    /// message per round trip. [`Context::publish`] does not wait.
    ///
    /// These sends return futures rather than being `async fn`s so that the handler's own future,
    /// which holds one and is allocated per message, stays small (see
    /// [`MessageProducer::enqueue_with`](crate::kafka::producer::MessageProducer::enqueue_with)).
    pub fn send<T: Event, P: PublishTarget<T> + ?Sized>(
        &self,
        topic: &P,
        data: &T,
    ) -> impl Future<Output = Result<Uuid, HandlerError>> {
        // A typed topic of another event type fails the build here.
        let () = P::CHECK;
        self.send_keyed(topic, self.key().unwrap_or_default(), data)
    }

    /// Publishes `data` caused by this event, keyed by this message's key, without waiting for
    /// the acknowledgement: the record is handed to librdkafka and the handler goes on.
    ///
    /// Delivery stays at-least-once: the consumer counts this message finished (commits its
    /// offset, marks its id done) only once every record published this way is acknowledged,
    /// and a record that cannot be delivered sends this message to the dead-letter topic. In the
    /// meantime the partition's next messages are handled, so the records of many messages are
    /// in flight together and a publishing handler does not pay a round trip per message. Output
    /// order follows publish order (the producer is idempotent). Use [`Context::send`] when the
    /// handler needs the acknowledgement itself, to react to a failure.
    ///
    /// `topic` is a typed topic of `topics!()` (`&topics::signals_validated::on(ctx.broker())`),
    /// which builds only with a payload of its event type, or a topic name (`&str`, `String`,
    /// [`Topic`](crate::topic::Topic)), checked at run time only (see
    /// [`topic::typed`](crate::topic::typed)). When the handler declares its outputs
    /// (`publishes`), a topic it did not declare is a permanent error naming the declaration to
    /// add.
    ///
    /// Errors are those of handing the record over (bad topic, payload that does not encode, a
    /// full queue past its deadline); delivery failures come later, as described.
    ///
    /// ```no_run
    /// use stream_core::handler::extract::{Context, Data};
    /// use stream_core::handler::HandlerError;
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Signal { qty: u32 }
    /// # impl stream_core::Event for Signal { const EVENT_TYPE: &'static str = "validated_signal"; }
    /// async fn validate(Data(s): Data<Signal>, ctx: Context) -> Result<(), HandlerError> {
    ///     if s.qty <= 1_000 {
    ///         ctx.publish("paper.signals.validated", &s).await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn publish<T: Event, P: PublishTarget<T> + ?Sized>(
        &self,
        topic: &P,
        data: &T,
    ) -> impl Future<Output = Result<Uuid, HandlerError>> {
        // A typed topic of another event type fails the build here.
        let () = P::CHECK;
        self.publish_keyed(topic, self.key().unwrap_or_default(), data)
    }

    /// Like [`Context::publish`] with an explicit partition key.
    pub fn publish_keyed<T: Event, P: PublishTarget<T> + ?Sized>(
        &self,
        topic: &P,
        key: &str,
        data: &T,
    ) -> impl Future<Output = Result<Uuid, HandlerError>> {
        // A typed topic of another event type fails the build here.
        let () = P::CHECK;
        async move {
            let topic = topic.topic_name();
            self.check_declared(topic)?;
            let delivery = self
                .require_producer()?
                .enqueue(topic, key, data)
                .await
                .map_err(handler_error)?;
            let id = delivery.id();
            self.message.defer(delivery);
            Ok(id)
        }
    }

    /// A publish to a topic the handler did not declare is a permanent error naming the
    /// declaration to add (only for a handler that declares its outputs).
    fn check_declared(&self, topic: &str) -> Result<(), HandlerError> {
        match &self.outputs {
            Some(outputs) => outputs.check(topic),
            None => Ok(()),
        }
    }

    fn require_producer(&self) -> Result<&CausalProducer, HandlerError> {
        self.message.causal_producer().ok_or_else(|| {
            HandlerError::permanent(
                "this service has no producer: add .add_producer() to the builder",
            )
        })
    }

    /// Like [`Context::send`] with an explicit partition key.
    pub fn send_keyed<T: Event, P: PublishTarget<T> + ?Sized>(
        &self,
        topic: &P,
        key: &str,
        data: &T,
    ) -> impl Future<Output = Result<Uuid, HandlerError>> {
        // A typed topic of another event type fails the build here.
        let () = P::CHECK;
        async move {
            let topic = topic.topic_name();
            self.check_declared(topic)?;
            self.require_producer()?
                .send(topic, key, data)
                .await
                .map_err(handler_error)
        }
    }
}

impl FromMessage for Context {
    fn from_message(msg: &Arc<Incoming>, resources: &Resources) -> Result<Self, HandlerError> {
        Ok(Context {
            message: Arc::clone(msg),
            outputs: resources.get::<Arc<DeclaredOutputs>>().cloned(),
        })
    }

    fn requirement() -> Option<Requirement> {
        Some(Requirement::Producer)
    }
}
