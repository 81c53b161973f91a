//! `MessageProducer`: idempotent publishing that wraps payloads in envelopes.
//!
//! Every record streamkit writes is an [`EventEnvelope`] encoded by [`codec`](mod@crate::envelope::codec), keyed
//! by the caller's partition key, with headers `event_type`, `event_id`, `correlation_id`
//! (`causation_id` when there is one) and `content-type: application/json`, so routers can filter
//! without parsing values.
//!
//! Delivery guarantees are set here and cannot be weakened by accident: `enable.idempotence=true`
//! and `acks=all` are forced, and a configuration that turns them off is rejected when the producer
//! is created unless [`ProducerOptions::allow_non_idempotent`] says that is meant. The default
//! partitioner is `murmur2_random`, the Java client's (and aiokafka's) hash, so a key lands on the
//! same partition whichever language produced it.
//!
//! Two ways to send: [`MessageProducer::send`] returns once the broker acknowledged;
//! [`MessageProducer::enqueue`] returns once librdkafka has the record, with a [`PendingDelivery`] to
//! await later, and waits (never errors) while librdkafka's queue is full, up to
//! [`ProducerOptions::queue_deadline`].

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use serde::Serialize;
use thiserror::Error;
use uuid::Uuid;

use crate::envelope::codec::{self, CodecError, RawEnvelope};
use crate::envelope::event::{Event, EventType};
use crate::envelope::service_name::ServiceName;
use crate::envelope::{EventEnvelope, Lineage};
use crate::error::{Error, Result};
use crate::kafka::config::KafkaConfig;
use crate::topic::Broker;

/// librdkafka's default `message.max.bytes`.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_000_000;

