//! The trading pipeline: five services of a small trading system, for two trading brokers
//! (`paper` and `zerodha`) at once.
//!
//! ```text
//! market feed ─► <broker>.market.ticks ─► strategy ─► signals.raw ─► risk manager ─┬─► signals.validated ─► trading engine
//!                                                                                  └─► signals.rejected        │
//!                     portfolio ◄─ orders.filled ◄─ (simulated venue) ◄─ orders.placed ◄──────────────────────┘
//!                         └─► pnl.snapshots
//! ```
//!
//! Every handler is an `async fn` with `#[stream_handler]` (in `examples/trading/`); the topics
//! are declared in `topics.toml` and checked at compile time. Delivery is at-least-once with
//! dedup on the envelope id; every event carries the tick's correlation id, and its cause.
//!
//! Run: `cargo run --example trading_pipeline [-- --ticks N]` (default 300 ticks per broker). With
//! no `KAFKA_BOOTSTRAP_SERVERS` it runs on librdkafka's in-process mock cluster and says so; with
//! it (e.g. after `scripts/kafka up`), on a real broker. It ends by itself once every event has
//! been handled and prints a summary read back from the topics. Each service also runs alone as
//! its own process: `cargo run --example risk_manager` (and `strategy`, `trading_engine`,
//! `portfolio`, `market_feed`).
//!
//! `STREAMKIT_ASYNCAPI=asyncapi.json cargo run --example trading_pipeline` writes the AsyncAPI
//! document of the whole pipeline instead, without a broker.

#[allow(dead_code)]
#[path = "trading/mod.rs"]
mod trading;

use std::time::Instant;

use streamkit::kafka::dev_cluster::DevCluster;
use trading::pipeline::BROKERS;

fn ticks_from_args() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--ticks")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .or_else(|| std::env::var("STREAMKIT_TICKS").ok()?.parse().ok())
        .unwrap_or(300)
}

#[tokio::main]
async fn main() -> streamkit::Result<()> {
    if let Some(path) = streamkit::service::asyncapi::startup::requested() {
        let handlers: Vec<_> = streamkit::service::registry::registered()
            .map(|entry| (entry.make)())
            .collect();
        let catalog = include_str!("../topics.toml");
        return streamkit::service::asyncapi::startup::write(
            "trading-pipeline",
            Some(catalog),
            &handlers,
            &path,
        );
    }
    let started = Instant::now();
    let cluster = DevCluster::from_env()?;
    println!("{}", cluster.describe());
    let outcome = trading::pipeline::run(&cluster, ticks_from_args(), true).await?;
    for (group, r) in &outcome.report.groups {
        println!(
            "  group {group:<24} handled {:>5}  dead-lettered {:>3}  duplicates {:>3}",
            r.stats.handled, r.stats.dead_lettered, r.stats.deduplicated
        );
    }
    outcome.summary.print(&BROKERS);
    println!("\nfinished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
