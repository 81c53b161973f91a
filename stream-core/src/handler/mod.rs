//! What a consumer calls for each message: [`Incoming`], [`MessageHandler`] and [`HandlerError`].
//!
//! [`MessageHandler`] is the one low-level contract between the consumer and user code: given an
//! [`Incoming`] message (its envelope, decoded up to the payload, and where it came from), do the
//! work and say how it went. The typed, axum-style handlers of the service layer are turned into
//! a `MessageHandler`; a closure `Fn(Arc<Incoming>) -> impl Future<Output = Result<(), HandlerError>>`
//! is one too.

pub mod extract;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;

use crate::envelope::EventEnvelope;
use crate::envelope::codec::{CodecError, RawEnvelope};
use crate::kafka::producer::{CausalProducer, MessageProducer, PendingDelivery};
pub use crate::kafka::record::{RecordHeaders, RecordMeta};
use crate::reliability::contract::EventTypes;

/// Whether an error is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A transient failure (timeout, unavailable dependency): retried per the retry policy,
    /// then dead-lettered.
    Retryable,
    /// A failure that will not go away (invalid input, rejected by a rule): dead-lettered at once.
    Permanent,
    /// The payload did not match the handler's type: dead-lettered at once.
    Decode,
    /// The handler panicked: dead-lettered at once (a bug does not heal on retry).
    Panic,
    /// The envelope breaks its topic's contract (an event type the handler does not read, a
    /// `broker` other than the topic's): dead-lettered before the handler runs.
    Contract,
}

impl ErrorKind {
    /// The short stable name written in dead-letter headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "retryable",
            Self::Permanent => "permanent",
            Self::Decode => "decode",
            Self::Panic => "panic",
            Self::Contract => "contract",
        }
    }
}

/// The error a handler returns. `?` on any error type makes it retryable; say
/// [`HandlerError::permanent`] when retrying cannot help.
///
/// ```
/// use stream_core::handler::{HandlerError, ErrorKind};
/// fn check(qty: i64) -> Result<(), HandlerError> {
///     if qty <= 0 {
///         return Err(HandlerError::permanent(format!("quantity {qty} is not positive")));
///     }
///     let _n: u8 = "300".parse()?; // any std error converts, as retryable
///     Ok(())
/// }
/// assert_eq!(check(-1).unwrap_err().kind(), ErrorKind::Permanent);
/// assert_eq!(check(1).unwrap_err().kind(), ErrorKind::Retryable);
/// ```
pub struct HandlerError {
    kind: ErrorKind,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl HandlerError {
    /// A transient error: retry it.
    pub fn retryable(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind: ErrorKind::Retryable,
            source: error.into(),
        }
    }

    /// An error that retrying cannot fix: dead-letter the message now.
    pub fn permanent(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind: ErrorKind::Permanent,
            source: error.into(),
        }
    }

    /// The message could not be decoded into the handler's types.
    pub fn decode(error: CodecError) -> Self {
        Self {
            kind: ErrorKind::Decode,
            source: Box::new(error),
        }
    }

    /// The handler panicked with `message`.
    pub fn panic(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Panic,
            source: message.into().into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the retry policy applies.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Retryable
    }

    /// The underlying error.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        Self::retryable(error)
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.kind.as_str(), self.source)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

/// A message handed to a handler: the envelope (payload still raw JSON) and its record.
#[derive(Debug)]
pub struct Incoming {
    /// The envelope with its metadata decoded and `data` left as raw JSON.
    pub envelope: RawEnvelope,
    /// Where the record came from, with its key, value and headers.
    pub record: RecordMeta,
    /// The service's producer, if it has one.
    pub producer: Option<MessageProducer>,
    /// Deliveries the consumer awaits before this message counts as finished.
    deferred: Deferred,
}

/// The deliveries a handler left for the consumer to await ([`Incoming::defer`]).
#[derive(Default)]
struct Deferred(Mutex<Deliveries>);

/// Deliveries in publish order. Most handlers publish one record a message, held inline: a
/// `Vec` cost an allocation for every message that published.
pub(crate) type Deliveries = smallvec::SmallVec<[PendingDelivery; 1]>;

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.lock().map(|d| d.len()).unwrap_or_default();
        write!(f, "{n} deferred deliveries")
    }
}

impl Incoming {
    /// A message as the consumer hands it to a handler (for driving a [`MessageHandler`] by hand,
    /// in tests for example).
    pub fn new(
        envelope: RawEnvelope,
        record: RecordMeta,
        producer: Option<MessageProducer>,
    ) -> Self {
        Self {
            envelope,
            record,
            producer,
            deferred: Deferred::default(),
        }
    }

    /// The record value exactly as received (what a dead letter carries).
    pub fn value(&self) -> &[u8] {
        self.record.value().unwrap_or_default()
    }