/// Why a send failed. Every variant that had an encoded record gives its bytes back
/// ([`ProduceError::into_payload`]), so nothing is lost in the caller's hands.
///
/// ```
/// use stream_core::kafka::producer::ProduceError;
/// let err = ProduceError::MessageTooLarge { size: 2_000_000, limit: 1_000_000, payload: vec![] };
/// assert_eq!(
///     err.to_string(),
///     "message of 2000000 bytes (its value; key and headers count too) is larger than the \
///      producer's limit of 1000000 bytes; raise the producer's `message.max.bytes`"
/// );
/// ```
#[derive(Error)]
#[non_exhaustive]
pub enum ProduceError {
    /// The topic does not exist on the cluster (streamkit never relies on auto-creation).
    #[error("topic `{topic}` does not exist; create it first (topics are never auto-created)")]
    TopicNotFound {
        /// The topic named in the send.
        topic: String,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// The record (value, key and headers, as librdkafka counts it) is larger than the
    /// producer's `message.max.bytes`: librdkafka refused it before sending.
    #[error(
        "message of {size} bytes (its value; key and headers count too) is larger than the \
         producer's limit of {limit} bytes; raise the producer's `message.max.bytes`"
    )]
    MessageTooLarge {
        /// Size of the encoded value.
        size: usize,
        /// The producer's configured limit.
        limit: usize,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// The broker refused the record as too large, although it is within the producer's limit:
    /// the topic's `max.message.bytes` (or the broker's `message.max.bytes`) is lower.
    /// Only the broker's answer gives this error; librdkafka's own check gives
    /// [`ProduceError::MessageTooLarge`].
    ///
    /// ```
    /// use stream_core::kafka::producer::ProduceError;
    /// let err = ProduceError::RefusedAsTooLarge {
    ///     topic: "paper.orders.archive".into(),
    ///     size: 2_100,
    ///     payload: vec![],
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "the broker refused a message of 2100 bytes to `paper.orders.archive` as too large: \
    ///      the topic's `max.message.bytes` (or the broker's `message.max.bytes`) is lower; \
    ///      raise `max.message.bytes` on the topic"
    /// );
    /// ```
    #[error(
        "the broker refused a message of {size} bytes to `{topic}` as too large: the topic's \
         `max.message.bytes` (or the broker's `message.max.bytes`) is lower; raise \
         `max.message.bytes` on the topic"
    )]
    RefusedAsTooLarge {
        /// The topic of the send.
        topic: String,
        /// Size of the encoded value.
        size: usize,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// The broker did not acknowledge within `message.timeout.ms`.
    #[error("no acknowledgement from the broker within `message.timeout.ms`")]
    Timeout {
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// No broker could be reached.
    #[error("broker unreachable: {reason}")]
    BrokerUnreachable {
        /// librdkafka's reason.
        reason: String,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// librdkafka's queue stayed full for longer than the configured deadline.
    #[error(
        "producer queue full for {waited:?} (`queue.buffering.max.messages`); slow down or raise it"
    )]
    QueueFull {
        /// How long the send waited for room.
        waited: Duration,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// The payload could not be encoded (nothing was sent).
    #[error("could not encode the envelope: {0}")]
    Serialization(#[from] CodecError),
    /// The topic name is not a valid streamkit topic.
    #[error(transparent)]
    Topic(#[from] stream_topics::TopicError),
    /// Any other error librdkafka reported.
    #[error("kafka: {error}")]
    Kafka {
        /// The client error.
        error: KafkaError,
        /// The encoded record value.
        payload: Vec<u8>,
    },
}

impl std::fmt::Debug for ProduceError {
    /// Shows the error and the size of the payload it carries, not the payload itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ProduceError");
        d.field("error", &self.to_string());
        if let Some(p) = self.payload() {
            d.field("payload_bytes", &p.len());
        }
        d.finish()
    }
}

impl ProduceError {
    /// The encoded record value that was not delivered, if one was built.
    pub fn payload(&self) -> Option<&[u8]> {
        match self {
            Self::TopicNotFound { payload, .. }
            | Self::MessageTooLarge { payload, .. }
            | Self::RefusedAsTooLarge { payload, .. }
            | Self::Timeout { payload }
            | Self::BrokerUnreachable { payload, .. }
            | Self::QueueFull { payload, .. }
            | Self::Kafka { payload, .. } => Some(payload),
            Self::Serialization(_) | Self::Topic(_) => None,
        }
    }

    /// Takes the undelivered record value back.
    pub fn into_payload(self) -> Option<Vec<u8>> {
        match self {
            Self::TopicNotFound { payload, .. }
            | Self::MessageTooLarge { payload, .. }
            | Self::RefusedAsTooLarge { payload, .. }
            | Self::Timeout { payload }
            | Self::BrokerUnreachable { payload, .. }
            | Self::QueueFull { payload, .. }
            | Self::Kafka { payload, .. } => Some(payload),
            Self::Serialization(_) | Self::Topic(_) => None,
        }
    }

    /// `error` as reported at `stage`: librdkafka's own size check and the broker's refusal
    /// share one error code, and only the stage tells which limit refused the record.
    fn from_kafka(error: KafkaError, topic: &str, payload: Vec<u8>, stage: Stage) -> Self {
        use RDKafkaErrorCode as C;
        let code = match &error {
            KafkaError::MessageProduction(code) => Some(*code),
            _ => error.rdkafka_error_code(),
        };
        match code {
            Some(C::UnknownTopic | C::UnknownTopicOrPartition) => Self::TopicNotFound {
                topic: topic.to_owned(),
                payload,
            },
            Some(C::MessageSizeTooLarge) => match stage {
                Stage::HandOver { limit } => Self::MessageTooLarge {
                    size: payload.len(),
                    limit,
                    payload,
                },
                Stage::Delivery => Self::RefusedAsTooLarge {
                    topic: topic.to_owned(),
                    size: payload.len(),
                    payload,
                },
            },
            Some(C::MessageTimedOut) => Self::Timeout { payload },
            Some(C::AllBrokersDown | C::BrokerTransportFailure | C::Resolve) => {
                Self::BrokerUnreachable {
                    reason: error.to_string(),
                    payload,
                }
            }
            _ => Self::Kafka { error, payload },
        }
    }
}

/// Where a send failed: handing the record to librdkafka (its checks, against the producer's
/// `limit`) or in the delivery report (the broker's answer).
#[derive(Debug, Clone, Copy)]
enum Stage {
    HandOver { limit: usize },
    Delivery,
}

/// What a producer does beyond librdkafka's properties.
///
/// ```
/// use std::time::Duration;
/// use stream_core::kafka::producer::ProducerOptions;
/// let opts = ProducerOptions::default().queue_deadline(Duration::from_secs(5));
/// assert_eq!(opts.queue_deadline, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProducerOptions {
    /// How long a send waits for room while librdkafka's queue is full before it fails with
    /// [`ProduceError::QueueFull`]. Default 30 s.
    pub queue_deadline: Duration,
    /// Accept a configuration that weakens delivery (`acks` other than `all`, idempotence off).
    pub allow_non_idempotent: bool,
    /// The instance part of `client.id` (`<service>-<instance>`); default `STREAMKIT_INSTANCE`,
    /// else the host name and process id.
    pub instance: Option<String>,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        Self {
            queue_deadline: Duration::from_secs(30),
            allow_non_idempotent: false,
            instance: None,
        }
    }
}

impl ProducerOptions {
    /// Sets [`ProducerOptions::queue_deadline`].
    #[must_use]
    pub fn queue_deadline(mut self, deadline: Duration) -> Self {
        self.queue_deadline = deadline;
        self
    }

    /// Opts out of the idempotence check (at-most-once or duplicate-prone delivery is then yours).
    #[must_use]
    pub fn allow_non_idempotent(mut self) -> Self {
        self.allow_non_idempotent = true;
        self
    }

