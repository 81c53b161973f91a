//! `streamkit tail` on the real broker: envelopes written by a Python service and by our
//! producer, and an undecodable record, shown as they are; filters; following new records.
//! The topics (`<ns>.clitail.*`) match no pattern of the example services, which other tests run
//! on the same broker.

#[path = "../support/cli.rs"]
mod cli;
#[path = "../support/python_producer.rs"]
mod python_producer;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use python_producer::{Raw, produce, signal_json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stream_core::kafka::producer::MessageProducer;
use stream_core::{Event, testing};

#[derive(Serialize, Deserialize)]
struct OrderPlaced {
    symbol: String,
    quantity: u32,
}

impl Event for OrderPlaced {
    const EVENT_TYPE: &'static str = "order_placed";
}

const PY_ID: &str = "0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11";

/// A topic of a fresh broker namespace with a Python envelope and an undecodable record on
/// partition 0 and 1, and one envelope of ours; returns the topic and our envelope's id.
async fn topic_with_three_records(broker: &str) -> (String, uuid::Uuid) {
    let topic = format!("{broker}.clitail.signals");
    testing::create_topics(&[&topic], 2).await;
    let python = signal_json(PY_ID, broker, "trading_signal", "10");
    produce(vec![
        Raw::text(&topic, "RELIANCE", 0, Some(&python)),
        Raw::text(&topic, "junk", 1, Some("{\"not\": an envelope")),
    ])
    .await;
    let producer = MessageProducer::new(&testing::kafka_config(), "cli-test").unwrap();
    let order = OrderPlaced {
        symbol: "INFY".into(),
        quantity: 5,
    };
    let ours = producer.send(&topic, "INFY", &order).await.unwrap();
    (topic, ours)
}

fn envelope_field<'a>(line: &'a Value, field: &str) -> Option<&'a Value> {
    line.get("envelope")?.get(field)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_shows_every_record_decoded_or_as_undecodable() {
    let broker = cli::unique_broker();
    let (topic, ours) = topic_with_three_records(&broker).await;
    let catalog = cli::catalog_file("brokers = [\"paper\"]\n");

    let run = cli::run(
        &catalog,
        &["tail", &topic, "--from-beginning", "--no-follow", "--json"],
    )
    .expect_code(0);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    let python = lines
        .iter()
        .find(|l| envelope_field(l, "id").and_then(Value::as_str) == Some(PY_ID))
        .expect("the Python envelope");
    assert_eq!(envelope_field(python, "source").unwrap(), "py-strategy");
    assert_eq!(python["key"], "RELIANCE");
    assert_eq!(python["partition"], 0);
    let mine = lines
        .iter()
        .find(|l| envelope_field(l, "id").and_then(Value::as_str) == Some(&ours.to_string()))
        .expect("our envelope");
    assert_eq!(envelope_field(mine, "event_type").unwrap(), "order_placed");
    assert_eq!(envelope_field(mine, "data").unwrap()["symbol"], "INFY");
    let junk = lines
        .iter()
        .find(|l| l["undecodable"] == true)
        .expect("the undecodable one");
    assert_eq!(junk["key"], "junk");
    assert!(
        junk["value"].as_str().unwrap().contains("an envelope"),
        "{junk}"
    );
    assert!(junk["error"].as_str().is_some_and(|e| !e.is_empty()));

    // Text for people: one line each, the undecodable one marked.
    let text = cli::run(
        &catalog,
        &["tail", &topic, "--from-beginning", "--no-follow"],
    )
    .expect_code(0);
    assert_eq!(text.stdout.lines().count(), 3, "{}", text.stdout);
    assert!(
        text.stdout
            .contains(&format!("{topic}/1@0 key=junk UNDECODABLE")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!("trading_signal id={PY_ID}")),
        "{}",
        text.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_filters_and_starts_where_asked() {
    let broker = cli::unique_broker();
    let (topic, ours) = topic_with_three_records(&broker).await;
    let catalog = cli::catalog_file("brokers = [\"paper\"]\n");
    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["tail", topic.as_str(), "--no-follow", "--json"];
        all.extend_from_slice(args);
        cli::run(&catalog, &all)
            .expect_code(0)
            .json_lines()
            .iter()
            .map(|l| match envelope_field(l, "id") {
                Some(id) => id.as_str().unwrap().to_owned(),
                None => "undecodable".to_owned(),
            })
            .collect()
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(ids(&["--from-beginning", "--key", "RELIANCE"]), [PY_ID]);
    // An undecodable record has no event type or correlation id: it is shown, never hidden.
    assert_eq!(
        sorted(ids(&["--from-beginning", "--event-type", "order_placed"])),
        sorted(vec![ours.to_string(), "undecodable".into()])
    );
    assert_eq!(
        sorted(ids(&["--from-beginning", "--correlation", PY_ID])),
        sorted(vec![PY_ID.to_owned(), "undecodable".into()])
    );
    assert_eq!(ids(&["--from-beginning", "--limit", "1"]).len(), 1);
    // Offset 0 of each partition holds the Python envelope or the undecodable record, and our
    // envelope follows one of them: offset 1 on every partition is ours alone.
    assert_eq!(ids(&["--offset", "1"]), [ours.to_string()]);
    assert_eq!(ids(&["--since", "1h"]).len(), 3);
    assert!(ids(&[]).is_empty(), "the default start is the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_follows_new_records_of_a_pattern() {
    let broker = cli::unique_broker();
    let topics = [
        format!("{broker}.clitail.signals"),
        format!("{broker}.clitail.orders"),
    ];
    testing::create_topics(&[&topics[0], &topics[1]], 1).await;
    let catalog = cli::catalog_file("brokers = [\"paper\"]\n");
    let mut child = cli::streamkit(&catalog)
        .args(["tail", &format!("{broker}.clitail.*"), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut note = String::new();
    stderr.read_line(&mut note).unwrap();
    assert!(
        note.contains("reading 2 partition(s) of 2 topic(s) until Ctrl-C"),
        "{note}"
    );

    let producer = MessageProducer::new(&testing::kafka_config(), "cli-test").unwrap();
    let order = OrderPlaced {
        symbol: "TCS".into(),
        quantity: 1,
    };
    let mut sent = Vec::new();
    for topic in &topics {
        sent.push(
            producer
                .send(topic, "TCS", &order)
                .await
                .unwrap()
                .to_string(),
        );
    }
    let stdout = child.stdout.take().unwrap();
    let seen = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .take(2)
                .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
                .collect::<Vec<_>>()
        }),
    )
    .await
    .expect("tail printed both new records within 30 s")
    .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let mut seen: Vec<String> = seen
        .iter()
        .map(|l| {
            envelope_field(l, "id")
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    seen.sort();
    sent.sort();
    assert_eq!(seen, sent);
}
