//! Graceful shutdown: in-flight handlers finish within the deadline and their offsets are
//! committed; a handler still running at the deadline is reported and its offset is not committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::{Event, testing};

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    seq: u64,
}

impl Event for Order {
    const EVENT_TYPE: &'static str = "order_placed";
}

async fn publish(topic: &str, n: u64) -> MessageProducer {
    let producer = MessageProducer::new(&testing::kafka_config(), "shutdown-test").unwrap();
    for seq in 0..n {
        producer
            .send(topic, "one-key", &Order { seq })
            .await
            .unwrap();
    }
    producer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_handler_finishes_and_is_committed() {
    let topic = testing::unique_topic("paper", "shutdown", "orders");
    let group = testing::unique_name("shutdown");
    testing::create_topic(&topic, 1).await;
    let producer = publish(&topic, 3).await;
    let consumer = MessageConsumer::new(&testing::kafka_config(), &[&topic], &group)
        .unwrap()
        .service("shutdown-test")
        .shutdown_timeout(Duration::from_secs(10));
    let stop = consumer.shutdown_handle();
    let started = Arc::new(AtomicU64::new(0));
    let s = Arc::clone(&started);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let started = Arc::clone(&s);
        async move {
            let seq = msg.typed::<Order>()?.data.seq;
            started.fetch_add(1, Ordering::SeqCst);
            if seq == 1 {
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
            Ok::<(), HandlerError>(())
        }
    }));
    testing::wait_until(Duration::from_secs(30), "the slow handler to start", || {
        let n = started.load(Ordering::SeqCst);
        async move { n >= 2 }
    })
    .await;
    let asked = Instant::now();
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert!(asked.elapsed() < Duration::from_secs(10));
    assert!(report.unfinished.is_empty());
    // Offsets 0 and 1 finished; 2 was never started after the shutdown request.
    let committed = testing::committed_offsets(&group, &topic).await;
    assert_eq!(committed[&0], Some(2));
    assert_eq!(report.stats.handled, 2);
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_past_the_deadline_is_reported_and_not_committed() {
    let topic = testing::unique_topic("paper", "shutdown", "stuck");
    let group = testing::unique_name("shutdown");
    testing::create_topic(&topic, 1).await;
    let producer = publish(&topic, 2).await;
    let consumer = MessageConsumer::new(&testing::kafka_config(), &[&topic], &group)
        .unwrap()
        .service("shutdown-test")
        .shutdown_timeout(Duration::from_millis(500));
    let stop = consumer.shutdown_handle();
    let started = Arc::new(AtomicU64::new(0));
    let s = Arc::clone(&started);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let started = Arc::clone(&s);
        async move {
            let seq = msg.typed::<Order>()?.data.seq;
            started.fetch_add(1, Ordering::SeqCst);
            if seq == 1 {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Ok::<(), HandlerError>(())
        }
    }));
    testing::wait_until(
        Duration::from_secs(30),
        "the stuck handler to start",
        || {
            let n = started.load(Ordering::SeqCst);
            async move { n >= 2 }
        },
    )
    .await;
    let asked = Instant::now();
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        asked.elapsed()
    );
    assert_eq!(report.unfinished, vec![(topic.clone(), 0, 1)]);
    let committed = testing::committed_offsets(&group, &topic).await;
    assert_eq!(
        committed[&0],
        Some(1),
        "the stuck message must be delivered again"
    );
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}