    /// Sets the instance part of `client.id`.
    #[must_use]
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }
}

/// The instance name used in `client.id` when none is configured.
pub(crate) fn default_instance() -> String {
    if let Ok(i) = std::env::var("STREAMKIT_INSTANCE")
        && !i.is_empty()
    {
        return i;
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".to_owned());
    format!("{host}-{}", std::process::id())
}

/// How a [`MessageProducer::shutdown`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct ShutdownReport {
    /// Messages still not acknowledged when the deadline passed (0 on a clean shutdown).
    pub undelivered: usize,
}

impl ShutdownReport {
    /// Whether every message was delivered.
    pub fn is_clean(&self) -> bool {
        self.undelivered == 0
    }
}

/// Publishes envelopes to Kafka with idempotence and `acks=all`. Cheap to clone (one client).
///
/// ```no_run
/// use stream_core::{KafkaConfig, MessageProducer, Event};
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Heartbeat { seq: u64 }
/// impl Event for Heartbeat { const EVENT_TYPE: &'static str = "heartbeat"; }
///
/// # async fn run() -> stream_core::Result<()> {
/// let producer = MessageProducer::new(&KafkaConfig::new("127.0.0.1:19092"), "risk-manager")?;
/// producer.start().await?;
/// let id = producer.send("paper.system.heartbeats", "risk-manager", &Heartbeat { seq: 1 }).await?;
/// println!("sent event {id}");
/// let report = producer.shutdown(std::time::Duration::from_secs(5)).await;
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct MessageProducer {
    inner: Arc<Inner>,
}

struct Inner {
    producer: FutureProducer,
    service: ServiceName,
    client_id: String,
    max_message_bytes: usize,
    queue_deadline: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let left = self.producer.in_flight_count();
        if left > 0 {
            tracing::warn!(
                client_id = %self.client_id,
                unflushed = left,
                "producer dropped with unflushed messages; call shutdown() to flush them"
            );
        }
    }
}

impl std::fmt::Debug for MessageProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageProducer")
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

/// Checks that `config` keeps idempotent, fully acknowledged delivery.
fn check_idempotence(config: &KafkaConfig) -> Result<()> {
    if let Some(v) = config.get("enable.idempotence")
        && v.trim() != "true"
    {
        return Err(Error::Config {
            key: "enable.idempotence".into(),
            message: format!(
                "expected `true` (streamkit never produces duplicates), found `{v}`; \
                     use ProducerOptions::allow_non_idempotent() to opt out"
            ),
        });
    }
    for key in ["acks", "request.required.acks"] {
        if let Some(v) = config.get(key)
            && !matches!(v.trim(), "all" | "-1")
        {
            return Err(Error::Config {
                key: key.into(),
                message: format!(
                    "expected `all` (idempotent delivery needs every in-sync replica), \
                         found `{v}`; use ProducerOptions::allow_non_idempotent() to opt out"
                ),
            });
        }
    }
    Ok(())
}

// The sends return `impl Future` built from `async` blocks, not `async fn`s: an `async fn`
// keeps two copies of its arguments in its state (see `MessageProducer::enqueue_with`).
#[allow(clippy::manual_async_fn)]
impl MessageProducer {
    /// A producer for `service_name` with default [`ProducerOptions`].
    ///
    /// Fails with [`Error::Config`] naming the key when the configuration would weaken
    /// delivery or librdkafka rejects a property.
    pub fn new(config: &KafkaConfig, service_name: &str) -> Result<Self> {
        Self::with_options(config, service_name, ProducerOptions::default())
    }