    /// The envelope with `data` decoded as `T`.
    pub fn typed<T: DeserializeOwned>(&self) -> Result<EventEnvelope<T>, HandlerError> {
        self.envelope.to_typed::<T>().map_err(HandlerError::decode)
    }

    /// Leaves `delivery` for the consumer to await: this message counts as finished (its offset
    /// committable, its id marked done) only once the broker acknowledged it, and if it fails the
    /// message goes to the dead-letter topic. The handler returns without waiting, and the
    /// partition's next message is handled meanwhile. What
    /// [`Context::publish`](crate::handler::extract::Context::publish) does with each record it hands to
    /// librdkafka; deliveries deferred after the handler returned are not awaited.
    pub fn defer(&self, delivery: PendingDelivery) {
        self.deferred
            .0
            .lock()
            .expect("deferred deliveries")
            .push(delivery);
    }

    /// Takes the deliveries deferred so far.
    pub(crate) fn take_deferred(&self) -> Deliveries {
        std::mem::take(&mut *self.deferred.0.lock().expect("deferred deliveries"))
    }

    /// A producer whose sends carry this event's correlation id and set `causation_id` to its id.
    pub fn reply_producer(&self) -> Option<CausalProducer> {
        self.producer
            .as_ref()
            .map(|p| p.caused_by(self.envelope.lineage()))
    }
}

/// The consumer's view of user code: handle one message.
///
/// Implemented for every `Fn(Arc<Incoming>) -> impl Future<Output = Result<(), HandlerError>>`.
///
/// ```
/// use std::sync::Arc;
/// use stream_core::handler::{Incoming, HandlerError, MessageHandler};
/// fn assert_handler<H: MessageHandler>(_: H) {}
/// assert_handler(|msg: Arc<Incoming>| async move {
///     println!("{} from {}", msg.envelope.id, msg.record.topic);
///     Ok::<(), HandlerError>(())
/// });
/// ```
pub trait MessageHandler: Send + Sync + 'static {
    /// Handles one message; called again with the same message on a retry.
    fn call(&self, message: Arc<Incoming>) -> BoxFuture<'static, Result<(), HandlerError>>;

    /// The event types this handler reads from `topic`; the consumer dead-letters an envelope of
    /// any other type before calling it (see [`crate::reliability::contract`]). Every type, by
    /// default.
    fn event_types(&self, topic: &str) -> &EventTypes {
        let _ = topic;
        &EventTypes::ANY
    }
}

impl<F, Fut> MessageHandler for F
where
    F: Fn(Arc<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn call(&self, message: Arc<Incoming>) -> BoxFuture<'static, Result<(), HandlerError>> {
        Box::pin(self(message))
    }
}

/// What a handler may return: `Result<(), E>` for any `E` that converts into [`HandlerError`],
/// or `()`.
pub trait IntoHandlerResult: Send {
    /// The result as the consumer sees it.
    fn into_handler_result(self) -> Result<(), HandlerError>;
}

impl IntoHandlerResult for () {
    fn into_handler_result(self) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl<E: Into<HandlerError> + Send> IntoHandlerResult for Result<(), E> {
    fn into_handler_result(self) -> Result<(), HandlerError> {
        self.map_err(Into::into)
    }
}

/// An async fn whose arguments are all extractors: the axum-style handler.
///
/// `Args` is the tuple of argument types; it only tells the impls apart. Both the builder's
/// `add_consumer_handler` and the `#[stream_handler]` macro end in this one trait.
///
/// ```
/// use stream_core::handler::extract::{Context, Data};
/// use stream_core::handler::{Handler, HandlerError};
/// #[derive(serde::Serialize, serde::Deserialize)] struct Tick { px: u64 }
/// impl stream_core::Event for Tick { const EVENT_TYPE: &'static str = "market_tick"; }
/// async fn on_tick(Data(t): Data<Tick>, ctx: Context) -> Result<(), HandlerError> {
///     println!("{} on {}", t.px, ctx.broker());
///     Ok(())
/// }
/// fn is_handler<A, H: Handler<A>>(_: H) {}
/// is_handler(on_tick);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a streamkit handler",
    note = "a handler is an `async fn` whose arguments are all extractors (Envelope<T>, Data<T>, Context, Broker, Key, Headers, State<S>) and that returns `Result<(), E>` with `E: Into<HandlerError>`, or `()`",
    note = "the `T` of `Envelope<T>` and `Data<T>` is an `Event` (`#[derive(Event)]`), or `serde_json::Value`"
)]
pub trait Handler<Args>: Clone + Send + Sync + 'static {
    /// Builds the arguments from `message` and runs the handler.
    fn call(
        &self,
        message: Arc<Incoming>,
        resources: &crate::handler::extract::Resources,
    ) -> BoxFuture<'static, Result<(), HandlerError>>;

    /// What the handler's extractors need from the service.
    fn requirements() -> Vec<crate::handler::extract::Requirement>;
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Handler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoHandlerResult + 'static,
            $($arg: crate::handler::extract::FromMessage,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(
                &self,
                message: Arc<Incoming>,
                resources: &crate::handler::extract::Resources,
            ) -> BoxFuture<'static, Result<(), HandlerError>> {
                $(
                    let $arg = match $arg::from_message(&message, resources) {
                        Ok(v) => v,
                        Err(e) => return Box::pin(async move { Err(e) }),
                    };
                )*
                // `map`, not `async move { fut.await… }`: an async block awaiting a captured
                // future keeps two copies of it in its own state, and this box is allocated per
                // message.
                Box::pin(futures::FutureExt::map(
                    (self)($($arg),*),
                    IntoHandlerResult::into_handler_result,
                ))
            }

            #[allow(unused_mut)]
            fn requirements() -> Vec<crate::handler::extract::Requirement> {
                let mut out = Vec::new();
                $( out.extend($arg::requirements()); )*
                out
            }
        }
    };
}

