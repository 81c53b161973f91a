//! The foundation's proof that the test broker is a real Kafka with real group commits:
//! 1,000 keyed messages to a 3-partition topic, consumed in a group with manual commits; a second
//! consumer in the same group, started after the first one left, gets nothing again, and together
//! they saw every message once.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use stream_core::testing;

const COUNT: usize = 1_000;

fn consumer(group: &str) -> StreamConsumer {
    testing::kafka_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .to_client_config()
        .create()
        .expect("consumer")
}

/// Reads until `want` messages arrived or `idle` passed without any, committing each one
/// synchronously; returns (key, value) pairs.
async fn consume(c: &StreamConsumer, want: usize, idle: Duration) -> Vec<(String, String)> {
    let mut got = Vec::new();
    let mut last = Instant::now();
    while got.len() < want && last.elapsed() < idle {
        match tokio::time::timeout(Duration::from_millis(250), c.recv()).await {
            Err(_) => continue,
            Ok(msg) => {
                let msg = msg.expect("recv");
                let key = String::from_utf8(msg.key().unwrap().to_vec()).unwrap();
                let value = String::from_utf8(msg.payload().unwrap().to_vec()).unwrap();
                c.commit_message(&msg, CommitMode::Sync).expect("commit");
                got.push((key, value));
                last = Instant::now();
            }
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_messages_are_not_redelivered_after_restart() {
    let topic = testing::unique_topic("paper", "foundation", "roundtrip");
    let group = testing::unique_name("foundation");
    testing::create_topic(&topic, 3).await;

    let producer: FutureProducer = testing::kafka_config()
        .set("enable.idempotence", "true")
        .to_client_config()
        .create()
        .unwrap();
    let sends = (0..COUNT).map(|i| {
        let producer = &producer;
        let topic = &topic;
        async move {
            let key = format!("key-{}", i % 37);
            let value = format!("msg-{i}");
            producer
                .send(
                    FutureRecord::to(topic).key(&key).payload(&value),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|(e, _)| e)
        }
    });
    for r in futures::future::join_all(sends).await {
        r.expect("delivered");
    }

    // First consumer: reads half and commits each one, then leaves the group.
    let first = consumer(&group);
    first.subscribe(&[&topic]).unwrap();
    let part1 = consume(&first, COUNT / 2, Duration::from_secs(30)).await;
    assert_eq!(part1.len(), COUNT / 2);
    first.unsubscribe();
    drop(first);

    // Restarted consumer in the same group: must get exactly the rest.
    let second = consumer(&group);
    second.subscribe(&[&topic]).unwrap();
    let part2 = consume(&second, COUNT, Duration::from_secs(10)).await;

    let all: Vec<_> = part1.iter().chain(&part2).collect();
    let values: HashSet<&str> = all.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(all.len(), COUNT, "re-delivered or missing messages");
    assert_eq!(values.len(), COUNT, "a message was delivered twice");
    let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, _) in &all {
        *per_key.entry(k.as_str()).or_default() += 1;
    }
    assert_eq!(per_key.len(), 37);
    for (k, n) in per_key {
        let idx: usize = k.trim_start_matches("key-").parse().unwrap();
        let expected = (0..COUNT).filter(|i| i % 37 == idx).count();
        assert_eq!(n, expected, "key {k}");
    }
    testing::delete_topics(&[&topic]).await;
}