    /// A producer with explicit [`ProducerOptions`].
    pub fn with_options(
        config: &KafkaConfig,
        service_name: &str,
        options: ProducerOptions,
    ) -> Result<Self> {
        if !options.allow_non_idempotent {
            check_idempotence(config)?;
        }
        let instance = options.instance.unwrap_or_else(default_instance);
        let client_id = format!("{service_name}-{instance}");
        let config = config
            .for_producer()
            .set_default("enable.idempotence", "true")
            .set_default("acks", "all")
            .set_default("partitioner", "murmur2_random")
            // Batching is `linger.ms`'s job; Nagle would hold a small produce request back
            // until the previous one is acknowledged (tens of milliseconds with delayed ACKs).
            .set_default("socket.nagle.disable", "true")
            .set_default("client.id", client_id.as_str());
        let max_message_bytes = config
            .parse_num::<usize>("message.max.bytes")?
            .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
        let producer: FutureProducer = config.to_client_config().create().map_err(|e| match e {
            KafkaError::ClientConfig(_, desc, key, value) => Error::Config {
                key: key.clone(),
                message: format!("librdkafka rejected `{value}`: {desc}"),
            },
            KafkaError::ClientCreation(msg) => Error::Config {
                key: "producer".into(),
                message: msg,
            },
            other => Error::Kafka(other),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                producer,
                service: ServiceName::new(service_name),
                client_id: config.get("client.id").unwrap_or_default().to_owned(),
                max_message_bytes,
                queue_deadline: options.queue_deadline,
            }),
        })
    }

    /// Connects and waits until the cluster answers a metadata request (at most `timeout`).
    ///
    /// Sending works without it (librdkafka connects lazily); call it to fail fast at startup.
    pub async fn start(&self) -> Result<()> {
        self.start_within(Duration::from_secs(10)).await
    }

    /// [`MessageProducer::start`] with an explicit deadline.
    pub async fn start_within(&self, timeout: Duration) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            inner
                .producer
                .client()
                .fetch_metadata(None, timeout)
                .map(|_| ())
        })
        .await
        .map_err(|e| Error::Config {
            key: "producer".into(),
            message: format!("metadata task failed: {e}"),
        })?
        .map_err(Error::Kafka)
    }

    /// The service name written as `source` on every envelope.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The `client.id` this producer uses (`<service>-<instance>`).
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// Messages handed to librdkafka and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.inner.producer.in_flight_count() as usize
    }

    /// The underlying rdkafka producer, for what streamkit does not wrap.
    pub fn rdkafka(&self) -> &FutureProducer {
        &self.inner.producer
    }

    /// Sends `data` as an event of its [`Event::EVENT_TYPE`] and waits for the acknowledgement.
    ///
    /// The envelope's broker is the topic's first segment; its `source` is the service name.
    ///
    /// Like every send and enqueue here, this returns a future instead of being an `async fn`,
    /// and nothing happens until it is awaited: see [`MessageProducer::enqueue_with`] for why.
    pub fn send<T: Event>(
        &self,
        topic: &str,
        key: &str,
        data: &T,
    ) -> impl Future<Output = Result<Uuid, ProduceError>> {
        async move { self.enqueue(topic, key, data).await?.await }
    }

    /// Sends any serializable payload with an explicit event type and broker (the topic's
    /// first segment when `broker` is `None`). A `serde_json::Value` that already is an envelope
    /// is sent as it is, never wrapped twice.
    pub fn send_with<T: Serialize + Any>(
        &self,
        topic: &str,
        key: &str,
        data: &T,
        event_type: impl Into<EventType>,
        broker: Option<Broker>,
    ) -> impl Future<Output = Result<Uuid, ProduceError>> {
        async move {
            self.enqueue_with(topic, key, data, event_type, broker, None)
                .await?
                .await
        }
    }

    /// Sends an envelope built by hand, unchanged, and waits for the acknowledgement.
    pub fn send_envelope<T: Serialize>(
        &self,
        topic: &str,
        key: &str,
        envelope: &EventEnvelope<T>,
    ) -> impl Future<Output = Result<Uuid, ProduceError>> {
        async move { self.enqueue_envelope(topic, key, envelope).await?.await }
    }

    /// Hands `data` to librdkafka and returns without waiting for the broker; await the returned
    /// [`PendingDelivery`] for the acknowledgement. While librdkafka's queue is full this waits for
    /// room, up to [`ProducerOptions::queue_deadline`].
    pub fn enqueue<T: Event>(
        &self,
        topic: &str,
        key: &str,
        data: &T,
    ) -> impl Future<Output = Result<PendingDelivery, ProduceError>> {
        self.enqueue_with(topic, key, data, T::EVENT_TYPE, None, None)
    }

    /// Like [`MessageProducer::enqueue`] for any payload; see [`MessageProducer::send_with`].
    ///
    /// The sends and enqueues of this type and of [`CausalProducer`] return futures built from
    /// `async` blocks rather than being `async fn`s, and do all their work up to the hand-over
    /// synchronously (the envelope is built, encoded and dropped before anything is awaited):
    /// a publishing handler's future holds one of these, and that future is allocated once per
    /// message. An `async fn` keeps two copies of its arguments in its state, and a future
    /// awaited inside another is stored whole in it; kept this way the handler's allocation
    /// stays small enough for the allocator's per-thread cache (see the test
    /// `a_publishing_handlers_future_fits_the_allocators_thread_cache`). They are still lazy:
    /// nothing is encoded or sent until the future is first polled.
    pub fn enqueue_with<T: Serialize + Any>(
        &self,
        topic: &str,
        key: &str,
        data: &T,
        event_type: impl Into<EventType>,
        broker: Option<Broker>,
        cause: Option<Lineage>,
    ) -> impl Future<Output = Result<PendingDelivery, ProduceError>> {
        self.enqueue_encoded(topic, key, move || {
            self.encode_with(topic, data, event_type, broker, cause)
        })
    }

    /// Hands an envelope built by hand to librdkafka; see [`MessageProducer::enqueue`].
    pub fn enqueue_envelope<T: Serialize>(
        &self,
        topic: &str,
        key: &str,
        envelope: &EventEnvelope<T>,
    ) -> impl Future<Output = Result<PendingDelivery, ProduceError>> {
        self.enqueue_encoded(topic, key, move || encode_envelope(envelope))
    }

    /// The enqueues' common part: when first polled, `encode` the record and hand it over,
    /// waiting for room (boxed, see [`MessageProducer::wait_for_room`]) only if librdkafka's
    /// queue is full.
    fn enqueue_encoded(
        &self,
        topic: &str,
        key: &str,
        encode: impl FnOnce() -> Result<(Vec<u8>, OwnedHeaders, Uuid), ProduceError>,
    ) -> impl Future<Output = Result<PendingDelivery, ProduceError>> {
        async move {
            // In a block of its own, so that none of it is kept in the future's state.
            let blocked = {
                let (payload, headers, id) = encode()?;
                match self.hand_over(topic, key, payload, headers, id)? {
                    HandOver::Queued(delivery) => return Ok(delivery),
                    HandOver::Blocked(blocked) => blocked,
                }
            };
            self.wait_for_room(topic, key, blocked).await
        }
    }

    /// The record [`MessageProducer::enqueue_with`] sends: its bytes, headers and event id.
    ///
    /// Synchronous on purpose, like everything up to the hand-over: the envelope is built and
    /// dropped here, so it is not kept in the caller's future (handlers' futures are allocated
    /// per message, and a smaller one is a cheaper allocation and fewer bytes moved).
    fn encode_with<T: Serialize + Any>(
        &self,
        topic: &str,
        data: &T,
        event_type: impl Into<EventType>,
        broker: Option<Broker>,
        cause: Option<Lineage>,
    ) -> Result<(Vec<u8>, OwnedHeaders, Uuid), ProduceError> {
        if let Some(value) = (data as &dyn Any).downcast_ref::<serde_json::Value>()
            && codec::is_envelope(value)
        {
            let bytes = serde_json::to_vec(value).map_err(CodecError::from)?;
            let raw = RawEnvelope::decode(&bytes)?;
            let meta = Meta {
                id: raw.id,
                correlation_id: raw.correlation_id,
                causation_id: raw.causation_id,
                event_type: raw.event_type.as_str(),
            };
            let headers = meta.headers();
            return Ok((bytes, headers, raw.id));
        }
        let broker = match broker {
            Some(b) => b,
            None => crate::topic::broker_of(topic)?,
        };
        let builder = EventEnvelope::builder(event_type, data)
            .broker(broker)
            .source(&self.inner.service);
        let builder = match cause {
            Some(c) => builder.lineage(c),
            None => builder,
        };
        encode_envelope(&builder.build())
    }

    /// A handle whose sends carry `cause`'s correlation id and set `causation_id`: what a handler
    /// uses to publish the events its input caused.
    pub fn caused_by(&self, cause: Lineage) -> CausalProducer {
        CausalProducer {
            producer: self.clone(),
            cause,
        }
    }

    /// One attempt to hand a record to librdkafka.
    fn hand_over(
        &self,
        topic: &str,
        key: &str,
        payload: Vec<u8>,
        headers: OwnedHeaders,
        id: Uuid,
    ) -> Result<HandOver, ProduceError> {
        let limit = self.inner.max_message_bytes;
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(&payload)
            .headers(headers);
        match self.inner.producer.send_result(record) {
            Ok(delivery) => Ok(HandOver::Queued(PendingDelivery {
                state: DeliveryState::Waiting(delivery),
                inner: Arc::clone(&self.inner),
                id,
            })),
            // Queue full: wait for room. Unknown partition: the topic's metadata is not settled
            // yet (just created, or growing); librdkafka refreshes it, so wait too.
            Err((
                KafkaError::MessageProduction(
                    code @ (RDKafkaErrorCode::QueueFull | RDKafkaErrorCode::UnknownPartition),
                ),
                record,
            )) => {
                let headers = record.headers.unwrap_or_default();
                Ok(HandOver::Blocked(Blocked {
                    payload,
                    headers,
                    id,
                    code,
                }))
            }
            Err((error, _)) => Err(ProduceError::from_kafka(
                error,
                topic,
                payload,
                Stage::HandOver { limit },
            )),
        }
    }

    /// Tries a blocked record again, backing off, until librdkafka takes it or
    /// [`ProducerOptions::queue_deadline`] has passed.
    ///
    /// Boxed: waiting is rare, and its state (a timer among it) would otherwise be carried in
    /// the future of every caller, which for a handler is allocated per message.
    fn wait_for_room<'a>(
        &'a self,
        topic: &'a str,
        key: &'a str,
        blocked: Blocked,
    ) -> Pin<Box<dyn Future<Output = Result<PendingDelivery, ProduceError>> + Send + 'a>> {
        Box::pin(self.retry_blocked(topic, key, blocked))
    }

    async fn retry_blocked(
        &self,
        topic: &str,
        key: &str,
        mut blocked: Blocked,
    ) -> Result<PendingDelivery, ProduceError> {
        let started = Instant::now();
        let mut pause = Duration::from_micros(200);
        loop {
            if started.elapsed() >= self.inner.queue_deadline {
                if blocked.code == RDKafkaErrorCode::UnknownPartition {
                    return Err(ProduceError::from_kafka(
                        KafkaError::MessageProduction(blocked.code),
                        topic,
                        blocked.payload,
                        Stage::HandOver {
                            limit: self.inner.max_message_bytes,
                        },
                    ));
                }
                return Err(ProduceError::QueueFull {
                    waited: started.elapsed(),
                    payload: blocked.payload,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(10));
            let Blocked {
                payload,
                headers,
                id,
                ..
            } = blocked;
            blocked = match self.hand_over(topic, key, payload, headers, id)? {
                HandOver::Queued(delivery) => return Ok(delivery),
                HandOver::Blocked(again) => again,
            };
        }
    }

    /// Sends a record as it is (no envelope, headers as given) and waits for the acknowledgement:
    /// what dead-letter topics and tools that forward records use.
    pub async fn send_record(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
        headers: OwnedHeaders,
    ) -> Result<(), ProduceError> {
        self.send_raw(topic, key, Some(value), headers).await
    }

    /// [`MessageProducer::send_record`] for a value that may be absent: `None` writes a
    /// tombstone (a record with a null value), as Kafka's compacted topics use them.
    ///
    /// A too-large record is [`ProduceError::MessageTooLarge`] when librdkafka refused it against
    /// the producer's `message.max.bytes` and [`ProduceError::RefusedAsTooLarge`] when the broker
    /// did (the topic's limit).
    pub async fn send_raw(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: OwnedHeaders,
    ) -> Result<(), ProduceError> {
        let failed = |error, stage| {
            let payload = value.map(<[u8]>::to_vec).unwrap_or_default();
            ProduceError::from_kafka(error, topic, payload, stage)
        };
        let limit = self.inner.max_message_bytes;
        let started = Instant::now();
        let mut headers = Some(headers);
        let delivery = loop {
            let mut record = FutureRecord::<[u8], [u8]>::to(topic);
            record.headers = headers.take();
            record.payload = value;
            record.key = key;
            match self.inner.producer.send_result(record) {
                Ok(delivery) => break delivery,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), record))
                    if started.elapsed() < self.inner.queue_deadline =>
                {
                    headers = record.headers;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(failed(error, Stage::HandOver { limit })),
            }
        };
        match delivery.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((error, _))) => Err(failed(error, Stage::Delivery)),
            Err(_canceled) => Err(failed(KafkaError::Canceled, Stage::Delivery)),
        }
    }

    /// Flushes everything in flight, waiting at most `timeout`, and reports what did not make it.
    pub async fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let inner = Arc::clone(&self.inner);
        let undelivered = tokio::task::spawn_blocking(move || {
            let _ = inner.producer.flush(timeout);
            inner.producer.in_flight_count() as usize
        })
        .await
        .unwrap_or_else(|_| self.in_flight());
        if undelivered > 0 {
            tracing::warn!(client_id = %self.inner.client_id, undelivered, "producer shut down with undelivered messages");
        }
        ShutdownReport { undelivered }
    }
}

