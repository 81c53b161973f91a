//! What a consumer calls for each message: [`Incoming`], [`MessageHandler`] and [`HandlerError`].
//!
//! [`MessageHandler`] is the one low-level contract between the consumer and user code: given an
//! [`Incoming`] message (its envelope, decoded up to the payload, and where it came from), do the
//! work and say how it went. The typed, axum-style handlers of the service layer are turned into
//! a `MessageHandler`; a closure `Fn(Arc<Incoming>) -> impl Future<Output = Result<(), HandlerError>>`
//! is one too.

pub(crate) mod batch;
pub(crate) mod batch_of_one;
pub(crate) mod error;
pub(crate) mod event_types;
pub mod extract;
pub(crate) mod handler_fn;
pub(crate) mod incoming;
pub(crate) mod message_handler;
pub mod publishes;

pub use crate::kafka::record::{RecordHeaders, RecordMeta};
pub use batch::{Batch, BatchFn, BatchHandler, BatchResult, IntoBatchResult, TypedBatch};
pub use batch_of_one::BatchOfOne;
pub use error::{ErrorKind, HandlerError};
pub use event_types::EventTypes;
pub use handler_fn::{BoundHandler, Handler};
pub(crate) use incoming::Deliveries;
pub use incoming::Incoming;
pub use message_handler::{IntoHandlerResult, MessageHandler};
