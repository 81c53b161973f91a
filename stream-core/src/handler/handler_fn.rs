//! [`Handler`]: an async fn whose arguments are all extractors, and [`BoundHandler`], one bound
//! to the service's resources.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::handler::error::HandlerError;
use crate::handler::event_types::EventTypes;
use crate::handler::incoming::Incoming;
use crate::handler::message_handler::{IntoHandlerResult, MessageHandler};

/// An async fn whose arguments are all extractors: the axum-style handler.
///
/// `Args` is the tuple of argument types; it only tells the impls apart. Both the builder's
/// `add_consumer_handler` and the `#[stream_handler]` macro end in this one trait.
///
/// ```
/// use stream_core::handler::extract::{Context, Data};
/// use stream_core::handler::{Handler, HandlerError};
/// #[derive(serde::Serialize, serde::Deserialize)] struct Tick { px: u64 }
/// impl stream_core::Event for Tick { const EVENT_TYPE: &'static str = "market_tick"; }
/// async fn on_tick(Data(t): Data<Tick>, ctx: Context) -> Result<(), HandlerError> {
///     println!("{} on {}", t.px, ctx.broker());
///     Ok(())
/// }
/// fn is_handler<A, H: Handler<A>>(_: H) {}
/// is_handler(on_tick);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a streamkit handler",
    note = "a handler is an `async fn` whose arguments are all extractors (Envelope<T>, Data<T>, Context, Broker, Key, Headers, State<S>) and that returns `Result<(), E>` with `E: Into<HandlerError>`, or `()`",
    note = "the `T` of `Envelope<T>` and `Data<T>` is an `Event` (`#[derive(Event)]`), or `serde_json::Value`"
)]
pub trait Handler<Args>: Clone + Send + Sync + 'static {
    /// Builds the arguments from `message` and runs the handler.
    fn call(
        &self,
        message: Arc<Incoming>,
        resources: &crate::handler::extract::Resources,
    ) -> BoxFuture<'static, Result<(), HandlerError>>;

    /// What the handler's extractors need from the service.
    fn requirements() -> Vec<crate::handler::extract::Requirement>;
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Handler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoHandlerResult + 'static,
            $($arg: crate::handler::extract::FromMessage,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(
                &self,
                message: Arc<Incoming>,
                resources: &crate::handler::extract::Resources,
            ) -> BoxFuture<'static, Result<(), HandlerError>> {
                $(
                    let $arg = match $arg::from_message(&message, resources) {
                        Ok(v) => v,
                        Err(e) => return Box::pin(async move { Err(e) }),
                    };
                )*
                // `map`, not `async move { fut.await… }`: an async block awaiting a captured
                // future keeps two copies of it in its own state, and this box is allocated per
                // message.
                Box::pin(futures::FutureExt::map(
                    (self)($($arg),*),
                    IntoHandlerResult::into_handler_result,
                ))
            }

            #[allow(unused_mut)]
            fn requirements() -> Vec<crate::handler::extract::Requirement> {
                let mut out = Vec::new();
                $( out.extend($arg::requirements()); )*
                out
            }
        }
    };
}

impl_handler!();
impl_handler!(A1);
impl_handler!(A1, A2);
impl_handler!(A1, A2, A3);
impl_handler!(A1, A2, A3, A4);
impl_handler!(A1, A2, A3, A4, A5);
impl_handler!(A1, A2, A3, A4, A5, A6);
impl_handler!(A1, A2, A3, A4, A5, A6, A7);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8);

/// A [`Handler`] bound to the service's resources: what the consumer calls.
pub struct BoundHandler<H, Args> {
    handler: H,
    resources: Arc<crate::handler::extract::Resources>,
    event_types: EventTypes,
    _args: std::marker::PhantomData<fn() -> Args>,
}

impl<H: Handler<Args>, Args> BoundHandler<H, Args> {
    /// Binds `handler` to `resources`; it reads the event types of its payload extractors
    /// ([`EventTypes::of`] its [`Handler::requirements`]).
    pub fn new(handler: H, resources: Arc<crate::handler::extract::Resources>) -> Self {
        Self {
            handler,
            resources,
            event_types: EventTypes::of(&H::requirements()),
            _args: std::marker::PhantomData,
        }
    }

    /// Lets the handler read `event_types` as well (what `HandlerSpec::accept` gives).
    #[must_use]
    pub fn accepting(mut self, event_types: &EventTypes) -> Self {
        self.event_types = self.event_types.and(event_types);
        self
    }
}

impl<H: Handler<Args>, Args: 'static> MessageHandler for BoundHandler<H, Args> {
    fn call(&self, message: Arc<Incoming>) -> BoxFuture<'static, Result<(), HandlerError>> {
        self.handler.call(message, &self.resources)
    }

    fn event_types(&self, _topic: &str) -> &EventTypes {
        &self.event_types
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::codec::encode::encode;
    use crate::envelope::codec::raw::RawEnvelope;
    use crate::envelope::event_envelope::EventEnvelope;
    use crate::handler::extract::{Context, Envelope, Resources};
    use crate::kafka::config::KafkaConfig;
    use crate::kafka::producer::message_producer::MessageProducer;
    use crate::kafka::record::RecordMeta;
    use crate::topic::Broker;

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    struct Signal {
        symbol: String,
        quantity: i64,
        price: rust_decimal::Decimal,
    }

    impl crate::Event for Signal {
        const EVENT_TYPE: &'static str = "trading_signal";
    }

    async fn forward(Envelope(signal): Envelope<Signal>, ctx: Context) -> Result<(), HandlerError> {
        let out = signal.data;
        if out.quantity > 10 {
            ctx.send("paper.signals.validated", &out).await?;
        } else {
            ctx.publish("paper.signals.validated", &out).await?;
        }
        Ok(())
    }

    /// The future a handler returns is allocated once per message. glibc's malloc serves blocks
    /// up to 1,032 bytes from a per-thread cache and takes a locked, much slower path above;
    /// a handler that sends and publishes (the producer's futures are the bulk of it) must stay
    /// under that.
    #[test]
    fn a_publishing_handlers_future_fits_the_allocators_thread_cache() {
        let signal = Signal {
            symbol: "RELIANCE".into(),
            quantity: 100,
            price: "2450.55".parse().unwrap(),
        };
        let bytes = encode(
            &EventEnvelope::builder("trading_signal", &signal)
                .broker(Broker::new("paper").unwrap())
                .source("strategy")
                .build(),
        )
        .unwrap();
        let envelope = RawEnvelope::decode(&bytes).unwrap();
        let record = RecordMeta::new("paper.signals.raw", Broker::new("paper").unwrap(), 0, 7)
            .with_value(bytes);
        let producer = MessageProducer::new(&KafkaConfig::new("127.0.0.1:1"), "risk").unwrap();
        let incoming = Arc::new(Incoming::new(envelope, record, Some(producer)));
        let handler = BoundHandler::new(forward, Arc::new(Resources::default()));
        let future = handler.call(incoming);
        let size = std::mem::size_of_val(&*future);
        assert!(size <= 1_024, "the handler's future is {size} bytes");
    }
}
