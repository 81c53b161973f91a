//! `MessageProducer`: idempotent publishing that wraps payloads in envelopes.
//!
//! Every record streamkit writes is an [`EventEnvelope`](crate::envelope::EventEnvelope) encoded by [`codec`](mod@crate::envelope::codec), keyed
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

pub(crate) mod callbacks;
pub(crate) mod causal;
pub(crate) mod delivery;
mod encode;
pub(crate) mod error;
mod inner;
pub(crate) mod message_producer;
pub(crate) mod options;
pub(crate) mod outbox;
mod pump;
mod raw_record;
pub(crate) mod shutdown;
pub(crate) mod transaction;

pub use callbacks::ProducerCallbacks;
pub use causal::CausalProducer;
pub use delivery::PendingDelivery;
pub use error::ProduceError;
pub use message_producer::MessageProducer;
pub use options::ProducerOptions;
pub(crate) use options::default_instance;
pub use outbox::Outbox;
pub use shutdown::ShutdownReport;
