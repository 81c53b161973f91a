//! The AsyncAPI 3.0 document of a service, from its handlers and the topic catalog.
//!
//! - **channels**: every topic the service reads or publishes to, per trading broker
//!   (`paper.signals.raw`, `zerodha.signals.raw`), with its partitions and the message of its
//!   catalog event type; and the dead-letter topic (`<topic>.dlq`) of every topic a handler
//!   dead-letters from, whose message lists the `dlq.*` headers;
//! - **operations**: `receive` per handler and topic (with its consumer group), `send` per
//!   declared output (`publishes`) and per dead-letter topic;
//! - **components**: per event type the envelope schema wrapping the event's data schema (from
//!   the Rust type: `#[derive(Event, schemars::JsonSchema)]`; `{}` when unknown).
//!
//! [`asyncapi_document`] builds it; a `#[stream_service]` started with `STREAMKIT_ASYNCAPI=path`
//! writes it there and exits without contacting a broker ([`startup`]).

mod components;
mod document;
pub mod startup;

pub use document::asyncapi_document;
