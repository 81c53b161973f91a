//! Helpers for tests that run against a real Kafka broker (feature `testing`).
//!
//! What every broker test needs, in one place: the bootstrap address from the environment (with
//! one clear line when it is missing), a unique topic and group name per test so tests run in
//! parallel on one broker, topic creation and deletion through the admin API, reading back
//! everything a topic holds, and waiting for a condition with a deadline.
//!
//! Tests get a broker from `scripts/test` (which runs `scripts/kafka up` and exports
//! `KAFKA_BOOTSTRAP_SERVERS`). Without it they fail at once with [`MISSING_BROKER`]; they never skip.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::kafka::admin::{Replication, TopicAdmin};
use crate::kafka::config::{BOOTSTRAP_ENV, KafkaConfig};

/// The one line a broker test prints when no broker address is set.
pub const MISSING_BROKER: &str = "KAFKA_BOOTSTRAP_SERVERS is not set: run `scripts/test` (it starts Kafka and Redis), \
     or `scripts/kafka up` and export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092";

/// The one line a Redis test prints when no Redis address is set.
pub const MISSING_REDIS: &str = "REDIS_URL is not set: run `scripts/test` (it starts Kafka and Redis), \
     or `scripts/redis up` and export REDIS_URL=redis://127.0.0.1:16379";

/// The bootstrap address of the test broker. Panics with [`MISSING_BROKER`] when unset.
///
/// ```no_run
/// let servers = stream_core::testing::bootstrap_servers();
/// assert!(servers.contains(':'));
/// ```
pub fn bootstrap_servers() -> String {
    match std::env::var(BOOTSTRAP_ENV) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_owned(),
        _ => panic!("{MISSING_BROKER}"),
    }
}

/// The Redis URL of the test Redis. Panics with [`MISSING_REDIS`] when unset.
pub fn redis_url() -> String {
    match std::env::var("REDIS_URL") {
        Ok(v) if !v.trim().is_empty() => v.trim().to_owned(),
        _ => panic!("{MISSING_REDIS}"),
    }
}

/// A [`KafkaConfig`] pointing at the test broker.
pub fn kafka_config() -> KafkaConfig {
    KafkaConfig::new(bootstrap_servers())
}

/// A name no other test (in this process or another) uses: `<prefix>-<pid>-<n>-<random>`.
///
/// ```
/// let a = stream_core::testing::unique_name("orders");
/// let b = stream_core::testing::unique_name("orders");
/// assert_ne!(a, b);
/// assert!(a.starts_with("orders-"));
/// ```
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!(
        "{prefix}-{}-{n}-{}",
        std::process::id(),
        &random[random.len() - 8..]
    )
}

/// A unique topic in a broker namespace: `<broker>.<domain>-<unique>.<event>`, so it still has
/// the `<broker>.<domain>.<event>` shape.
///
/// ```
/// let t = stream_core::testing::unique_topic("paper", "signals", "raw");
/// assert!(t.starts_with("paper.signals-") && t.ends_with(".raw"));
/// ```
pub fn unique_topic(broker: &str, domain: &str, event: &str) -> String {
    format!("{broker}.{}.{event}", unique_name(domain))
}

fn admin(config: &KafkaConfig) -> TopicAdmin {
    TopicAdmin::new(config).expect("admin client for the test broker")
}

/// Creates `topics` with `partitions` partitions each (replication factor 1), waiting until the
/// broker reports them. Panics on failure: this is test setup.
pub async fn create_topics(topics: &[&str], partitions: i32) {
    create_topics_on(&kafka_config(), topics, partitions).await;
}

/// [`create_topics`] on the cluster of `config` (for tests that run a broker of their own).
pub async fn create_topics_on(config: &KafkaConfig, topics: &[&str], partitions: i32) {
    let admin = admin(config);
    let wanted: Vec<(&str, i32)> = topics.iter().map(|t| (*t, partitions)).collect();
    admin
        .create(&wanted, Replication::Fixed(1), Duration::from_secs(30))
        .await
        .expect("create_topics");
    // Metadata propagation: wait until every partition has a leader.
    let names: Vec<String> = topics.iter().map(|s| s.to_string()).collect();
    let timeout = Duration::from_secs(5);
    wait_until(
        Duration::from_secs(30),
        "topics to have leaders",
        || async {
            let counts = admin.partitions(&names, timeout).await;
            let led = admin.have_leaders(&names, timeout).await;
            counts.is_ok_and(|c| c.iter().all(|n| n.is_some_and(|n| n >= partitions)))
                && led.is_ok_and(|led| led.iter().all(|l| *l))
        },
    )
    .await;
}