/// What one attempt to hand a record to librdkafka came to.
enum HandOver {
    /// librdkafka took it.
    Queued(PendingDelivery),
    /// librdkafka could not take it yet: its queue is full, or the partition is not known yet.
    Blocked(Blocked),
}

/// A record librdkafka could not take yet, kept for the next attempt.
struct Blocked {
    payload: Vec<u8>,
    headers: OwnedHeaders,
    id: Uuid,
    code: RDKafkaErrorCode,
}

/// An envelope's record: its bytes, its headers and its event id.
fn encode_envelope<T: Serialize>(
    envelope: &EventEnvelope<T>,
) -> Result<(Vec<u8>, OwnedHeaders, Uuid), ProduceError> {
    let mut bytes = Vec::with_capacity(512);
    codec::encode_into(envelope, &mut bytes)?;
    let meta = Meta {
        id: envelope.id,
        correlation_id: envelope.correlation_id,
        causation_id: envelope.causation_id,
        event_type: envelope.event_type.as_str(),
    };
    Ok((bytes, meta.headers(), envelope.id))
}

/// The envelope fields copied into record headers.
struct Meta<'a> {
    id: Uuid,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    event_type: &'a str,
}

impl Meta<'_> {
    fn headers(&self) -> OwnedHeaders {
        let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let mut corr = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let mut headers = OwnedHeaders::new_with_capacity(5)
            .insert(Header {
                key: "event_type",
                value: Some(self.event_type),
            })
            .insert(Header {
                key: "event_id",
                value: Some(&*self.id.hyphenated().encode_lower(&mut id)),
            })
            .insert(Header {
                key: "correlation_id",
                value: Some(&*self.correlation_id.hyphenated().encode_lower(&mut corr)),
            })
            .insert(Header {
                key: "content-type",
                value: Some("application/json"),
            });
        if let Some(c) = self.causation_id {
            let mut cause = [0u8; uuid::fmt::Hyphenated::LENGTH];
            headers = headers.insert(Header {
                key: "causation_id",
                value: Some(&*c.hyphenated().encode_lower(&mut cause)),
            });
        }
        headers
    }
}

