//! A user's handler test written with the test kit, as the guide shows: a risk manager that
//! validates signals under a position limit and rejects the rest, tested on the in-process
//! (mock) cluster without any broker.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stream_core::Event;
use stream_core::handler::HandlerError;
use stream_core::handler::extract::{Context, Envelope};
use stream_core::reliability::dlq::headers;
use stream_core::service::StreamServiceBuilder;
use stream_core::testing::kit::TestKit;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TradingSignal {
    symbol: String,
    quantity: u32,
    price: Decimal,
}
impl Event for TradingSignal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ValidatedSignal {
    symbol: String,
    quantity: u32,
    price: Decimal,
}
impl Event for ValidatedSignal {
    const EVENT_TYPE: &'static str = "validated_signal";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RejectedSignal {
    symbol: String,
    reason: String,
}
impl Event for RejectedSignal {
    const EVENT_TYPE: &'static str = "rejected_signal";
}

const POSITION_LIMIT: u32 = 500;

/// The handler under test.
async fn check_risk(
    Envelope(s): Envelope<TradingSignal>,
    ctx: Context,
) -> Result<(), HandlerError> {
    if s.data.quantity > POSITION_LIMIT {
        let out = ctx.topic_on_same_broker("signals.rejected")?;
        let reason = format!(
            "quantity {} over the limit of {POSITION_LIMIT}",
            s.data.quantity
        );
        ctx.send(
            &out,
            &RejectedSignal {
                symbol: s.data.symbol.clone(),
                reason,
            },
        )
        .await?;
    } else {
        let out = ctx.topic_on_same_broker("signals.validated")?;
        let v = ValidatedSignal {
            symbol: s.data.symbol.clone(),
            quantity: s.data.quantity,
            price: s.data.price,
        };
        ctx.send(&out, &v).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_manager_validates_under_the_limit_and_rejects_over_it() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let kit = TestKit::start(&[
        "paper.signals.raw",
        "paper.signals.validated",
        "paper.signals.rejected",
        "paper.signals.raw.dlq",
    ])
    .await
    .unwrap();
    let service = StreamServiceBuilder::new("risk-manager", kit.service_config())
        .add_producer()
        .add_consumer_handler(&["*.signals.raw"], "risk-manager.signals", check_risk)
        .build()
        .unwrap();
    let running = kit.run(service);

    let small = TradingSignal {
        symbol: "TCS".into(),
        quantity: 100,
        price: Decimal::new(390_000, 2),
    };
    let big = TradingSignal {
        symbol: "INFY".into(),
        quantity: 900,
        price: Decimal::new(150_000, 2),
    };
    let small_id = kit
        .publish("paper.signals.raw", "strat-1", &small)
        .await
        .unwrap();
    let big_id = kit
        .publish("paper.signals.raw", "strat-1", &big)
        .await
        .unwrap();
    kit.publish_raw("paper.signals.raw", "strat-1", b"{not json")
        .await
        .unwrap();

    let wait = Duration::from_secs(20);
    let validated = kit
        .next::<ValidatedSignal>("paper.signals.validated", wait)
        .await
        .unwrap();
    assert_eq!(validated.data.quantity, 100);
    assert_eq!(validated.causation_id, Some(small_id));
    assert_eq!(validated.correlation_id, small_id);
    let rejected = kit
        .next::<RejectedSignal>("paper.signals.rejected", wait)
        .await
        .unwrap();
    assert_eq!(rejected.data.reason, "quantity 900 over the limit of 500");
    assert_eq!(rejected.causation_id, Some(big_id));
    kit.expect_nothing("paper.signals.validated", Duration::from_millis(500))
        .await
        .unwrap();

    let dead = kit.next_raw("paper.signals.raw.dlq", wait).await.unwrap();
    use rdkafka::Message;
    use rdkafka::message::Headers;
    assert_eq!(dead.payload(), Some(&b"{not json"[..]));
    let kind = dead
        .headers()
        .unwrap()
        .iter()
        .find(|h| h.key == headers::ERROR_KIND)
        .and_then(|h| h.value)
        .unwrap();
    assert_eq!(kind, b"decode");

    let report = running.stop().await.unwrap();
    assert_eq!(report.groups[0].1.stats.handled, 2);
    assert_eq!(report.groups[0].1.stats.dead_lettered, 1);
}
