//! The commit logic alone (dedup off) keeps a group exact through rebalances: two consumers share
//! a stream, one stops gracefully mid-stream, a third joins later; no message is lost and none is
//! handled twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stream_core::consumer::{ConsumerReport, MessageConsumer, ShutdownHandle};
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::{Event, testing};

const TOTAL: u64 = 6_000;

#[derive(Debug, Serialize, Deserialize)]
struct Signal {
    seq: u64,
}

impl Event for Signal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

type Ledger = Arc<Mutex<HashMap<u64, Vec<&'static str>>>>;

fn member(
    topic: &str,
    group: &str,
    name: &'static str,
    ledger: &Ledger,
) -> (
    tokio::task::JoinHandle<stream_core::Result<ConsumerReport>>,
    ShutdownHandle,
) {
    let consumer = MessageConsumer::new(&testing::kafka_config(), &[topic], group)
        .unwrap()
        .service("rebalance-test")
        .no_dedup()
        .commit_interval(Duration::from_millis(200))
        .shutdown_timeout(Duration::from_secs(20));
    let stop = consumer.shutdown_handle();
    let ledger = Arc::clone(ledger);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let ledger = Arc::clone(&ledger);
        async move {
            let seq = msg.typed::<Signal>()?.data.seq;
            tokio::time::sleep(Duration::from_micros(300)).await; // real in-flight work
            ledger.lock().unwrap().entry(seq).or_default().push(name);
            Ok::<(), HandlerError>(())
        }
    }));
    (run, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_leave_and_late_join_lose_and_repeat_nothing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let topic = testing::unique_topic("paper", "rebalance", "signals");
    let group = testing::unique_name("rebalance");
    testing::create_topic(&topic, 6).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "rebalance-test").unwrap();
    let ledger: Ledger = Arc::default();
    let count = |l: &Ledger| l.lock().unwrap().len() as u64;

    // A steady stream in the background.
    let p = producer.clone();
    let t = topic.clone();
    let feeder = tokio::spawn(async move {
        // ~13 s of stream: batches of 50, acknowledged, then a pause.
        for batch in 0..TOTAL / 50 {
            let mut pending = Vec::new();
            for seq in batch * 50..(batch + 1) * 50 {
                pending.push(
                    p.enqueue(&t, &format!("k{}", seq % 50), &Signal { seq })
                        .await
                        .unwrap(),
                );
            }
            for d in pending {
                d.await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let (a, stop_a) = member(&topic, &group, "a", &ledger);
    let (b, stop_b) = member(&topic, &group, "b", &ledger);
    testing::wait_until(Duration::from_secs(60), "a third of the stream", || {
        let n = count(&ledger);
        async move { n >= TOTAL / 3 }
    })
    .await;
    stop_a.shutdown();
    let report_a = a.await.unwrap().unwrap();
    assert!(report_a.unfinished.is_empty());

    testing::wait_until(Duration::from_secs(60), "two thirds of the stream", || {
        let n = count(&ledger);
        async move { n >= 2 * TOTAL / 3 }
    })
    .await;
    let (c, stop_c) = member(&topic, &group, "c", &ledger);
    feeder.await.unwrap();
    testing::wait_until(Duration::from_secs(120), "the whole stream", || {
        let n = count(&ledger);
        async move { n >= TOTAL }
    })
    .await;
    // Let any duplicate show up before judging.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_b.shutdown();
    stop_c.shutdown();
    let report_b = b.await.unwrap().unwrap();
    let report_c = c.await.unwrap().unwrap();

    let ledger = ledger.lock().unwrap().clone();
    assert_eq!(ledger.len() as u64, TOTAL, "messages lost");
    let twice: Vec<_> = ledger.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "handled twice: {:?}",
        &twice[..twice.len().min(10)]
    );
    for name in ["a", "b"] {
        assert!(
            ledger.values().any(|v| v[0] == name),
            "{name} handled nothing"
        );
    }
    assert!(report_c.stats.handled > 0, "the late member took no work");
    assert!(report_b.unfinished.is_empty() && report_c.unfinished.is_empty());
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}
