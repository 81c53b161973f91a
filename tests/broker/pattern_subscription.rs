//! A `*` pattern is a regex subscription: a topic created after the consumer started, that matches,
//! is picked up within the metadata refresh interval; a topic that does not match (its dead-letter
//! topic, another domain) is not.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::{Event, testing};

#[derive(Debug, Serialize, Deserialize)]
struct Tick {
    n: u32,
}

impl Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_created_later_that_match_are_picked_up() {
    let domain = testing::unique_name("patterns");
    let early = format!("paper.{domain}.early");
    let late = format!("zerodha.{domain}.late");
    let other = format!("paper.{domain}-other.early");
    let deeper = format!("paper.{domain}.early.dlq");
    testing::create_topics(&[&early, &other, &deeper], 1).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "pattern-test").unwrap();

    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let pattern = format!("*.{domain}.*");
    let consumer = MessageConsumer::new(
        &testing::kafka_config(),
        &[&pattern],
        &testing::unique_name("patterns"),
    )
    .unwrap()
    .producer(producer.clone())
    .metadata_refresh(Duration::from_secs(1));
    let stop = consumer.shutdown_handle();
    let s = Arc::clone(&seen);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let seen = Arc::clone(&s);
        async move {
            seen.lock().unwrap().insert(msg.record.topic.to_string());
            Ok::<(), HandlerError>(())
        }
    }));

    producer.send(&early, "k", &Tick { n: 1 }).await.unwrap();
    producer.send(&other, "k", &Tick { n: 2 }).await.unwrap();
    producer.send(&deeper, "k", &Tick { n: 3 }).await.unwrap();
    testing::wait_until(Duration::from_secs(30), "the early topic", || {
        let has = seen.lock().unwrap().contains(&early);
        async move { has }
    })
    .await;

    // Created while the consumer runs.
    testing::create_topic(&late, 1).await;
    producer.send(&late, "k", &Tick { n: 4 }).await.unwrap();
    testing::wait_until(Duration::from_secs(30), "the topic created later", || {
        let has = seen.lock().unwrap().contains(&late);
        async move { has }
    })
    .await;
    stop.shutdown();
    run.await.unwrap().unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, HashSet::from([early, late]), "only matching topics");
}
