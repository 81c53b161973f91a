//! What a consumer calls for each message: [`Incoming`], [`MessageHandler`] and [`HandlerError`].
//!
//! [`MessageHandler`] is the one low-level contract between the consumer and user code: given an
//! [`Incoming`] message (its envelope, decoded up to the payload, and where it came from), do the
//! work and say how it went. The typed, axum-style handlers of the service layer are turned into
//! a `MessageHandler`; a closure `Fn(Arc<Incoming>) -> impl Future<Output = Result<(), HandlerError>>`
//! is one too.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;

use crate::codec::{CodecError, RawEnvelope};
use crate::envelope::EventEnvelope;
use crate::producer::{CausalProducer, MessageProducer, PendingDelivery};
use crate::topic::Broker;

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
}

impl ErrorKind {
    /// The short stable name written in dead-letter headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "retryable",
            Self::Permanent => "permanent",
            Self::Decode => "decode",
            Self::Panic => "panic",
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

/// Where a message came from: its record's coordinates and metadata.
#[derive(Debug, Clone)]
pub struct RecordMeta {
    /// The topic it was read from.
    pub topic: Arc<str>,
    /// The trading broker namespace (the topic's first segment).
    pub broker: Broker,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The record key (the partition key), if any.
    pub key: Option<Vec<u8>>,
    /// The record headers, in order.
    pub headers: RecordHeaders,
    /// The record timestamp in milliseconds since the epoch, if any.
    pub timestamp_ms: Option<i64>,
}

/// A record's headers, in order, stored in one buffer.
///
/// The consumer copies every record's headers before handing it to a worker; as a list of
/// `(String, Vec<u8>)` that was two allocations per header (most of what the consumer spent per
/// message beyond decoding, in `benches/e2e.rs`), here it is two per record. A header without a
/// value reads as an empty value.
///
/// ```
/// use stream_core::handler::RecordHeaders;
/// let mut headers = RecordHeaders::new();
/// headers.push("event_type", Some(b"trading_signal"));
/// headers.push("trace", None);
/// assert_eq!(headers.get("event_type"), Some(&b"trading_signal"[..]));
/// assert_eq!(headers.get("trace"), Some(&b""[..]));
/// assert_eq!(headers.get("missing"), None);
/// let all: Vec<(&str, &[u8])> = headers.iter().collect();
/// assert_eq!(all, [("event_type", &b"trading_signal"[..]), ("trace", &b""[..])]);
/// assert_eq!(headers.to_vec()[0], ("event_type".to_owned(), b"trading_signal".to_vec()));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RecordHeaders {
    /// Each header's key then its value, back to back.
    bytes: Vec<u8>,
    /// Where each header's key and value end in `bytes`.
    ends: Vec<(u32, u32)>,
}

impl RecordHeaders {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `headers` headers of `bytes` bytes (keys and values) in all.
    pub fn with_capacity(headers: usize, bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(headers),
        }
    }

    /// Appends a header (`None`: a header without a value).
    pub fn push(&mut self, key: &str, value: Option<&[u8]>) {
        self.bytes.extend_from_slice(key.as_bytes());
        let key_end = self.bytes.len() as u32;
        self.bytes.extend_from_slice(value.unwrap_or_default());
        self.ends.push((key_end, self.bytes.len() as u32));
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The headers in order, as `(key, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&(key_end, value_end)| {
            let (key_end, value_end) = (key_end as usize, value_end as usize);
            // Keys were pushed as `&str`, so they are UTF-8.
            let key = std::str::from_utf8(&self.bytes[start..key_end]).unwrap_or_default();
            let value = &self.bytes[key_end..value_end];
            start = value_end;
            (key, value)
        })
    }

    /// The value of the first header named `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The headers as owned pairs.
    pub fn to_vec(&self) -> Vec<(String, Vec<u8>)> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_vec()))
            .collect()
    }
}

impl fmt::Debug for RecordHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(k, v)| (k, String::from_utf8_lossy(v))))
            .finish()
    }
}

impl<'a> IntoIterator for &'a RecordHeaders {
    type Item = (&'a str, &'a [u8]);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a [u8])> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> FromIterator<(K, V)> for RecordHeaders {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = RecordHeaders::new();
        for (k, v) in iter {
            headers.push(k.as_ref(), Some(v.as_ref()));
        }
        headers
    }
}

impl RecordMeta {
    /// The key as UTF-8 text, if it is.
    pub fn key_str(&self) -> Option<&str> {
        self.key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
    }

    /// The first header named `name`, as bytes.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }
}