/// A record handed to librdkafka; resolves to its event id once the broker acknowledged it.
#[must_use = "a pending delivery does nothing unless awaited; drop it only if you do not need the result"]
pub struct PendingDelivery {
    state: DeliveryState,
    id: Uuid,
    inner: Arc<Inner>,
}

enum DeliveryState {
    /// Waiting for the broker's acknowledgement.
    Waiting(DeliveryFuture),
    /// The send timed out: finding out whether the topic exists at all, to say so.
    Checking(Pin<Box<dyn Future<Output = ProduceError> + Send>>),
    Done,
}

impl PendingDelivery {
    /// The event id of the record.
    pub fn id(&self) -> Uuid {
        self.id
    }
}

/// Whether the cluster knows `topic` (false also when the cluster cannot be asked).
fn topic_exists(inner: &Inner, topic: &str) -> bool {
    inner
        .producer
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .ok()
        .and_then(|m| m.topics().first().map(|t| t.error().is_none()))
        .unwrap_or(true)
}

impl Future for PendingDelivery {
    type Output = Result<Uuid, ProduceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                DeliveryState::Waiting(delivery) => match Pin::new(delivery).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(Ok(_))) => {
                        this.state = DeliveryState::Done;
                        return Poll::Ready(Ok(this.id));
                    }
                    Poll::Ready(Ok(Err((error, message)))) => {
                        use rdkafka::Message;
                        let payload = message.payload().map(<[u8]>::to_vec).unwrap_or_default();
                        // The failed record carries its topic: no copy kept per send for this.
                        let topic = message.topic().to_owned();
                        let err = ProduceError::from_kafka(error, &topic, payload, Stage::Delivery);
                        if !matches!(err, ProduceError::Timeout { .. }) {
                            this.state = DeliveryState::Done;
                            return Poll::Ready(Err(err));
                        }
                        // librdkafka reports a record for a topic that does not exist (and is
                        // never auto-created) as a timeout; ask the cluster, to say which.
                        let inner = Arc::clone(&this.inner);
                        this.state = DeliveryState::Checking(Box::pin(async move {
                            let t = topic.clone();
                            let exists =
                                tokio::task::spawn_blocking(move || topic_exists(&inner, &t))
                                    .await
                                    .unwrap_or(true);
                            match (exists, err) {
                                (false, ProduceError::Timeout { payload }) => {
                                    ProduceError::TopicNotFound { topic, payload }
                                }
                                (_, err) => err,
                            }
                        }));
                    }
                    Poll::Ready(Err(_canceled)) => {
                        this.state = DeliveryState::Done;
                        return Poll::Ready(Err(ProduceError::Kafka {
                            error: KafkaError::Canceled,
                            payload: Vec::new(),
                        }));
                    }
                },
                DeliveryState::Checking(check) => {
                    return match check.as_mut().poll(cx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(err) => {
                            this.state = DeliveryState::Done;
                            Poll::Ready(Err(err))
                        }
                    };
                }
                DeliveryState::Done => panic!("PendingDelivery polled after completion"),
            }
        }
    }
}

