//! Idempotence through a broker outage: a broker of this test's own is stopped for ~10 s in the
//! middle of a stream of sends and started again on the same data; every message arrives exactly
//! once (the idempotent producer's retries write no duplicates).

use std::collections::HashSet;
use std::time::Duration;

use rdkafka::Message;
use serde::{Deserialize, Serialize};
use stream_core::envelope::codec;
use stream_core::kafka::config::KafkaConfig;
use stream_core::kafka::producer::MessageProducer;
use stream_core::{Event, testing};

#[derive(Debug, Serialize, Deserialize)]
struct OrderPlaced {
    seq: u64,
}

impl Event for OrderPlaced {
    const EVENT_TYPE: &'static str = "order_placed";
}

const N: u64 = 3_000;
const PORT: &str = "19392";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_for_ten_seconds_loses_and_duplicates_nothing() {
    testing::bootstrap_servers(); // fail fast with the one-line hint when run outside scripts/test
    let data = std::env::temp_dir().join(testing::unique_name("outage-broker"));
    let data = data.to_str().unwrap().to_owned();
    let bootstrap = testing::script("kafka", &["up", "--port", PORT, "--data", &data]);
    let config = KafkaConfig::new(bootstrap);
    let topic = "paper.outage.orders";
    testing::create_topics_on(&config, &[topic], 3).await;

    let producer = MessageProducer::new(&config, "outage-test").unwrap();
    let sender = {
        let producer = producer.clone();
        tokio::spawn(async move {
            let mut pending = Vec::new();
            for seq in 0..N {
                pending.push(
                    producer
                        .enqueue(topic, &format!("k{}", seq % 11), &OrderPlaced { seq })
                        .await
                        .unwrap(),
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let mut failed = 0;
            for p in pending {
                if p.await.is_err() {
                    failed += 1;
                }
            }
            failed
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let d = data.clone();
    tokio::task::spawn_blocking(move || {
        testing::script("kafka", &["down", "--port", PORT, "--data", &d])
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let d = data.clone();
    tokio::task::spawn_blocking(move || {
        testing::script("kafka", &["up", "--port", PORT, "--data", &d])
    })
    .await
    .unwrap();
    let failed = sender.await.unwrap();
    assert_eq!(failed, 0, "sends failed across the outage");
    assert!(producer.shutdown(Duration::from_secs(30)).await.is_clean());

    let records = testing::read_all_from(&config, topic).await;
    let seqs: Vec<u64> = records
        .iter()
        .map(|r| {
            codec::decode::<OrderPlaced>(r.payload().unwrap())
                .unwrap()
                .data
                .seq
        })
        .collect();
    let distinct: HashSet<u64> = seqs.iter().copied().collect();
    testing::script("kafka", &["down", "--port", PORT, "--data", &data]);
    let _ = std::fs::remove_dir_all(&data);
    assert_eq!(distinct.len() as u64, N, "messages lost");
    assert_eq!(
        seqs.len() as u64,
        N,
        "duplicates written: {}",
        seqs.len() as u64 - N
    );
}
