//! A commit the broker refuses is counted, never silent: the consumer's topic is deleted while
//! it still has finished messages to commit, and `commit_failures` counts the refusals (real
//! broker).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::{Event, testing};

#[derive(Debug, Serialize, Deserialize)]
struct Tick {
    seq: u64,
}

impl Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_refused_by_the_broker_are_counted() {
    let topic = testing::unique_topic("paper", "commits", "ticks");
    testing::create_topic(&topic, 1).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "commit-failures").unwrap();
    for seq in 0..40 {
        producer.send(&topic, "k", &Tick { seq }).await.unwrap();
    }
    let consumer = MessageConsumer::new(&config, &[&topic], &testing::unique_name("commits"))
        .unwrap()
        .producer(producer)
        .no_dedup()
        .commit_every(1);
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let run = tokio::spawn(consumer.run(|_msg: Arc<Incoming>| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<(), HandlerError>(())
    }));
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.snapshot().handled < 3 {
        assert!(Instant::now() < deadline, "{:?}", stats.snapshot());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    testing::delete_topics(&[&topic]).await;
    while stats.snapshot().commit_failures == 0 {
        assert!(
            Instant::now() < deadline,
            "no refused commit counted: {:?}",
            stats.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert!(report.stats.commit_failures > 0, "{:?}", report.stats);
}