/// A producer bound to the event being handled: every send keeps its `correlation_id` and sets
/// `causation_id` to its id. Obtained from [`MessageProducer::caused_by`] (handlers get one from
/// their context).
///
/// ```no_run
/// # use stream_core::{MessageProducer, envelope::Lineage, Event};
/// # #[derive(serde::Serialize, serde::Deserialize)] struct OrderPlaced { qty: u32 }
/// # impl Event for OrderPlaced { const EVENT_TYPE: &'static str = "order_placed"; }
/// # async fn f(producer: MessageProducer, cause: Lineage) -> Result<(), stream_core::kafka::producer::ProduceError> {
/// let out = producer.caused_by(cause);
/// out.send("paper.orders.placed", "strategy-7", &OrderPlaced { qty: 10 }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct CausalProducer {
    producer: MessageProducer,
    cause: Lineage,
}

// The sends return `impl Future` built from `async` blocks, not `async fn`s: an `async fn`
// keeps two copies of its arguments in its state (see `MessageProducer::enqueue_with`).
#[allow(clippy::manual_async_fn)]
impl CausalProducer {
    /// The lineage every send inherits.
    pub fn cause(&self) -> Lineage {
        self.cause
    }

    /// The producer behind this handle.
    pub fn producer(&self) -> &MessageProducer {
        &self.producer
    }

