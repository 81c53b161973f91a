//! [`Incoming`]: a message as a handler receives it, and the deliveries it leaves the consumer
//! to await.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::DeserializeOwned;

use crate::envelope::codec::raw::RawEnvelope;
use crate::envelope::event_envelope::EventEnvelope;
use crate::handler::error::HandlerError;
use crate::kafka::producer::causal::CausalProducer;
use crate::kafka::producer::delivery::PendingDelivery;
use crate::kafka::producer::message_producer::MessageProducer;
use crate::kafka::producer::outbox::Outbox;
use crate::kafka::record::RecordMeta;
use crate::kafka::trace_context::TraceContext;

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
    /// In exactly-once mode, where the handler's publishes wait for its attempt to succeed.
    outbox: Option<Arc<Outbox>>,
    /// The trace of this handling, made on first use (it reads the record's headers).
    trace: OnceLock<TraceContext>,
    /// The producer of this handling's replies, made on first use: a handler that publishes
    /// nothing pays nothing for it, and a handler's context stays two pointers wide.
    causal: OnceLock<Option<CausalProducer>>,
}

/// The deliveries a handler left for the consumer to await ([`Incoming::defer`]).
#[derive(Default)]
struct Deferred(Mutex<Deliveries>);

/// Deliveries in publish order. Most handlers publish one record a message, held inline: a
/// `Vec` would cost an allocation for every message that publishes.
pub(crate) type Deliveries = smallvec::SmallVec<[PendingDelivery; 1]>;

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.lock().map(|d| d.len()).unwrap_or_default();
        write!(f, "{n} deferred deliveries")
    }
}

impl Incoming {
    /// A message as the consumer hands it to a handler (for driving a
    /// [`MessageHandler`](crate::handler::MessageHandler) by hand, in tests for example).
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
            outbox: None,
            trace: OnceLock::new(),
            causal: OnceLock::new(),
        }
    }

    /// Stages what the handler publishes through its context in an [`Outbox`] (exactly-once
    /// mode): handed to the transaction only once an attempt succeeds.
    pub(crate) fn with_outbox(mut self) -> Self {
        self.outbox = Some(Arc::default());
        self
    }

    /// The record, the rest of the message dropped (once its handler is done with it).
    pub(crate) fn into_record(self) -> RecordMeta {
        self.record
    }

    /// The outbox of exactly-once mode, if the message has one.
    pub(crate) fn outbox(&self) -> Option<&Outbox> {
        self.outbox.as_deref()
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

    /// The trace this handling belongs to: the record's `traceparent` continued, with a span id
    /// of this handling (see [`trace_context`](crate::kafka::trace_context)).
    pub fn trace(&self) -> &TraceContext {
        self.trace
            .get_or_init(|| TraceContext::of_handling(&self.record, self.envelope.correlation_id))
    }

    /// A producer whose sends carry this event's correlation id, set `causation_id` to its id,
    /// and carry this handling's trace context.
    pub fn reply_producer(&self) -> Option<CausalProducer> {
        self.causal_producer().cloned()
    }

    /// [`Incoming::reply_producer`], made once per message and borrowed.
    pub fn causal_producer(&self) -> Option<&CausalProducer> {
        self.causal
            .get_or_init(|| self.make_reply_producer())
            .as_ref()
    }

    fn make_reply_producer(&self) -> Option<CausalProducer> {
        let producer = self
            .producer
            .as_ref()?
            .caused_by(self.envelope.lineage())
            .traced(self.trace().clone());
        Some(match &self.outbox {
            Some(outbox) => producer.staging_into(Arc::clone(outbox)),
            None => producer,
        })
    }
}
