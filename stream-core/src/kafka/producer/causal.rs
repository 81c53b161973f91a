//! [`CausalProducer`]: sends caused by the event being handled, and
//! [`MessageProducer::caused_by`], which makes one.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use crate::envelope::event::{Event, EventType};
use crate::envelope::event_envelope::Lineage;
use crate::kafka::producer::delivery::PendingDelivery;
use crate::kafka::producer::error::ProduceError;
use crate::kafka::producer::message_producer::MessageProducer;
use crate::kafka::producer::outbox::Outbox;
use crate::kafka::trace_context::TraceContext;
use crate::topic::typed::PublishTarget;

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
    /// Where sends are staged in exactly-once mode ([`Outbox`]), instead of produced at once.
    outbox: Option<Arc<Outbox>>,
    /// The trace of the handling that sends: written as `traceparent` on every record.
    trace: Option<TraceContext>,
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

    /// Hands `data` to librdkafka, caused by the bound event; see [`MessageProducer::enqueue`].
    pub fn enqueue<T: Event, P: PublishTarget<T> + ?Sized>(
        &self,
        topic: &P,
        key: &str,
        data: &T,
    ) -> impl Future<Output = Result<PendingDelivery, ProduceError>> {
        // A typed topic of another event type fails the build here.
        let () = P::CHECK;
        self.producer.enqueue_caused(
            topic.topic_name(),
            key,
            data,
            EventType::of_static(T::EVENT_TYPE),
            self.cause,
            self.outbox.as_deref(),
            self.trace.as_ref(),
        )
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
                .enqueue_caused(
                    topic,
                    key,
                    data,
                    event_type,
                    self.cause,
                    self.outbox.as_deref(),
                    self.trace.as_ref(),
                )
                .await?
                .await
        }
    }
}

impl MessageProducer {
    /// A handle whose sends carry `cause`'s correlation id and set `causation_id`: what a handler
    /// uses to publish the events its input caused.
    pub fn caused_by(&self, cause: Lineage) -> CausalProducer {
        CausalProducer {
            producer: self.clone(),
            cause,
            outbox: None,
            trace: None,
        }
    }
}

impl CausalProducer {
    /// Sends staged in `outbox` until the consumer hands them over (exactly-once mode).
    pub(crate) fn staging_into(mut self, outbox: Arc<Outbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Sends that carry `trace` (the handling's) as their `traceparent`.
    pub fn traced(mut self, trace: TraceContext) -> Self {
        self.trace = Some(trace);
        self
    }

    /// The trace context its sends carry, if any.
    pub fn trace(&self) -> Option<&TraceContext> {
        self.trace.as_ref()
    }
}
