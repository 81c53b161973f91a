//! `streamkit groups` on the real broker: a service's group, stopped, shows per partition the
//! offset it committed, the end offset and the lag of what was written after it stopped.

#[path = "../support/cli.rs"]
mod cli;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::{Event, MessageProducer, testing};

use cli::Run;

const PARTITIONS: i32 = 2;

#[derive(Debug, Serialize, Deserialize)]
struct Fill {
    seq: u32,
}

impl Event for Fill {
    const EVENT_TYPE: &'static str = "order_filled";
}

async fn streamkit(catalog: &Path, args: &[&str]) -> Run {
    let catalog = catalog.to_owned();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli::run(&catalog, &args)
    })
    .await
    .expect("the command's task")
}

async fn publish(topic: &str, seqs: std::ops::Range<u32>) {
    let producer = MessageProducer::new(&testing::kafka_config(), "cli-groups-test").unwrap();
    for seq in seqs {
        let key = format!("order-{seq}");
        producer.send(topic, &key, &Fill { seq }).await.unwrap();
    }
}

/// Each partition's end offset.
async fn ends(topic: &str) -> HashMap<i32, i64> {
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let client: BaseConsumer = testing::kafka_config().to_client_config().create().unwrap();
        (0..PARTITIONS)
            .map(|p| {
                let (_, high) = client
                    .fetch_watermarks(&topic, p, Duration::from_secs(10))
                    .unwrap();
                (p, high)
            })
            .collect()
    })
    .await
    .unwrap()
}

/// Runs a service in `group` until it has handled `count` records, then stops it.
async fn consume_then_stop(topic: &str, group: &str, count: u64) {
    let consumer = MessageConsumer::new(&testing::kafka_config(), &[topic], group)
        .unwrap()
        .service("cli-groups-test");
    let (stop, stats) = (consumer.shutdown_handle(), consumer.stats());
    let run =
        tokio::spawn(consumer.run(|_msg: Arc<Incoming>| async { Ok::<(), HandlerError>(()) }));
    testing::wait_until(Duration::from_secs(60), "all handled", || {
        let s = stats.snapshot();
        async move { s.handled >= count }
    })
    .await;
    stop.shutdown();
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_shows_the_lag_of_a_stopped_service() {
    let broker = cli::unique_broker();
    let catalog = cli::catalog_file(&format!(
        "brokers = [\"{broker}\"]\n[topics.\"cligroups.fills\"]\nevent = \"order_filled\"\n\
         partitions = {PARTITIONS}\n"
    ));
    let topic = format!("{broker}.cligroups.fills");
    testing::create_topic(&topic, PARTITIONS).await;
    let group = testing::unique_name("cli-groups");

    publish(&topic, 0..20).await;
    consume_then_stop(&topic, &group, 20).await;
    let committed = ends(&topic).await;
    wait_for_commits(&group, &topic, &committed).await;
    publish(&topic, 20..27).await;
    let end = ends(&topic).await;

    let run = streamkit(&catalog, &["--json", "groups", &group]).await;
    let rows = run.expect_code(0).json_lines();
    assert_eq!(rows.len(), PARTITIONS as usize, "{rows:?}");
    let mut lag = 0;
    for row in &rows {
        let p = row["partition"].as_i64().unwrap() as i32;
        assert_eq!(
            (&row["group"], &row["topic"]),
            (&group.as_str().into(), &topic.as_str().into())
        );
        let stopped = "a stopped service's group has no members";
        assert_eq!(
            (&row["state"], &row["members"]),
            (&"Empty".into(), &0.into()),
            "{stopped}"
        );
        assert_eq!(row["committed"], committed[&p]);
        assert_eq!(row["end"], end[&p]);
        assert_eq!(row["lag"], end[&p] - committed[&p]);
        lag += row["lag"].as_i64().unwrap();
    }
    assert_eq!(lag, 7, "the records written after it stopped");

    let all = streamkit(&catalog, &["groups"]).await.expect_code(0);
    let ours = all.stdout.lines().filter(|l| l.starts_with(&group)).count();
    assert_eq!(ours, PARTITIONS as usize, "{}", all.stdout);
    assert!(all.stdout.starts_with("GROUP"), "{}", all.stdout);

    let missing = streamkit(&catalog, &["groups", "no-such-group-anywhere"]).await;
    let missing = missing.expect_code(2);
    assert!(
        missing.stderr.contains("no committed offset"),
        "{}",
        missing.stderr
    );
}

/// Waits until `group` has committed `offsets` (partition to offset) on `topic`.
async fn wait_for_commits(group: &str, topic: &str, offsets: &HashMap<i32, i64>) {
    testing::wait_until(Duration::from_secs(30), "the offsets committed", || async {
        let now = testing::committed_offsets(group, topic).await;
        offsets
            .iter()
            .all(|(p, end)| now.get(p).copied().flatten() == Some(*end))
    })
    .await;
}