/// Creates one topic; see [`create_topics`].
pub async fn create_topic(topic: &str, partitions: i32) {
    create_topics(&[topic], partitions).await;
}

/// Deletes topics (missing ones are ignored).
pub async fn delete_topics(topics: &[&str]) {
    let _ = admin(&kafka_config())
        .delete(topics, Duration::from_secs(30))
        .await;
}

/// Every record currently in `topic`, read from the start of each partition up to its high
/// watermark at the time of the call, in partition order then offset order.
///
/// This reads with `assign` (no consumer group, nothing committed), so it sees exactly what the
/// broker holds, not what a group has consumed.
pub async fn read_all(topic: &str) -> Vec<OwnedMessage> {
    read_all_from(&kafka_config(), topic).await
}

/// [`read_all`] on the cluster of `config`.
pub async fn read_all_from(config: &KafkaConfig, topic: &str) -> Vec<OwnedMessage> {
    let config = config.clone();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || read_all_blocking(&config, &topic))
        .await
        .expect("read_all task")
}

fn read_all_blocking(config: &KafkaConfig, topic: &str) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", unique_name("read-all"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .to_client_config()
        .create()
        .expect("read-back consumer");
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata for read-back");
    let partitions: Vec<i32> = meta.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let mut high: HashMap<i32, i64> = HashMap::new();
    let mut tpl = TopicPartitionList::new();
    for &p in &partitions {
        let (low, hi) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .expect("watermarks");
        if hi > low {
            high.insert(p, hi);
            tpl.add_partition_offset(topic, p, Offset::Offset(low))
                .unwrap();
        }
    }
    let mut out: HashMap<i32, Vec<OwnedMessage>> = HashMap::new();
    if high.is_empty() {
        return Vec::new();
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done = 0;
    let mut finished: HashMap<i32, bool> = HashMap::new();
    while done < high.len() {
        assert!(
            Instant::now() < deadline,
            "read_all({topic}) did not reach the high watermarks within 60 s"
        );
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let msg = result.expect("read-back poll");
        let p = msg.partition();
        let hi = high[&p];
        if msg.offset() < hi {
            out.entry(p).or_default().push(msg.detach());
        }
        if msg.offset() + 1 >= hi && !finished.get(&p).copied().unwrap_or(false) {
            finished.insert(p, true);
            done += 1;
        }
    }
    let mut parts: Vec<_> = out.into_iter().collect();
    parts.sort_by_key(|(p, _)| *p);
    parts.into_iter().flat_map(|(_, m)| m).collect()
}

/// Runs `scripts/<name>` of this repository with `args` and returns its last line of output
/// (the scripts print the address they serve last). Panics with the script's stderr on failure.
///
/// The scripts folder is `STREAMKIT_SCRIPTS_DIR` (set by `scripts/test`), else `scripts/` next to
/// the workspace root.
pub fn script(name: &str, args: &[&str]) -> String {
    let dir = std::env::var("STREAMKIT_SCRIPTS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("workspace root")
                .join("scripts")
        });
    let path = dir.join(name);
    let out = std::process::Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{} {} failed:\n{}",
        path.display(),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Waits until `check` returns true, polling every 50 ms; panics naming `what` after `deadline`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let start = std::time::Instant::now();
/// stream_core::testing::wait_until(std::time::Duration::from_secs(1), "time to pass", || async move {
///     start.elapsed() > std::time::Duration::from_millis(60)
/// }).await;
/// # }
/// ```
pub async fn wait_until<F, Fut>(deadline: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = Instant::now() + deadline;
    loop {
        if check().await {
            return;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The committed offset of `group` for each partition of `topic` (`None` where nothing is
/// committed).
pub async fn committed_offsets(group: &str, topic: &str) -> HashMap<i32, Option<i64>> {
    let config = kafka_config().set("group.id", group);
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config.to_client_config().create().unwrap();
        let meta = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in meta.topics()[0].partitions() {
            tpl.add_partition(&topic, p.id());
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(10))
            .unwrap();
        committed
            .elements()
            .iter()
            .map(|e| {
                let off = match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                (e.partition(), off)
            })
            .collect()
    })
    .await
    .unwrap()
}
