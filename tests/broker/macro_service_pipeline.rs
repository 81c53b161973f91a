//! Three `#[stream_handler]`s in two consumer groups, under `#[stream_service]`, on the real
//! broker: each handler receives its events, the broker is read from the topic, and outputs are
//! published with the causation chain.
//!
//! `harness = false`: this file's `main` is the service. Its setup body creates the topics, then
//! spawns the check: publish signals on both trading brokers, wait for the outputs, verify, and
//! stop the service through its handle. A watchdog task awaits the check: a failed check, a panic
//! in it (an `unwrap` on a send, say) or a check still running after 120 s exits 1 at once
//! instead of leaving the service running. Only events of this run's signals are counted (the
//! topics may hold earlier runs' and other tests' records).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stream_core::envelope::codec::RawEnvelope;
use stream_core::testing;
use streamkit::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct TradingSignal {
    symbol: String,
    quantity: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct ValidatedSignal {
    symbol: String,
    quantity: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct OrderPlaced {
    symbol: String,
    quantity: Decimal,
}

/// Which handler saw which event on which broker: (handler, broker, correlation id).
static SEEN: Mutex<Vec<(&'static str, String, uuid::Uuid)>> = Mutex::new(Vec::new());

/// The longest the check may take before the test fails.
const CHECK_DEADLINE: Duration = Duration::from_secs(120);

fn saw(handler: &'static str, broker: &Broker, correlation_id: uuid::Uuid) {
    SEEN.lock()
        .unwrap()
        .push((handler, broker.to_string(), correlation_id));
}

// Group 1, handler 1: signals in, validated out.
#[stream_handler(topics = "*.servicetest.signals", group = "servicetest.risk")]
async fn validate(signal: Envelope<TradingSignal>, ctx: Context) -> Result<(), HandlerError> {
    saw("validate", ctx.broker(), signal.correlation_id);
    let out = ctx.topic_on_same_broker("servicetest.validated")?;
    let v = ValidatedSignal {
        symbol: signal.data.symbol.clone(),
        quantity: signal.data.quantity,
    };
    ctx.send(&out, &v).await?;
    Ok(())
}

// Group 1, handler 2: an audit of the orders (same group, disjoint topics).
#[stream_handler(topics = ["paper.servicetest.orders", "zerodha.servicetest.orders"], group = "servicetest.risk")]
async fn audit(order: Envelope<OrderPlaced>, broker: Broker) -> Result<(), HandlerError> {
    saw("audit", &broker, order.correlation_id);
    Ok(())
}

// Group 2: validated in, orders out.
#[stream_handler(
    topics = "*.servicetest.validated",
    group = "servicetest.engine",
    retry = 5
)]
async fn place(Data(v): Data<ValidatedSignal>, ctx: Context) -> Result<(), HandlerError> {
    saw("place", ctx.broker(), ctx.correlation_id());
    let out = ctx.topic_on_same_broker("servicetest.orders")?;
    ctx.send(
        &out,
        &OrderPlaced {
            symbol: v.symbol,
            quantity: v.quantity,
        },
    )
    .await?;
    Ok(())
}

fn fail(msg: String) -> ! {
    eprintln!("test three_handlers_two_groups_under_stream_service ... FAILED\n{msg}");
    println!("0 passed, 1 failed");
    std::process::exit(1);
}

async fn check(setup: Setup) {
    let handle = setup.service_handle().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !handle.is_ready() {
        if Instant::now() > deadline {
            fail("the service did not become ready within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let producer =
        streamkit::kafka::producer::MessageProducer::new(&testing::kafka_config(), "servicetest")
            .unwrap();
    let mut sent: HashMap<uuid::Uuid, String> = HashMap::new();
    for (i, broker) in ["paper", "zerodha", "paper", "zerodha"].iter().enumerate() {
        let s = TradingSignal {
            symbol: format!("SYM{i}"),
            quantity: Decimal::from(i as i64 + 1),
        };
        let id = producer
            .send(&format!("{broker}.servicetest.signals"), &s.symbol, &s)
            .await
            .unwrap();
        sent.insert(id, broker.to_string());
    }
    // Wait until every chain reached the orders topic and the audit.
    let mine = |topic: &str| {
        let t = topic.to_owned();
        let ids: HashSet<uuid::Uuid> = sent.keys().copied().collect();
        async move {
            testing::read_all(&t)
                .await
                .iter()
                .filter_map(|r| RawEnvelope::decode(r.payload()?).ok())
                .filter(|e| ids.contains(&e.correlation_id))
                .collect::<Vec<_>>()
        }
    };
    let mut orders = Vec::new();
    while Instant::now() < deadline {
        orders = [
            mine("paper.servicetest.orders").await,
            mine("zerodha.servicetest.orders").await,
        ]
        .concat();
        let audited = SEEN
            .lock()
            .unwrap()
            .iter()
            .filter(|(h, _, c)| *h == "audit" && sent.contains_key(c))
            .count();
        if orders.len() >= sent.len() && audited >= sent.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let validated = [
        mine("paper.servicetest.validated").await,
        mine("zerodha.servicetest.validated").await,
    ]
    .concat();
    let by_id: HashMap<uuid::Uuid, &RawEnvelope> = validated.iter().map(|e| (e.id, e)).collect();
    if orders.len() != sent.len() || validated.len() != sent.len() {
        fail(format!(
            "expected {} orders and validated signals, got {} and {}",
            sent.len(),
            orders.len(),
            validated.len()
        ));
    }
    for order in &orders {
        let broker = &sent[&order.correlation_id];
        if order.broker.as_str() != broker {
            fail(format!(
                "order on {} for a signal on {broker}",
                order.broker
            ));
        }
        let cause = order
            .causation_id
            .and_then(|c| by_id.get(&c))
            .unwrap_or_else(|| fail("order without its validated cause".into()));
        if cause.causation_id != Some(order.correlation_id) || cause.broker.as_str() != broker {
            fail("validated signal not caused by its signal".into());
        }
    }
    let seen: Vec<_> = SEEN
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, c)| sent.contains_key(c))
        .cloned()
        .collect();
    for handler in ["validate", "place", "audit"] {
        let on: HashSet<&str> = seen
            .iter()
            .filter(|(h, _, _)| *h == handler)
            .map(|(_, b, _)| b.as_str())
            .collect();
        if !on.contains("paper") || !on.contains("zerodha") {
            fail(format!("{handler} did not see both brokers: {on:?}"));
        }
    }
    if streamkit::service::registry::registered().count() != 3 {
        fail("the registry does not hold the three handlers".into());
    }
    println!("test three_handlers_two_groups_under_stream_service ... ok");
    println!("1 passed, 0 failed");
    handle.shutdown();
}

#[stream_service(name = "servicetest")]
async fn main(setup: Setup) -> streamkit::Result<()> {
    testing::bootstrap_servers(); // a real broker: run through scripts/test
    let catalog = stream_core::topic::Catalog::parse(include_str!("../../topics.toml")).unwrap();
    for spec in catalog.topics() {
        let names: Vec<String> = catalog
            .brokers()
            .iter()
            .map(|b| format!("{b}.{}", spec.name()))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        testing::create_topics(&refs, spec.partitions()).await;
    }
    let check = tokio::spawn(check(setup.clone()));
    tokio::spawn(async move {
        match tokio::time::timeout(CHECK_DEADLINE, check).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => fail(format!("the check failed: {e}")),
            Err(_) => fail(format!(
                "the check did not finish within {CHECK_DEADLINE:?}"
            )),
        }
    });
    Ok(())
}
