//! The market feed of the trading pipeline, alone in its own process: publishes synthetic ticks to
//! `paper.market.ticks` and `zerodha.market.ticks`, then exits.
//!
//! ```sh
//! scripts/kafka up && export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092
//! cargo run --example market_feed -- --ticks 1000
//! ```
//!
//! With no `KAFKA_BOOTSTRAP_SERVERS` it publishes to librdkafka's in-process mock cluster (and the
//! ticks vanish with it).

// Only the modules of this service; the other services share the events module.
#[allow(dead_code)]
mod trading {
    pub mod events;
    pub mod market_feed;
}

use std::time::Duration;

use streamkit::kafka::dev_cluster::DevCluster;
use streamkit::kafka::producer::MessageProducer;

#[tokio::main]
async fn main() -> streamkit::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let ticks = args
        .iter()
        .position(|a| a == "--ticks")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(300);
    let cluster = DevCluster::from_env()?;
    println!("{}", cluster.describe());
    let brokers = ["paper", "zerodha"];
    let topics: Vec<String> = brokers
        .iter()
        .map(|b| format!("{b}.market.ticks"))
        .collect();
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    cluster.create_topics(&refs, 3).await?;
    let producer = MessageProducer::new(&cluster.config(), "market-feed")?;
    let ids = trading::market_feed::run(&producer, &brokers, ticks, |_, _| {}).await?;
    let report = producer.shutdown(Duration::from_secs(10)).await;
    println!(
        "published {} ticks ({} undelivered)",
        ids.len(),
        report.undelivered
    );
    Ok(())
}
