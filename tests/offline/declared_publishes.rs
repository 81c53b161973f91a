//! A handler that declares its outputs (`HandlerSpec::publishes`, what
//! `#[stream_handler(publishes = ...)]` sets) publishes to them, and a publish through its
//! `Context` to any other topic fails the message permanently, naming the declaration to add:
//! the message is dead-lettered with that error, on librdkafka's in-process mock cluster.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use stream_core::Event;
use stream_core::handler::HandlerError;
use stream_core::handler::extract::{Context, Data};
use stream_core::reliability::dlq::headers;
use stream_core::service::{HandlerSpec, StreamServiceBuilder};
use stream_core::testing::kit::TestKit;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Signal {
    qty: u32,
}
impl Event for Signal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

/// Small signals go to the declared output, large ones to a topic the handler did not declare.
async fn route(Data(s): Data<Signal>, ctx: Context) -> Result<(), HandlerError> {
    let out = if s.qty <= 100 {
        "signals.validated"
    } else {
        "orders.placed"
    };
    ctx.send(&ctx.topic_on_same_broker(out)?, &s).await?;
    Ok(())
}

#[tokio::test]
async fn a_publish_to_an_undeclared_topic_is_a_permanent_error_naming_the_declaration() {
    let kit = TestKit::start(&[
        "paper.signals.raw",
        "paper.signals.validated",
        "paper.orders.placed",
        "paper.signals.raw.dlq",
    ])
    .await
    .unwrap();
    let spec = HandlerSpec::new("route", &["paper.signals.raw"], "risk.route", route)
        .publishes(&["signals.validated"]);
    assert_eq!(spec.outputs(), ["signals.validated"]);
    let service = StreamServiceBuilder::new("risk", kit.service_config())
        .add_producer()
        .add_handler(spec)
        .build()
        .unwrap();
    let _running = kit.run(service);

    kit.publish("paper.signals.raw", "a", &Signal { qty: 10 })
        .await
        .unwrap();
    let ok = kit
        .next::<Signal>("paper.signals.validated", Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(ok.data, Signal { qty: 10 });

    kit.publish("paper.signals.raw", "b", &Signal { qty: 500 })
        .await
        .unwrap();
    let dead = kit
        .next_raw("paper.signals.raw.dlq", Duration::from_secs(20))
        .await
        .unwrap();
    let header = |name: &str| {
        use rdkafka::message::{Headers, Message};
        dead.headers()
            .and_then(|h| h.iter().find(|x| x.key == name))
            .and_then(|x| x.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    assert_eq!(header(headers::ERROR_KIND), "permanent");
    let error = header(headers::ERROR);
    assert!(
        error.contains("handler `route` published to `paper.orders.placed`, which it does not declare: add `orders.placed` to its `publishes`"),
        "{error}"
    );
    assert_eq!(
        header(headers::ATTEMPTS),
        "1",
        "a permanent error is not retried"
    );
    kit.expect_nothing("paper.orders.placed", Duration::from_millis(500))
        .await
        .unwrap();
}
