//! [`BatchOfOne`]: a batch handler seen as a [`MessageHandler`], so the consumer can hand it
//! batches and retry a record that failed in its batch alone.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::handler::batch::BatchHandler;
use crate::handler::error::HandlerError;
use crate::handler::event_types::EventTypes;
use crate::handler::incoming::Incoming;
use crate::handler::message_handler::MessageHandler;

/// A batch handler as a [`MessageHandler`]: one message is a batch of one (how a record that
/// failed in its batch is retried alone); [`MessageHandler::batch`] gives the batch handler.
pub struct BatchOfOne(pub Arc<dyn BatchHandler>);

impl MessageHandler for BatchOfOne {
    fn call(&self, message: Arc<Incoming>) -> BoxFuture<'static, Result<(), HandlerError>> {
        let run = self.0.call_batch(vec![message]);
        Box::pin(async move {
            match run.await?.take(0) {
                Some(error) => Err(error),
                None => Ok(()),
            }
        })
    }

    fn event_types(&self, _topic: &str) -> &EventTypes {
        self.0.event_types()
    }

    fn batch(&self) -> Option<&Arc<dyn BatchHandler>> {
        Some(&self.0)
    }
}
