//! Redis stopped during a run: the configured `UnavailablePolicy` is what happens, and the service
//! keeps running. Each test starts its own redis-server (scripts/redis on its own port) so it can
//! stop it without disturbing other tests.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::reliability::dedup::UnavailablePolicy;
use stream_core::reliability::dedup::redis::RedisDedupStore;
use stream_core::{Event, testing};

#[derive(Debug, Serialize, Deserialize)]
struct Tick {
    seq: u64,
}

impl Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

fn redis_script(action: &str, port: u16) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/redis");
    let out = Command::new(&script)
        .args([action, "--port", &port.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    assert!(
        out.status.success(),
        "scripts/redis {action} --port {port} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn publish(producer: &MessageProducer, topic: &str, from: u64, n: u64) {
    for seq in from..from + n {
        producer
            .send(topic, &format!("k{}", seq % 4), &Tick { seq })
            .await
            .unwrap();
    }
}

async fn outage(policy: UnavailablePolicy, port: u16) {
    redis_script("up", port);
    let topic = testing::unique_topic("paper", "outage", "ticks");
    testing::create_topic(&topic, 2).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "outage-test").unwrap();
    let store = RedisDedupStore::new(&format!("redis://127.0.0.1:{port}")).unwrap();
    let consumer = MessageConsumer::new(
        &testing::kafka_config(),
        &[&topic],
        &testing::unique_name("outage"),
    )
    .unwrap()
    .service("outage-test")
    .dedup(Arc::new(store))
    .dedup_policy(policy);
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let run = tokio::spawn(consumer.run(|msg: Arc<Incoming>| async move {
        msg.typed::<Tick>()?;
        Ok::<(), HandlerError>(())
    }));

    publish(&producer, &topic, 0, 100).await;
    testing::wait_until(Duration::from_secs(30), "the first 100 handled", || {
        let s = stats.snapshot();
        async move { s.handled >= 100 }
    })
    .await;

    redis_script("down", port);
    publish(&producer, &topic, 100, 100).await;
    match policy {
        UnavailablePolicy::ProcessAnyway => {
            testing::wait_until(
                Duration::from_secs(30),
                "handling to go on without redis",
                || {
                    let s = stats.snapshot();
                    async move { s.handled >= 200 }
                },
            )
            .await;
            assert!(stats.snapshot().dedup_unavailable >= 100);
        }
        UnavailablePolicy::Pause => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            let s = stats.snapshot();
            assert_eq!(s.handled, 100, "nothing may be handled while redis is down");
            assert!(!run.is_finished(), "the service must keep running");
        }
    }

    redis_script("up", port);
    testing::wait_until(
        Duration::from_secs(30),
        "everything handled after redis is back",
        || {
            let s = stats.snapshot();
            async move { s.handled >= 200 }
        },
    )
    .await;
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.stats.handled, 200);
    assert!(report.unfinished.is_empty());
    redis_script("down", port);
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_policy_waits_for_redis_and_loses_nothing() {
    testing::bootstrap_servers();
    outage(UnavailablePolicy::Pause, 16391).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_anyway_policy_keeps_handling_without_redis() {
    testing::bootstrap_servers();
    outage(UnavailablePolicy::ProcessAnyway, 16392).await;
}
