//! Runs the whole pipeline in one process: every `#[stream_handler]` of the five services, the
//! market feed, and a wait until everything was handled; returns the summary read back from the
//! topics.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use streamkit::kafka::dev_cluster::DevCluster;
use streamkit::kafka::producer::MessageProducer;
use streamkit::service::config::ServiceConfig;
use streamkit::service::{ServiceReport, StreamServiceBuilder};
use streamkit::topic::Catalog;

use super::summary::Summary;

/// The trading brokers the pipeline runs for.
pub const BROKERS: [&str; 2] = ["paper", "zerodha"];

/// What a run produced.
pub struct Outcome {
    pub summary: Summary,
    pub report: ServiceReport,
    /// P&L books as the portfolio service kept them.
    pub books: super::portfolio::Books,
    pub ticks: usize,
}

/// A line redrawn in place on a terminal; on a file or pipe nothing is drawn (its last message
/// is printed once when it finishes), so a log gets no `\r` or escape codes.
fn live_line(live: bool) -> ProgressBar {
    if !live {
        return ProgressBar::hidden();
    }
    let line = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
    line.set_style(ProgressStyle::with_template("  {msg}").expect("a valid template"));
    line
}

/// Ends a live line: a terminal keeps its last state, anything else gets it printed once.
fn finish_line(line: &ProgressBar, live: bool) {
    if live && line.is_hidden() {
        println!("  {}", line.message());
    }
    line.finish();
}

/// Runs the pipeline on `cluster` for `ticks` ticks per broker; `live` shows progress.
pub async fn run(cluster: &DevCluster, ticks: u64, live: bool) -> streamkit::Result<Outcome> {
    let started = Instant::now();
    let catalog = Catalog::parse(include_str!("../../topics.toml")).map_err(|e| {
        streamkit::Error::Config {
            key: "topics.toml".into(),
            message: e.to_string(),
        }
    })?;
    for spec in catalog.topics() {
        let names: Vec<String> = BROKERS
            .iter()
            .map(|b| format!("{b}.{}", spec.name()))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        cluster.create_topics(&refs, spec.partitions()).await?;
    }

    let books = super::portfolio::Books::default();
    let mut config = ServiceConfig::with_kafka(cluster.config());
    config.commit_interval = Duration::from_millis(200);
    // `STREAMKIT_HEALTH_PORT=9464` serves /metrics and the health probes while it runs.
    config.health_port = std::env::var("STREAMKIT_HEALTH_PORT")
        .ok()
        .and_then(|p| p.trim().parse().ok());
    match config.health_port {
        Some(port) => println!(
            "metrics: http://127.0.0.1:{port}/metrics (probes: /health/live, /health/ready)"
        ),
        None => println!("metrics: not served (set STREAMKIT_HEALTH_PORT to serve /metrics)"),
    }
    let mut builder = StreamServiceBuilder::new("trading-pipeline", config)
        .add_producer()
        .with_catalog(catalog)
        .with_state(super::strategy::LastPrices::default())
        .with_state(super::risk_manager::Exposure::default())
        .with_state(books.clone());
    for entry in streamkit::service::registry::registered() {
        builder = builder.add_handler((entry.make)());
    }
    let service = builder.build()?;
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());

    let producer = MessageProducer::new(&cluster.config(), "market-feed")?;
    let feed_line = live_line(live);
    let ids = super::market_feed::run(&producer, &BROKERS, ticks, |broker, n| {
        feed_line.set_message(format!("feed: {broker:<8} {n}/{ticks} ticks"));
    })
    .await?;
    finish_line(&feed_line, live);

    // Wait until every group handled all it received and nothing moved for a second.
    let mut stable_since = Instant::now();
    let mut last = Vec::new();
    let handled_line = live_line(live);
    loop {
        let stats = handle.stats();
        if live {
            let fills: Vec<String> = {
                let books = books.0.lock().unwrap();
                BROKERS
                    .iter()
                    .map(|b| format!("{b}: {:>4} fills", books.get(*b).map_or(0, |bk| bk.fills)))
                    .collect()
            };
            let (done, seen) = stats.iter().fold((0, 0), |(d, r), (_, s)| {
                (
                    d + s.handled + s.dead_lettered + s.deduplicated,
                    r + s.received,
                )
            });
            handled_line.set_message(format!(
                "{}   events handled {done}/{seen}",
                fills.join("   ")
            ));
        }
        let settled = stats.iter().all(|(_, s)| {
            s.received > 0 && s.received == s.handled + s.dead_lettered + s.deduplicated
        });
        if stats != last {
            stable_since = Instant::now();
            last = stats;
        }
        if settled && stable_since.elapsed() > Duration::from_secs(1) {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            handled_line.suspend(|| {
                eprintln!("  the pipeline did not settle within 120 s; stopping");
            });
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    finish_line(&handled_line, live);
    handle.shutdown();
    let report = running.await.map_err(|e| streamkit::Error::Config {
        key: "service".into(),
        message: e.to_string(),
    })??;
    let _ = producer.shutdown(Duration::from_secs(10)).await;

    let ticks_of_run: HashSet<_> = ids.iter().copied().collect();
    let summary = Summary::read(&cluster.config(), &BROKERS, &ticks_of_run).await;
    Ok(Outcome {
        summary,
        report,
        books,
        ticks: ids.len(),
    })
}
