//! Quickstart: publish a few trading signals and consume them back in a consumer group.
//!
//! What it shows: a [`MessageProducer`] wrapping payloads in envelopes (idempotent, `acks=all`),
//! and a [`MessageConsumer`] that decodes them, hands them to a handler, and commits each offset
//! only after its message was handled (at-least-once, deduplicated on the envelope id).
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
use streamkit::consumer::MessageConsumer;
use streamkit::dev_cluster::DevCluster;
use streamkit::handler::{HandlerError, Incoming};
use streamkit::producer::MessageProducer;

#[derive(Debug, Serialize, Deserialize)]
struct TradingSignal {
    strategy: String,
    symbol: String,
    side: String,
    quantity: u32,
    price: Decimal,
}

impl Event for TradingSignal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

const SIGNALS: usize = 5;

#[tokio::main]
async fn main() -> streamkit::Result<()> {
    let cluster = DevCluster::from_env()?;
    println!("{}", cluster.describe());
    let topic = format!("paper.quickstart-{}.signals", std::process::id());
    cluster.create_topics(&[&topic], 3).await?;
    let config = cluster.config();

    let producer = MessageProducer::new(&config, "quickstart")?;
    for i in 0..SIGNALS {
        let signal = TradingSignal {
            strategy: "mean-reversion".into(),
            symbol: ["RELIANCE", "TCS", "INFY"][i % 3].into(),
            side: if i % 2 == 0 { "BUY" } else { "SELL" }.into(),
            quantity: 10 * (i as u32 + 1),
            price: Decimal::new(245_055 + i as i64, 2),
        };
        let id = producer.send(&topic, &signal.symbol, &signal).await?;
        println!(
            "sent     {id} {} {} {} @ {}",
            signal.side, signal.quantity, signal.symbol, signal.price
        );
    }

    let consumer = MessageConsumer::new(&config, &[&topic], "quickstart.signals")?
        .service("quickstart")
        .producer(producer.clone());
    let stop = consumer.shutdown_handle();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let report = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let counter = Arc::clone(&counter);
        let stop = stop.clone();
        async move {
            let signal = msg.typed::<TradingSignal>()?;
            println!(
                "received {} {} {} {} @ {} (broker {}, partition {}, offset {})",
                signal.id,
                signal.data.side,
                signal.data.quantity,
                signal.data.symbol,
                signal.data.price,
                msg.record.broker,
                msg.record.partition,
                msg.record.offset
            );
            if counter.fetch_add(1, Ordering::SeqCst) + 1 == SIGNALS {
                stop.shutdown();
            }
            Ok::<(), HandlerError>(())
        }
    }));
    let report = tokio::time::timeout(Duration::from_secs(60), report)
        .await
        .expect("the quickstart consumer did not finish within 60 s")
        .expect("consumer task")?;
    println!(
        "done: {} sent, {} handled, {} commits, unfinished {:?}",
        SIGNALS, report.stats.handled, report.stats.commits, report.unfinished
    );
    let _ = producer.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
