//! A pipeline built by hand with `StreamServiceBuilder`, no macros: a "trading-engine" service
//! with two handlers on `paper.signals.validated` and `zerodha.signals.validated` in group
//! `trading-engine.signals`, each publishing an `order_placed` event to its own broker's
//! `orders.placed`. Checked on the real broker: outputs, brokers and the causation chain; shared
//! state seen across partitions; shutdown through the handle commits and ends within the deadline.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stream_core::envelope::EventEnvelope;
use stream_core::envelope::codec;
use stream_core::handler::HandlerError;
use stream_core::handler::extract::{Context, Envelope, State};
use stream_core::kafka::producer::MessageProducer;
use stream_core::service::StreamServiceBuilder;
use stream_core::service::config::ServiceConfig;
use stream_core::{Broker, Event, testing};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ValidatedSignal {
    strategy: String,
    symbol: String,
    quantity: u32,
    price: Decimal,
}

impl Event for ValidatedSignal {
    const EVENT_TYPE: &'static str = "validated_signal";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderPlaced {
    symbol: String,
    quantity: u32,
    price: Decimal,
}

impl Event for OrderPlaced {
    const EVENT_TYPE: &'static str = "order_placed";
}

/// Shared across every partition and both handlers.
#[derive(Clone, Default)]
struct Engine {
    orders: Arc<AtomicU64>,
}

async fn place(
    Envelope(signal): Envelope<ValidatedSignal>,
    ctx: Context,
    State(engine): State<Engine>,
) -> Result<(), HandlerError> {
    let order = OrderPlaced {
        symbol: signal.data.symbol.clone(),
        quantity: signal.data.quantity,
        price: signal.data.price,
    };
    let out = ctx.topic_on_same_broker(&format!("{}.placed", orders_domain()))?;
    ctx.send(&out, &order).await?;
    engine.orders.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

// Each test run uses its own domain so reruns never see old records.
static DOMAIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
fn orders_domain() -> &'static str {
    DOMAIN.get().expect("domain set")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_engine_places_orders_on_each_broker_with_the_causation_chain() {
    let run = testing::unique_name("orders");
    DOMAIN.set(run.clone()).unwrap();
    let signals = |b: &str| format!("{b}.signals-{run}.validated");
    let orders = |b: &str| format!("{b}.{run}.placed");
    let (paper_in, zerodha_in) = (signals("paper"), signals("zerodha"));
    let (paper_out, zerodha_out) = (orders("paper"), orders("zerodha"));
    testing::create_topics(&[&paper_in, &zerodha_in, &paper_out, &zerodha_out], 3).await;

    let engine = Engine::default();
    let service = StreamServiceBuilder::new(
        "trading-engine",
        ServiceConfig::with_kafka(testing::kafka_config()),
    )
    .add_producer()
    .with_state(engine.clone())
    .add_consumer_handler(&[&paper_in], "trading-engine.signals", place)
    .add_consumer_handler(&[&zerodha_in], "trading-engine.signals", place)
    .build()
    .unwrap();
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());

    // Upstream: a risk manager publishing validated signals on both brokers.
    let upstream = MessageProducer::new(&testing::kafka_config(), "risk-manager").unwrap();
    let mut sent: HashMap<uuid::Uuid, (String, EventEnvelope<ValidatedSignal>)> = HashMap::new();
    for (i, broker) in ["paper", "zerodha", "paper", "zerodha", "paper", "zerodha"]
        .iter()
        .enumerate()
    {
        let signal = ValidatedSignal {
            strategy: format!("s{i}"),
            symbol: ["RELIANCE", "TCS", "INFY"][i % 3].into(),
            quantity: 10 + i as u32,
            price: Decimal::new(245_055, 2),
        };
        let env = EventEnvelope::new(Broker::new(*broker).unwrap(), "risk-manager", signal);
        let topic = signals(broker);
        upstream
            .send_envelope(&topic, &env.data.strategy, &env)
            .await
            .unwrap();
        sent.insert(env.id, (broker.to_string(), env));
    }

    testing::wait_until(Duration::from_secs(60), "six orders placed", || {
        let n = engine.orders.load(Ordering::SeqCst);
        async move { n >= 6 }
    })
    .await;
    assert!(handle.is_ready() && handle.is_live());
    let asked = Instant::now();
    handle.shutdown();
    let report = running.await.unwrap().unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(30),
        "shutdown took {:?}",
        asked.elapsed()
    );
    assert_eq!(report.undelivered, 0);
    let (group, group_report) = &report.groups[0];
    assert_eq!(group, "trading-engine.signals");
    assert_eq!(group_report.stats.handled, 6);
    assert!(group_report.unfinished.is_empty());

    // Outputs: each on its own broker's topic, caused by the signal, same correlation chain.
    for (broker, topic) in [("paper", &paper_out), ("zerodha", &zerodha_out)] {
        let records = testing::read_all(topic).await;
        assert_eq!(records.len(), 3, "{topic}");
        for r in records {
            let order = codec::decode::<OrderPlaced>(r.payload().unwrap()).unwrap();
            assert_eq!(order.broker.as_str(), broker);
            assert_eq!(order.event_type, "order_placed");
            assert_eq!(order.source, "trading-engine");
            let cause = order.causation_id.expect("causation id set");
            let (cause_broker, signal) = &sent[&cause];
            assert_eq!(cause_broker, broker, "order left its broker");
            assert_eq!(order.correlation_id, signal.correlation_id);
            assert_eq!(order.data.quantity, signal.data.quantity);
            assert_eq!(
                r.key(),
                Some(signal.data.strategy.as_bytes()),
                "key carried over"
            );
        }
    }
    // Shutdown committed everything it handled.
    for topic in [&paper_in, &zerodha_in] {
        let committed = testing::committed_offsets("trading-engine.signals", topic).await;
        assert_eq!(
            committed.values().map(|o| o.unwrap_or(0)).sum::<i64>(),
            3,
            "{topic}"
        );
    }
}