    /// Sends `data` caused by the bound event and waits for the acknowledgement.
    pub fn send<T: Event>(
        &self,
        topic: &str,
        key: &str,
        data: &T,
    ) -> impl Future<Output = Result<Uuid, ProduceError>> {
        async move { self.enqueue(topic, key, data).await?.await }
    }

    /// Hands `data` to librdkafka, caused by the bound event; see [`MessageProducer::enqueue`].
    pub fn enqueue<T: Event>(
        &self,
        topic: &str,
        key: &str,
        data: &T,
    ) -> impl Future<Output = Result<PendingDelivery, ProduceError>> {
        self.producer
            .enqueue_with(topic, key, data, T::EVENT_TYPE, None, Some(self.cause))
    }

    /// Sends any payload with an explicit event type, caused by the bound event.
    pub fn send_with<T: Serialize + Any>(
        &self,
        topic: &str,
        key: &str,
        data: &T,
        event_type: impl Into<EventType>,
    ) -> impl Future<Output = Result<Uuid, ProduceError>> {
        async move {
            self.producer
                .enqueue_with(topic, key, data, event_type, None, Some(self.cause))
                .await?
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_acks_are_rejected_with_the_key() {
        let cfg = KafkaConfig::new("127.0.0.1:1").set("acks", "1");
        let err = MessageProducer::new(&cfg, "svc").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bad configuration `acks`: expected `all`"),
            "{err}"
        );
    }

    #[test]
    fn idempotence_off_is_rejected_unless_opted_out() {
        let cfg = KafkaConfig::new("127.0.0.1:1").set("enable.idempotence", "false");
        let err = MessageProducer::new(&cfg, "svc").unwrap_err();
        assert!(err.to_string().contains("`enable.idempotence`"), "{err}");
        let cfg = cfg.set("acks", "1");
        let p = MessageProducer::with_options(
            &cfg,
            "svc",
            ProducerOptions::default().allow_non_idempotent(),
        );
        assert!(p.is_ok());
    }

    #[test]
    fn unknown_librdkafka_property_names_the_key() {
        let cfg = KafkaConfig::new("127.0.0.1:1").set("linger.mss", "5");
        let err = MessageProducer::new(&cfg, "svc").unwrap_err();
        assert!(err.to_string().contains("`linger.mss`"), "{err}");
    }

    /// No broker answers, so librdkafka's one-message queue stays full: the second enqueue
    /// waits for room until its deadline, then fails with the time it waited and its record.
    #[tokio::test]
    async fn a_queue_that_stays_full_fails_at_the_deadline_with_the_record() {
        let cfg = KafkaConfig::new("127.0.0.1:1").set("queue.buffering.max.messages", "1");
        let deadline = Duration::from_millis(300);
        let p = MessageProducer::with_options(
            &cfg,
            "svc",
            ProducerOptions::default().queue_deadline(deadline),
        )
        .unwrap();
        let data = serde_json::json!({"qty": 1});
        let enqueue = || {
            p.enqueue_with(
                "paper.orders.placed",
                "k",
                &data,
                "order_placed",
                None,
                None,
            )
        };
        assert!(enqueue().await.is_ok(), "the first record fits");
        let second = enqueue().await;
        match second {
            Ok(_) => panic!("the second record cannot fit"),
            Err(ProduceError::QueueFull { waited, payload }) => {
                assert!(waited >= deadline, "waited {waited:?}");
                let sent: serde_json::Value = serde_json::from_slice(&payload).unwrap();
                assert_eq!(sent["data"], data);
            }
            Err(other) => panic!("expected QueueFull, got {other:?}"),
        }
    }

    #[test]
    fn client_id_is_service_and_instance() {
        let cfg = KafkaConfig::new("127.0.0.1:1");
        let p =
            MessageProducer::with_options(&cfg, "risk", ProducerOptions::default().instance("a1"))
                .unwrap();
        assert_eq!(p.client_id(), "risk-a1");
    }
}
