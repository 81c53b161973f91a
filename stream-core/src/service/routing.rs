//! Routing inside one consumer group: each message goes to the handler whose patterns match its
//! topic.

use std::sync::Arc;

use crate::handler::event_types::EventTypes;
use crate::handler::{HandlerError, Incoming, MessageHandler};
use crate::topic::{Topic, TopicPattern};

/// A group's handlers and the patterns each subscribes to.
pub(super) type Routes = Vec<(Vec<TopicPattern>, Arc<dyn MessageHandler>)>;

/// The handler a group's consumer runs: its one handler, or a router over several.
pub(super) fn group_handler(routes: Routes) -> Box<dyn MessageHandler> {
    if routes.len() == 1 {
        let (_, handler) = routes.into_iter().next().expect("one route");
        Box::new(SingleRoute(handler))
    } else {
        Box::new(Router { routes })
    }
}

/// The handler of a group with one route.
pub(super) struct SingleRoute(pub(super) Arc<dyn MessageHandler>);

impl MessageHandler for SingleRoute {
    fn call(
        &self,
        message: Arc<Incoming>,
    ) -> futures::future::BoxFuture<'static, std::result::Result<(), HandlerError>> {
        self.0.call(message)
    }

    fn event_types(&self, topic: &str) -> &EventTypes {
        self.0.event_types(topic)
    }

    fn batch(&self) -> Option<&Arc<dyn crate::handler::BatchHandler>> {
        self.0.batch()
    }
}

/// Routes a group's messages to the handler whose patterns match the topic.
pub(super) struct Router {
    pub(super) routes: Vec<(Vec<TopicPattern>, Arc<dyn MessageHandler>)>,
}

impl MessageHandler for Router {
    fn call(
        &self,
        message: Arc<Incoming>,
    ) -> futures::future::BoxFuture<'static, std::result::Result<(), HandlerError>> {
        let topic = &message.record.topic;
        for (patterns, handler) in &self.routes {
            if Topic::parse(topic).is_ok_and(|t| patterns.iter().any(|p| p.matches(&t))) {
                return handler.call(message);
            }
        }
        let topic = topic.to_string();
        Box::pin(async move {
            Err(HandlerError::permanent(format!(
                "no handler of this group subscribes to `{topic}`"
            )))
        })
    }

    fn event_types(&self, topic: &str) -> &EventTypes {
        let route = Topic::parse(topic).ok().and_then(|t| {
            self.routes
                .iter()
                .find(|(patterns, _)| patterns.iter().any(|p| p.matches(&t)))
        });
        match route {
            Some((_, handler)) => handler.event_types(topic),
            None => &EventTypes::ANY,
        }
    }
}
