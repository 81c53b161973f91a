//! `StreamServiceBuilder` and `StreamService`: handlers wired into consumers, run until a signal.
//!
//! The builder collects handlers (by hand with [`StreamServiceBuilder::add_consumer_handler`], or
//! from the `#[stream_handler]` registry), shared state, the producer, dedup and retry, and checks
//! the whole wiring in [`StreamServiceBuilder::build`] before anything connects:
//!
//! - every handler has at least one topic, and every topic or pattern is valid;
//! - two handlers in one consumer group never subscribe to overlapping topics;
//! - with a catalog ([`StreamServiceBuilder::with_catalog`]), every pattern matches a declared topic;
//! - a handler that publishes (takes `Context`) has a producer (`.add_producer()`);
//! - a handler that takes `State<S>` has an `S` (`.with_state(..)`).
//!
//! Each error names the handler. Each consumer group becomes one [`MessageConsumer`](crate::consumer::MessageConsumer) (groups are
//! isolated from one another); handlers of one group share it and are routed by topic.
//! [`StreamService::run`] runs until SIGINT/SIGTERM or [`ServiceHandle::shutdown`], then stops
//! fetching, lets in-flight handlers finish within the shutdown timeout, commits, flushes the
//! producer and leaves the groups.

pub mod asyncapi;
pub(crate) mod builder;
pub mod config;
pub(crate) mod handle;
pub(crate) mod handler_spec;
pub mod health;
pub mod logging;
pub mod metrics_page;
pub mod registry;
mod routing;
pub mod runtime;
pub(crate) mod stream_service;

pub use builder::StreamServiceBuilder;
pub use handle::{ServiceHandle, ServiceReport};
pub use handler_spec::HandlerSpec;
pub use stream_service::StreamService;