impl_handler!();
impl_handler!(A1);
impl_handler!(A1, A2);
impl_handler!(A1, A2, A3);
impl_handler!(A1, A2, A3, A4);
impl_handler!(A1, A2, A3, A4, A5);
impl_handler!(A1, A2, A3, A4, A5, A6);
impl_handler!(A1, A2, A3, A4, A5, A6, A7);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8);

/// A [`Handler`] bound to the service's resources: what the consumer calls.
pub struct BoundHandler<H, Args> {
    handler: H,
    resources: Arc<crate::handler::extract::Resources>,
    event_types: EventTypes,
    _args: std::marker::PhantomData<fn() -> Args>,
}

impl<H: Handler<Args>, Args> BoundHandler<H, Args> {
    /// Binds `handler` to `resources`; it reads the event types of its payload extractors
    /// ([`EventTypes::of`] its [`Handler::requirements`]).
    pub fn new(handler: H, resources: Arc<crate::handler::extract::Resources>) -> Self {
        Self {
            handler,
            resources,
            event_types: EventTypes::of(&H::requirements()),
            _args: std::marker::PhantomData,
        }
    }

    /// Lets the handler read `event_types` as well (what `HandlerSpec::accept` gives).
    #[must_use]
    pub fn accepting(mut self, event_types: &EventTypes) -> Self {
        self.event_types = self.event_types.and(event_types);
        self
    }
}

impl<H: Handler<Args>, Args: 'static> MessageHandler for BoundHandler<H, Args> {
    fn call(&self, message: Arc<Incoming>) -> BoxFuture<'static, Result<(), HandlerError>> {
        self.handler.call(message, &self.resources)
    }

    fn event_types(&self, _topic: &str) -> &EventTypes {
        &self.event_types
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::extract::{Context, Envelope, Resources};
    use crate::kafka::config::KafkaConfig;
    use crate::topic::Broker;

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    struct Signal {
        symbol: String,
        quantity: i64,
        price: rust_decimal::Decimal,
    }

    impl crate::Event for Signal {
        const EVENT_TYPE: &'static str = "trading_signal";
    }

    async fn forward(Envelope(signal): Envelope<Signal>, ctx: Context) -> Result<(), HandlerError> {
        let out = signal.data;
        if out.quantity > 10 {
            ctx.send("paper.signals.validated", &out).await?;
        } else {
            ctx.publish("paper.signals.validated", &out).await?;
        }
        Ok(())
    }

    /// The future a handler returns is allocated once per message. glibc's malloc serves blocks
    /// up to 1,032 bytes from a per-thread cache and takes a locked, much slower path above;
    /// a handler that sends and publishes (the producer's futures are the bulk of it) must stay
    /// under that. It was 3,448 bytes while the producer kept its envelope and its back-off
    /// timer in the futures it returns and a wrapper kept the handler's future twice.
    #[test]
    fn a_publishing_handlers_future_fits_the_allocators_thread_cache() {
        let signal = Signal {
            symbol: "RELIANCE".into(),
            quantity: 100,
            price: "2450.55".parse().unwrap(),
        };
        let bytes = crate::envelope::codec::encode(
            &EventEnvelope::builder("trading_signal", &signal)
                .broker(Broker::new("paper").unwrap())
                .source("strategy")
                .build(),
        )
        .unwrap();
        let envelope = RawEnvelope::decode(&bytes).unwrap();
        let record = RecordMeta::new("paper.signals.raw", Broker::new("paper").unwrap(), 0, 7)
            .with_value(bytes);
        let producer = MessageProducer::new(&KafkaConfig::new("127.0.0.1:1"), "risk").unwrap();
        let incoming = Arc::new(Incoming::new(envelope, record, Some(producer)));
        let handler = BoundHandler::new(forward, Arc::new(Resources::default()));
        let future = handler.call(incoming);
        let size = std::mem::size_of_val(&*future);
        assert!(size <= 1_024, "the handler's future is {size} bytes");
    }
}
