//! `streamkit trace` on the real broker: the chain of one tick of the trading pipeline example,
//! tick → signal → validated signal → order → fill → P&L snapshot, each under its cause.

#[path = "../support/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../../examples/trading/mod.rs"]
mod trading;

use serde_json::Value;
use stream_core::kafka::dev_cluster::DevCluster;
use stream_core::testing;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_prints_the_chain_of_a_fill() {
    testing::bootstrap_servers(); // the real broker, never the mock cluster
    let started = chrono::Utc::now() - chrono::Duration::seconds(5);
    let cluster = DevCluster::from_env().unwrap();
    let outcome = trading::pipeline::run(&cluster, 60, false).await.unwrap();
    let fill = outcome
        .summary
        .events("paper.orders.filled")
        .first()
        .expect("the pipeline filled an order on paper")
        .clone();
    let correlation = fill.correlation_id.to_string();
    let catalog = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("topics.toml");
    let since = started.to_rfc3339();

    let run = cli::run(
        &catalog,
        &["trace", &correlation, "--since", &since, "--json"],
    )
    .expect_code(0);
    let lines = run.json_lines();
    let hop = |line: &Value| {
        let topic = line["topic"].as_str().unwrap();
        (
            line["depth"].as_u64().unwrap(),
            topic.split_once('.').unwrap().1.to_owned(),
        )
    };
    let chain: Vec<(u64, String)> = lines.iter().map(hop).collect();
    for (depth, name) in [
        (0, "market.ticks"),
        (1, "signals.raw"),
        (2, "signals.validated"),
        (3, "orders.placed"),
        (4, "orders.filled"),
        (5, "pnl.snapshots"),
    ] {
        assert!(
            chain.contains(&(depth, name.to_owned())),
            "no {name} at depth {depth}: {chain:?}"
        );
    }
    for line in &lines {
        assert_eq!(line["envelope"]["correlation_id"], correlation.as_str());
        assert_eq!(line["envelope"]["broker"], "paper");
        if line["depth"] != 0 {
            assert!(
                line["hop_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
                "{line}"
            );
        }
    }
    assert!(
        lines
            .iter()
            .any(|l| l["envelope"]["id"] == fill.id.to_string())
    );

    // Text: the root first, each hop indented under its cause with the time since it.
    let text = cli::run(&catalog, &["trace", &correlation, "--since", &since]).expect_code(0);
    let first = text.stdout.lines().next().unwrap();
    assert!(
        first.contains("paper.market.ticks/") && first.contains(&format!("id={correlation}")),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("└─ +"), "{}", text.stdout);

    // An unknown chain is exit 1 with a message.
    let none = uuid::Uuid::now_v7().to_string();
    let missing = cli::run(&catalog, &["trace", &none, "--since", &since]).expect_code(1);
    assert!(
        missing.stderr.contains("no envelope of correlation id"),
        "{}",
        missing.stderr
    );
}