/// A message handed to a handler: the envelope (payload still raw JSON) and its record.
#[derive(Debug)]
pub struct Incoming {
    /// The envelope with its metadata decoded and `data` left as raw JSON.
    pub envelope: RawEnvelope,
    /// Where the record came from.
    pub record: RecordMeta,
    /// The record value exactly as received (what a dead letter carries).
    pub value: Vec<u8>,
    /// The service's producer, if it has one.
    pub producer: Option<MessageProducer>,
    /// Deliveries the consumer awaits before this message counts as finished.
    deferred: Deferred,
}

/// The deliveries a handler left for the consumer to await ([`Incoming::defer`]).
#[derive(Default)]
struct Deferred(Mutex<Vec<PendingDelivery>>);

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
        value: Vec<u8>,
        producer: Option<MessageProducer>,
    ) -> Self {
        Self {
            envelope,
            record,
            value,
            producer,
            deferred: Deferred::default(),
        }
    }

    /// The envelope with `data` decoded as `T`.
    pub fn typed<T: DeserializeOwned>(&self) -> Result<EventEnvelope<T>, HandlerError> {
        self.envelope.to_typed::<T>().map_err(HandlerError::decode)
    }

    /// Leaves `delivery` for the consumer to await: this message counts as finished (its offset
    /// committable, its id marked done) only once the broker acknowledged it, and if it fails the
    /// message goes to the dead-letter topic. The handler returns without waiting, and the
    /// partition's next message is handled meanwhile. What
    /// [`Context::publish`](crate::extract::Context::publish) does with each record it hands to
    /// librdkafka; deliveries deferred after the handler returned are not awaited.
    pub fn defer(&self, delivery: PendingDelivery) {
        self.deferred
            .0
            .lock()
            .expect("deferred deliveries")
            .push(delivery);
    }

    /// Takes the deliveries deferred so far.
    pub(crate) fn take_deferred(&self) -> Vec<PendingDelivery> {
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
/// use stream_core::extract::{Context, Data};
/// use stream_core::handler::{Handler, HandlerError};
/// #[derive(serde::Deserialize)] struct Tick { px: u64 }
/// async fn on_tick(Data(t): Data<Tick>, ctx: Context) -> Result<(), HandlerError> {
///     println!("{} on {}", t.px, ctx.broker());
///     Ok(())
/// }
/// fn is_handler<A, H: Handler<A>>(_: H) {}
/// is_handler(on_tick);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a streamkit handler",
    note = "a handler is an `async fn` whose arguments are all extractors (Envelope<T>, Data<T>, Context, Broker, Key, Headers, State<S>) and that returns `Result<(), E>` with `E: Into<HandlerError>`, or `()`"
)]
pub trait Handler<Args>: Clone + Send + Sync + 'static {
    /// Builds the arguments from `message` and runs the handler.
    fn call(
        &self,
        message: Arc<Incoming>,
        resources: &crate::extract::Resources,
    ) -> BoxFuture<'static, Result<(), HandlerError>>;

    /// What the handler's extractors need from the service.
    fn requirements() -> Vec<crate::extract::Requirement>;
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Handler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoHandlerResult + 'static,
            $($arg: crate::extract::FromMessage,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(
                &self,
                message: Arc<Incoming>,
                resources: &crate::extract::Resources,
            ) -> BoxFuture<'static, Result<(), HandlerError>> {
                $(
                    let $arg = match $arg::from_message(&message, resources) {
                        Ok(v) => v,
                        Err(e) => return Box::pin(async move { Err(e) }),
                    };
                )*
                let fut = (self)($($arg),*);
                Box::pin(async move { fut.await.into_handler_result() })
            }

            #[allow(unused_mut)]
            fn requirements() -> Vec<crate::extract::Requirement> {
                let mut out = Vec::new();
                $( out.extend($arg::requirement()); )*
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
    resources: Arc<crate::extract::Resources>,
    _args: std::marker::PhantomData<fn() -> Args>,
}

impl<H, Args> BoundHandler<H, Args> {
    /// Binds `handler` to `resources`.
    pub fn new(handler: H, resources: Arc<crate::extract::Resources>) -> Self {
        Self {
            handler,
            resources,
            _args: std::marker::PhantomData,
        }
    }
}

impl<H: Handler<Args>, Args: 'static> MessageHandler for BoundHandler<H, Args> {
    fn call(&self, message: Arc<Incoming>) -> BoxFuture<'static, Result<(), HandlerError>> {
        self.handler.call(message, &self.resources)
    }
}
