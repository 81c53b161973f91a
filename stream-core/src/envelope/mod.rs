//! The wire contract: [`EventEnvelope`] and the events it carries, their ids and sources, and
//! the JSON [`codec`] every service reads and writes (Python ones included). Nothing here knows
//! Kafka or tokio.

pub mod codec;
mod escape;
pub mod event;
pub(crate) mod event_envelope;
pub mod id;
pub mod schema;
pub mod service_name;
pub mod timestamp;

pub use event::{Event, EventType};
pub use event_envelope::{
    ENVELOPE_VERSION, EnvelopeBuilder, EventEnvelope, Lineage, NoBroker, NoSource,
};
pub use service_name::ServiceName;
