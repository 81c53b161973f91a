//! [`MessageProducer`]: creating the client, and sending envelopes through it.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use tokio::sync::oneshot;

use crate::kafka::producer::callbacks::ProducerCallbacks;
use crate::kafka::trace_context::{TraceContext, outgoing};
use serde::Serialize;
use uuid::Uuid;

use crate::envelope::codec::decode::is_envelope;
use crate::envelope::codec::error::CodecError;
use crate::envelope::codec::raw::RawEnvelope;
use crate::envelope::event::{Event, EventType};
use crate::envelope::event_envelope::{EventEnvelope, Lineage};
use crate::envelope::service_name::ServiceName;
use crate::error::{Error, Result};
use crate::kafka::config::KafkaConfig;
use crate::kafka::producer::delivery::{DeliveryState, PendingDelivery, sent_at};
use crate::kafka::producer::encode::{Meta, encode_envelope, recycle};
use crate::kafka::producer::error::{ProduceError, Stage};
use crate::kafka::producer::inner::Inner;
use crate::kafka::producer::options::{ProducerOptions, check_idempotence, default_instance};
use crate::kafka::producer::outbox::{Outbox, StagedRecord};
use crate::kafka::producer::pump::DeliveryPump;
use crate::topic::Broker;
use crate::topic::typed::PublishTarget;

/// librdkafka's default `message.max.bytes`.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_000_000;

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
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for MessageProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageProducer")
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

