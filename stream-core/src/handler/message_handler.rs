//! [`MessageHandler`]: the consumer's view of user code, and [`IntoHandlerResult`], what a
//! handler may return.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::handler::batch::BatchHandler;
use crate::handler::error::HandlerError;
use crate::handler::event_types::EventTypes;
use crate::handler::incoming::Incoming;

/// The consumer's view of user code: handle one message.
///
/// Implemented for every `Fn(Arc<Incoming>) -> impl Future<Output = Result<(), HandlerError>>`.
///
/// ```
/// use std::sync::Arc;
/// use stream_core::handler::{Incoming, HandlerError, MessageHandler};
/// fn assert_handler<H: MessageHandler>(_: H) {}
/// assert_handler(|msg: Arc<Incoming>| async move {
///     println!("{} from {}", msg.envelope.id, msg.record.topic);
///     Ok::<(), HandlerError>(())
/// });
/// ```
pub trait MessageHandler: Send + Sync + 'static {
    /// Handles one message; called again with the same message on a retry.
    fn call(&self, message: Arc<Incoming>) -> BoxFuture<'static, Result<(), HandlerError>>;

    /// The event types this handler reads from `topic`; the consumer dead-letters an envelope of
    /// any other type before calling it (see [`crate::reliability::contract`]). Every type, by
    /// default.
    fn event_types(&self, topic: &str) -> &EventTypes {
        let _ = topic;
        &EventTypes::ANY
    }

    /// The batch handler behind this one, if it is a batch handler (see
    /// [`BatchOfOne`](crate::handler::BatchOfOne)): the consumer then hands it batches. None, by
    /// default.
    fn batch(&self) -> Option<&Arc<dyn BatchHandler>> {
        None
    }
}

impl<F, Fut> MessageHandler for F
where
    F: Fn(Arc<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn call(&self, message: Arc<Incoming>) -> BoxFuture<'static, Result<(), HandlerError>> {
        Box::pin(self(message))
    }
}

/// What a handler may return: `Result<(), E>` for any `E` that converts into [`HandlerError`],
/// or `()`.
pub trait IntoHandlerResult: Send {
    /// The result as the consumer sees it.
    fn into_handler_result(self) -> Result<(), HandlerError>;
}

impl IntoHandlerResult for () {
    fn into_handler_result(self) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl<E: Into<HandlerError> + Send> IntoHandlerResult for Result<(), E> {
    fn into_handler_result(self) -> Result<(), HandlerError> {
        self.map_err(Into::into)
    }
}
