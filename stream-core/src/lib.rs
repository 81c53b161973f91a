#![warn(missing_docs)]
//! The runtime of streamkit.
//!
//! Everything a stream service does at run time lives here, usable by hand without the macros.
//! The folders follow a message's way, each one using only those above it:
//!
//! - [`envelope`]: the wire contract ([`EventEnvelope`], [`Event`], ids, the JSON
//!   [`codec`](envelope::codec)); no Kafka, no tokio.
//! - [`topic`]: topics, `*` patterns and trading-broker namespaces (the `stream-topics` grammar).
//! - [`kafka`]: librdkafka's clients: [`KafkaConfig`], records, subscriptions, topic admin,
//!   the idempotent [`MessageProducer`], the examples' [`DevCluster`](kafka::dev_cluster::DevCluster).
//! - [`handler`]: what user code sees: [`Incoming`](handler::Incoming), [`HandlerError`], the
//!   extractors and [`Context`](handler::extract::Context).
//! - [`reliability`]: retries, dead letters, dedup stores and claims, envelope contracts.
//! - [`consumer`]: the [`MessageConsumer`]: polling, one worker per partition, one message's
//!   life, contiguous commits.
//! - [`service`]: one service process: [`StreamServiceBuilder`](service::StreamServiceBuilder),
//!   [`ServiceConfig`], health and metrics, the `#[stream_handler]` registry, and the runtime
//!   `#[stream_service]` calls.
//! - `testing` (feature `testing`): broker helpers and the test kit.
//!
//! The `stream-macros` crate expands into calls of this crate only, through [`__private`].

pub mod consumer;
pub mod envelope;
pub mod error;
pub mod handler;
pub mod kafka;
pub(crate) mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
pub mod reliability;
pub mod service;
#[cfg(feature = "testing")]
pub mod testing;
pub mod topic;

pub use consumer::{ConsumerOptions, MessageConsumer};
pub use envelope::{Event, EventEnvelope, EventType, Lineage, ServiceName};
pub use error::{Error, Result};
pub use handler::HandlerError;
pub use kafka::config::KafkaConfig;
pub use kafka::producer::MessageProducer;
pub use service::config::ServiceConfig;
pub use topic::{Broker, Topic, TopicPattern};

/// The JSON Schema crate the data schemas come from (`#[derive(schemars::JsonSchema)]`).
pub use schemars;

/// The paths generated code uses. Not public API: may change in any release; the macros name
/// nothing of this crate outside it, so the runtime's files can move without breaking services.
#[doc(hidden)]
pub mod __private {
    pub use crate::consumer::Order;
    pub use crate::envelope::Event;
    pub use crate::envelope::schema::registry::{
        EVENT_SCHEMAS, EventSchemaEntry, Probe, ViaJsonSchema, ViaNothing,
    };
    pub use crate::error::Result;
    pub use crate::handler::extract::FromMessage;
    pub use crate::reliability::retry::RetryPolicy;
    pub use crate::service::handler_spec::HandlerSpec;
    pub use crate::service::registry::{HANDLERS, HandlerEntry};
    pub use crate::service::runtime::{Setup, run_service};
    pub use crate::topic::typed::{TopicDef, TypedTopic, str_eq};
    pub use linkme;
    pub use serde;
    pub use serde_json;
    pub use tokio;
}