// The sends return `impl Future` built from `async` blocks, not `async fn`s: an `async fn`
// keeps two copies of its arguments in its state (see `MessageProducer::enqueue_with`).
#[allow(clippy::manual_async_fn)]
impl MessageProducer {
    /// A producer for `service_name` with default [`ProducerOptions`].
    ///
    /// Fails with [`Error::Config`] naming the key when the configuration would weaken
    /// delivery or librdkafka rejects a property.
    ///
    /// Its acknowledgements are served where it is made: inside a tokio runtime, by a task on
    /// that runtime, woken when they arrive, that takes every waiting one at once; outside a
    /// runtime, or once that runtime has shut down, by a thread of its own. While the runtime
    /// is alive it must be running for sends to complete (a current-thread runtime runs only
    /// inside `block_on`): make the producer on the runtime that awaits its sends.
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
            .set_default("client.id", client_id.as_str())
            // Queue depth, in-flight records and broker state for `/metrics` and readiness.
            .set_default("statistics.interval.ms", "1000");
        let max_message_bytes = config
            .parse_num::<usize>("message.max.bytes")?
            .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
        let callbacks = ProducerCallbacks::new(config.get("client.id").unwrap_or_default());
        let producer =
            BaseProducer::from_config_and_context(&config.to_client_config(), callbacks.clone())
                .map_err(|e| match e {
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
        let (client, pump) = DeliveryPump::start(producer);
        Ok(Self {
            inner: Arc::new(Inner {
                _pump: pump,
                client,
                callbacks,
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
                .producer()
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
        self.inner.producer().in_flight_count() as usize
    }

    /// Whether the producer has a connection to a broker: false once librdkafka reported all
    /// brokers down or its last statistics (every `statistics.interval.ms`, 1 s by default)
    /// showed none up; true again when one is. What readiness reads.
    pub fn is_connected(&self) -> bool {
        self.inner.callbacks.log().connected()
    }

    /// The underlying rdkafka producer, for what streamkit does not wrap. Its delivery reports
    /// are served for it (see [`MessageProducer::new`]): it needs no polling.
    pub fn rdkafka(&self) -> &BaseProducer<ProducerCallbacks> {
        self.inner.producer()
    }

    /// Sends `data` as an event of its [`Event::EVENT_TYPE`] and waits for the acknowledgement.
    ///
    /// The envelope's broker is the topic's first segment; its `source` is the service name.
    /// `topic` is a typed topic of `topics!()` (`&topics::PAPER_SIGNALS_RAW`), which builds
    /// only with a payload of its event type, or a topic name, checked at run time only (see
    /// [`topic::typed`](crate::topic::typed)).
    ///
    /// Like every send and enqueue here, this returns a future instead of being an `async fn`,
    /// and nothing happens until it is awaited: see [`MessageProducer::enqueue_with`] for why.
    pub fn send<T: Event, P: PublishTarget<T> + ?Sized>(
        &self,
        topic: &P,
        key: &str,
        data: &T,
    ) -> impl Future<Output = Result<Uuid, ProduceError>> {
        // A typed topic of another event type fails the build here.
        let () = P::CHECK;
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
    pub fn enqueue<T: Event, P: PublishTarget<T> + ?Sized>(
        &self,
        topic: &P,
        key: &str,
        data: &T,
    ) -> impl Future<Output = Result<PendingDelivery, ProduceError>> {
        // A typed topic of another event type fails the build here.
        let () = P::CHECK;
        self.enqueue_with(
            topic.topic_name(),
            key,
            data,
            EventType::of_static(T::EVENT_TYPE),
            None,
            None,
        )
    }

    /// Like [`MessageProducer::enqueue`] for any payload; see [`MessageProducer::send_with`].
    ///
    /// The sends and enqueues of this type and of
    /// [`CausalProducer`](crate::kafka::producer::CausalProducer) return futures built from
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
        self.enqueue_encoded(topic, key, None, None, move || {
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
        self.enqueue_encoded(topic, key, None, None, move || encode_envelope(envelope))
    }

    /// Like [`MessageProducer::enqueue_with`] with a cause (and the trace of its handling),
    /// staged in `outbox` when there is one (exactly-once mode: see [`Outbox`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn enqueue_caused<T: Serialize + Any>(
        &self,
        topic: &str,
        key: &str,
        data: &T,
        event_type: impl Into<EventType>,
        cause: Lineage,
        outbox: Option<&Outbox>,
        trace: Option<&TraceContext>,
    ) -> impl Future<Output = Result<PendingDelivery, ProduceError>> {
        self.enqueue_encoded(topic, key, outbox, trace, move || {
            self.encode_with(topic, data, event_type, None, Some(cause))
        })
    }

    /// The enqueues' common part: when first polled, `encode` the record (with the trace
    /// context headers, see [`trace_context`](crate::kafka::trace_context)) and hand it over,
    /// waiting for room (boxed, see [`MessageProducer::wait_for_room`]) only if librdkafka's
    /// queue is full; or stage it in `outbox`.
    fn enqueue_encoded(
        &self,
        topic: &str,
        key: &str,
        outbox: Option<&Outbox>,
        trace: Option<&TraceContext>,
        encode: impl FnOnce() -> Result<(Vec<u8>, OwnedHeaders, Uuid), ProduceError>,
    ) -> impl Future<Output = Result<PendingDelivery, ProduceError>> {
        async move {
            // In a block of its own, so that none of it is kept in the future's state.
            let blocked = {
                let (payload, headers, id) = encode()?;
                let headers = match outgoing(trace) {
                    Some(context) => context.add_to(headers),
                    None => headers,
                };
                if let Some(outbox) = outbox {
                    let limit = self.inner.max_message_bytes;
                    let id = outbox.stage(topic, key, (payload, headers, id), limit)?;
                    return Ok(PendingDelivery {
                        state: DeliveryState::Staged,
                        id,
                        inner: Arc::clone(&self.inner),
                    });
                }
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
    pub(super) fn encode_with<T: Serialize + Any>(
        &self,
        topic: &str,
        data: &T,
        event_type: impl Into<EventType>,
        broker: Option<Broker>,
        cause: Option<Lineage>,
    ) -> Result<(Vec<u8>, OwnedHeaders, Uuid), ProduceError> {
        if let Some(value) = (data as &dyn Any).downcast_ref::<serde_json::Value>()
            && is_envelope(value)
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

    /// One attempt to hand a record to librdkafka.
    pub(super) fn hand_over(
        &self,
        topic: &str,
        key: &str,
        payload: Vec<u8>,
        headers: OwnedHeaders,
        id: Uuid,
    ) -> Result<HandOver, ProduceError> {
        let limit = self.inner.max_message_bytes;
        let (outcome, delivery) = oneshot::channel();
        let record = BaseRecord::with_opaque_to(topic, Box::new(outcome))
            .key(key)
            .payload(&payload)
            .headers(headers);
        match self.inner.producer().send(record) {
            Ok(()) => {
                recycle(payload);
                Ok(HandOver::Queued(PendingDelivery {
                    state: DeliveryState::Waiting(delivery, sent_at()),
                    inner: Arc::clone(&self.inner),
                    id,
                }))
            }
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
    pub(super) fn wait_for_room<'a>(
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
}

impl MessageProducer {
    /// Hands a staged record to librdkafka (into the open transaction), waiting for room like
    /// [`MessageProducer::enqueue`].
    pub(crate) async fn enqueue_staged(
        &self,
        record: StagedRecord,
    ) -> Result<PendingDelivery, ProduceError> {
        let StagedRecord {
            topic,
            key,
            payload,
            headers,
            id,
        } = record;
        let blocked = match self.hand_over(&topic, &key, payload, headers, id)? {
            HandOver::Queued(delivery) => return Ok(delivery),
            HandOver::Blocked(blocked) => blocked,
        };
        self.wait_for_room(&topic, &key, blocked).await
    }
}

/// What one attempt to hand a record to librdkafka came to.
pub(super) enum HandOver {
    /// librdkafka took it.
    Queued(PendingDelivery),
    /// librdkafka could not take it yet: its queue is full, or the partition is not known yet.
    Blocked(Blocked),
}

/// A record librdkafka could not take yet, kept for the next attempt.
pub(super) struct Blocked {
    payload: Vec<u8>,
    headers: OwnedHeaders,
    id: Uuid,
    code: RDKafkaErrorCode,
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
