//! Effectively once: the same 1,000 envelopes published twice are handled once, and the 1,000
//! duplicates are counted, with the in-memory store and with the Redis store (real redis-server).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::envelope::EventEnvelope;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::reliability::dedup::DedupStore;
use stream_core::reliability::dedup::memory::MemoryDedupStore;
use stream_core::reliability::dedup::redis::RedisDedupStore;
use stream_core::topic::Broker;
use stream_core::{Event, testing};

const COUNT: usize = 1_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderFilled {
    order: u64,
}

impl Event for OrderFilled {
    const EVENT_TYPE: &'static str = "order_filled";
}

async fn published_twice_handled_once(store: Arc<dyn DedupStore>) {
    let topic = testing::unique_topic("zerodha", "dedup", "fills");
    testing::create_topic(&topic, 3).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "dedup-test").unwrap();
    let broker = Broker::new("zerodha").unwrap();
    let envelopes: Vec<_> = (0..COUNT as u64)
        .map(|order| EventEnvelope::new(broker.clone(), "dedup-test", OrderFilled { order }))
        .collect();
    for round in 0..2 {
        let mut pending = Vec::new();
        for env in &envelopes {
            let key = format!("o{}", env.data.order % 10);
            pending.push(producer.enqueue_envelope(&topic, &key, env).await.unwrap());
        }
        for p in pending {
            p.await.unwrap();
        }
        let _ = round;
    }

    let seen: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let consumer = MessageConsumer::new(&config, &[&topic], &testing::unique_name("dedup"))
        .unwrap()
        .service("dedup-test")
        .producer(producer.clone())
        .dedup(store);
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let s2 = Arc::clone(&seen);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let seen = Arc::clone(&s2);
        async move {
            let fill = msg.typed::<OrderFilled>()?.data;
            *seen.lock().unwrap().entry(fill.order).or_default() += 1;
            Ok::<(), HandlerError>(())
        }
    }));
    testing::wait_until(Duration::from_secs(60), "both copies consumed", || {
        let s = stats.snapshot();
        async move { s.handled + s.deduplicated >= 2 * COUNT as u64 }
    })
    .await;
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), COUNT);
    assert!(
        seen.values().all(|&n| n == 1),
        "an envelope was handled twice"
    );
    assert_eq!(report.stats.handled, COUNT as u64);
    assert_eq!(report.stats.deduplicated, COUNT as u64);
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_handles_duplicates_once() {
    published_twice_handled_once(Arc::new(MemoryDedupStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_handles_duplicates_once() {
    let store = RedisDedupStore::new(&testing::redis_url())
        .unwrap()
        .prefix(format!("{}:", testing::unique_name("test")));
    published_twice_handled_once(Arc::new(store)).await;
}
