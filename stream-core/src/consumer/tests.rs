//! Unit tests of the consumer on librdkafka's in-process mock cluster.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::consumer::message_consumer::MessageConsumer;
use crate::consumer::stats::StatsSnapshot;
use crate::consumer::worker::message_span;
use crate::envelope::event::Event;
use crate::handler::{HandlerError, Incoming};
use crate::kafka::dev_cluster::DevCluster;
use crate::kafka::producer::MessageProducer;
use crate::kafka::record::RecordMeta;
use crate::reliability::retry::RetryPolicy;
use crate::topic::Broker;

#[derive(serde::Serialize, serde::Deserialize)]
struct Tick {
    seq: u64,
}

impl Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

/// What `RUST_LOG` users write decides the per-message span: off at INFO (its cost per
/// message is larger than the consumer's own), on when its target is at DEBUG.
#[test]
fn the_message_span_is_off_at_info_and_on_when_its_target_is_at_debug() {
    let meta = RecordMeta::new("paper.ticks.raw", Broker::new("paper").unwrap(), 2, 41);
    let enabled_under = |filter: &str| {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || !message_span(&meta).is_disabled())
    };
    assert!(!enabled_under("info"));
    assert!(!enabled_under("debug,streamkit::message=info"));
    assert!(enabled_under("info,streamkit::message=debug"));
    assert!(enabled_under("debug"));
}

/// How many times a handler that always fails (retryably) is called for one message before
/// it is dead-lettered: its first attempt takes `first`, every later one `later`. On
/// librdkafka's in-process mock cluster: a unit test of the retry loop, not a claim about a
/// broker.
async fn attempts_until_dead_letter(
    topic: &str,
    policy: RetryPolicy,
    first: Duration,
    later: Duration,
) -> (u64, StatsSnapshot) {
    let cluster = DevCluster::mock().unwrap();
    let dlq = crate::reliability::dlq::dlq_topic(topic);
    cluster.create_topics(&[topic, &dlq], 1).await.unwrap();
    let config = cluster.config();
    let producer = MessageProducer::new(&config, "slow").unwrap();
    producer.send(topic, "k", &Tick { seq: 1 }).await.unwrap();
    let consumer = MessageConsumer::new(&config, &[topic], "slow")
        .unwrap()
        .service("slow")
        .producer(producer)
        .retry(policy);
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let attempts = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&attempts);
    let run = tokio::spawn(consumer.run(move |_msg: Arc<Incoming>| {
        let seen = Arc::clone(&seen);
        async move {
            let took = if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                first
            } else {
                later
            };
            tokio::time::sleep(took).await;
            Err::<(), _>(HandlerError::retryable("still failing"))
        }
    }));
    let deadline = Instant::now() + Duration::from_secs(60);
    while stats.snapshot().dead_lettered < 1 {
        assert!(Instant::now() < deadline, "{:?}", stats.snapshot());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.stats.dead_lettered, 1, "{:?}", report.stats);
    (attempts.load(Ordering::SeqCst), report.stats)
}

/// `RetryPolicy::max_elapsed` counts from the first failure, as documented, not from the start
/// of the first attempt: a first attempt that runs longer than the whole budget before
/// failing is still retried (here until `max_attempts`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_budget_counts_from_the_first_failure() {
    let policy = RetryPolicy::default()
        .max_attempts(4)
        .backoff(Duration::from_millis(10), Duration::from_millis(40))
        .max_elapsed(Duration::from_millis(1000));
    let (attempts, stats) = attempts_until_dead_letter(
        "paper.ticks.slow-first",
        policy,
        Duration::from_millis(1500),
        Duration::ZERO,
    )
    .await;
    assert_eq!(attempts, 4);
    assert_eq!(stats.retried, 3, "{stats:?}");
}

/// ...and it does stop retries: with room for ten attempts, attempts of 500 ms each leave the
/// 1 s budget spent after the third (its failure comes at least 1,024 ms after the first one:
/// two attempts and two back-offs of at least 8 and 16 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_budget_stops_retries_once_spent() {
    let policy = RetryPolicy::default()
        .max_attempts(10)
        .backoff(Duration::from_millis(10), Duration::from_millis(40))
        .max_elapsed(Duration::from_millis(1000));
    let (attempts, stats) = attempts_until_dead_letter(
        "paper.ticks.slow-later",
        policy,
        Duration::ZERO,
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(attempts, 3);
    assert_eq!(stats.retried, 2, "{stats:?}");
}

/// A handler that leaves its publishes to the consumer (`Incoming::defer`, what
/// `Context::publish` does), one record or two a message: every message counts as handled,
/// and every record it published is on the output topic, once the consumer has awaited
/// their acknowledgements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_deliveries_are_awaited_before_a_message_counts_as_handled() {
    const N: u64 = 60;
    let cluster = DevCluster::mock().unwrap();
    let (input, output) = ("paper.ticks.raw", "paper.ticks.copied");
    cluster.create_topics(&[input, output], 3).await.unwrap();
    let config = cluster.config();
    let producer = MessageProducer::new(&config, "copier").unwrap();
    for seq in 0..N {
        let key = format!("k{}", seq % 7);
        producer.send(input, &key, &Tick { seq }).await.unwrap();
    }
    let consumer = MessageConsumer::new(&config, &[input], "copier")
        .unwrap()
        .service("copier")
        .producer(producer.clone())
        .commit_interval(Duration::from_millis(50));
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| async move {
        let tick = msg.typed::<Tick>()?.data;
        let out = msg.reply_producer().expect("a producer");
        let key = msg.record.key_str().unwrap_or_default().to_owned();
        // Every other message publishes twice: more deliveries than are held inline.
        for _ in 0..1 + tick.seq % 2 {
            let pending = out
                .enqueue(output, &key, &tick)
                .await
                .map_err(HandlerError::retryable)?;
            msg.defer(pending);
        }
        Ok::<(), HandlerError>(())
    }));
    let deadline = Instant::now() + Duration::from_secs(60);
    while stats.snapshot().handled < N {
        assert!(Instant::now() < deadline, "{:?}", stats.snapshot());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.stats.handled, N, "{:?}", report.stats);
    assert_eq!(report.stats.dead_lettered, 0);
    assert!(report.unfinished.is_empty());
    let copies: i64 = tokio::task::spawn_blocking(move || {
        let reader: BaseConsumer = config.to_client_config().create().unwrap();
        (0..3)
            .map(|p| {
                let (lo, hi) = reader
                    .fetch_watermarks(output, p, Duration::from_secs(5))
                    .unwrap();
                hi - lo
            })
            .sum()
    })
    .await
    .unwrap();
    assert_eq!(copies, (N + N / 2) as i64);
}
