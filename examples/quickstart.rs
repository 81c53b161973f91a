//! Quickstart: a stream service built by hand, with no macros.
//!
//! What it shows: a handler is an async fn whose arguments are extractors (`Envelope<T>`,
//! `Context`, `State<S>`); `StreamServiceBuilder` wires it to a consumer group; the producer wraps
//! payloads in envelopes (idempotent, `acks=all`); the handler's own sends through `Context` carry
//! the correlation id and name their cause. Delivery is at-least-once with dedup on the envelope
//! id: an offset is committed only after its message was handled.
//!
//! Run it with `cargo run --example quickstart`. With no `KAFKA_BOOTSTRAP_SERVERS` it runs on
//! librdkafka's in-process mock cluster (zero setup; it says so); with
//! `scripts/kafka up && export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092` it runs on a real broker.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use streamkit::Event;
use streamkit::handler::HandlerError;
use streamkit::handler::extract::{Context, Envelope, State};
use streamkit::kafka::dev_cluster::DevCluster;
use streamkit::kafka::producer::MessageProducer;
use streamkit::service::StreamServiceBuilder;
use streamkit::service::config::ServiceConfig;

#[derive(Debug, Serialize, Deserialize)]
struct TradingSignal {
    symbol: String,
    side: String,
    quantity: u32,
    price: Decimal,
}

impl Event for TradingSignal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

#[derive(Debug, Serialize, Deserialize)]
struct ValidatedSignal {
    symbol: String,
    quantity: u32,
}

impl Event for ValidatedSignal {
    const EVENT_TYPE: &'static str = "validated_signal";
}

const SIGNALS: usize = 5;

/// Counts what the handler saw, shared across partitions.
#[derive(Clone, Default)]
struct Seen(Arc<AtomicUsize>);

/// The handler: validate a raw signal and publish it on the same broker's `signals.validated`.
async fn validate(
    Envelope(signal): Envelope<TradingSignal>,
    ctx: Context,
    State(seen): State<Seen>,
) -> Result<(), HandlerError> {
    let s = &signal.data;
    println!(
        "handled  {} {} {} {} @ {} (broker {}, partition {}, offset {})",
        signal.id,
        s.side,
        s.quantity,
        s.symbol,
        s.price,
        ctx.broker(),
        ctx.partition(),
        ctx.offset()
    );
    let out = ctx.topic_on_same_broker(&validated_suffix())?;
    let id = ctx
        .send(
            &out,
            &ValidatedSignal {
                symbol: s.symbol.clone(),
                quantity: s.quantity,
            },
        )
        .await?;
    println!("         -> {id} on {out} (caused by {})", signal.id);
    seen.0.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// Topics of this run (unique, so reruns against a real broker start clean).
fn run_tag() -> String {
    format!("quickstart-{}", std::process::id())
}
fn validated_suffix() -> String {
    format!("{}.validated", run_tag())
}

#[tokio::main]
async fn main() -> streamkit::Result<()> {
    let cluster = DevCluster::from_env()?;
    println!("{}", cluster.describe());
    let raw = format!("paper.{}.raw", run_tag());
    let validated = format!("paper.{}", validated_suffix());
    cluster.create_topics(&[&raw, &validated], 3).await?;

    let seen = Seen::default();
    let service =
        StreamServiceBuilder::new("quickstart", ServiceConfig::with_kafka(cluster.config()))
            .add_producer()
            .with_state(seen.clone())
            .add_consumer_handler(&[&raw], "quickstart.signals", validate)
            .build()?;
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());

    let producer = MessageProducer::new(&cluster.config(), "strategy")?;
    for i in 0..SIGNALS {
        let signal = TradingSignal {
            symbol: ["RELIANCE", "TCS", "INFY"][i % 3].into(),
            side: if i % 2 == 0 { "BUY" } else { "SELL" }.into(),
            quantity: 10 * (i as u32 + 1),
            price: Decimal::new(245_055 + i as i64, 2),
        };
        let id = producer.send(&raw, &signal.symbol, &signal).await?;
        println!(
            "sent     {id} {} {} {} @ {}",
            signal.side, signal.quantity, signal.symbol, signal.price
        );
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.0.load(Ordering::SeqCst) < SIGNALS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "quickstart: not every signal was handled within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.shutdown();
    let report = running.await.expect("service task")?;
    let _ = producer.shutdown(Duration::from_secs(5)).await;
    for (group, r) in &report.groups {
        println!(
            "done: group {group}: {} handled, {} dead-lettered, {} commits; producer undelivered {}",
            r.stats.handled, r.stats.dead_lettered, r.stats.commits, report.undelivered
        );
    }
    Ok(())
}
