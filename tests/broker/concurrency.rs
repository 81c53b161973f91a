//! Concurrency inside a partition, on the real broker: `concurrency = N` with `Order::Key` keeps
//! every key's records in order while different keys of one partition run at the same time; a
//! key whose handler keeps failing holds back only its own records, retried in order; with
//! `Order::None` records of one key overlap too. Every run commits everything it read, and
//! nothing is handled twice.
//!
//! Needs `KAFKA_BOOTSTRAP_SERVERS` (`scripts/test` sets it).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::Message;
use serde::{Deserialize, Serialize};
use stream_core::consumer::{ConsumerReport, MessageConsumer, Order};
use stream_core::envelope::codec::RawEnvelope;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::reliability::dlq::dlq_topic;
use stream_core::reliability::retry::RetryPolicy;
use stream_core::{Event, testing};

#[derive(Debug, Serialize, Deserialize)]
struct Fill {
    key: String,
    seq: u64,
}

impl Event for Fill {
    const EVENT_TYPE: &'static str = "order_filled";
}

/// Publishes `fills` (key, seq) in this order, acknowledged.
async fn publish(producer: &MessageProducer, topic: &str, fills: &[(String, u64)]) {
    let mut pending = Vec::new();
    for (key, seq) in fills {
        let fill = Fill {
            key: key.clone(),
            seq: *seq,
        };
        pending.push(producer.enqueue(topic, key, &fill).await.unwrap());
    }
    for p in pending {
        p.await.unwrap();
    }
}

fn decode_fill(m: &rdkafka::message::OwnedMessage) -> Fill {
    RawEnvelope::decode(m.payload().expect("a value"))
        .unwrap()
        .into_typed::<Fill>()
        .unwrap()
        .data
}

/// `keys` keys with `per_key` records each, interleaved: k0/0, k1/0, ..., k0/1, k1/1, ...
fn interleaved(keys: usize, per_key: u64) -> Vec<(String, u64)> {
    (0..per_key)
        .flat_map(|seq| (0..keys).map(move |k| (format!("k{k}"), seq)))
        .collect()
}

/// Handlers running now, per partition and per key, and the most seen at once.
#[derive(Default)]
struct Overlap {
    running: Mutex<HashMap<(i32, String), usize>>,
    /// The most handlers seen running at once in one partition.
    most_in_partition: AtomicUsize,
    /// The most handlers seen running at once for one key.
    most_for_key: AtomicUsize,
}

impl Overlap {
    fn enter(&self, partition: i32, key: &str) {
        let mut running = self.running.lock().unwrap();
        let n = running.entry((partition, key.to_owned())).or_default();
        *n += 1;
        self.most_for_key.fetch_max(*n, Ordering::SeqCst);
        let in_partition = running
            .iter()
            .filter(|((p, _), _)| *p == partition)
            .map(|(_, n)| *n)
            .sum();
        self.most_in_partition
            .fetch_max(in_partition, Ordering::SeqCst);
    }

    fn leave(&self, partition: i32, key: &str) {
        let mut running = self.running.lock().unwrap();
        let n = running.get_mut(&(partition, key.to_owned())).unwrap();
        *n -= 1;
        if *n == 0 {
            running.remove(&(partition, key.to_owned()));
        }
    }
}

/// Waits until `group` committed `total` offsets of `topic`, then stops the consumer.
async fn stop_once_committed(
    group: &str,
    topic: &str,
    total: u64,
    stop: stream_core::consumer::ShutdownHandle,
    run: tokio::task::JoinHandle<stream_core::Result<ConsumerReport>>,
) -> ConsumerReport {
    testing::wait_until(Duration::from_secs(90), "everything committed", || {
        let (group, topic) = (group.to_owned(), topic.to_owned());
        async move {
            let committed = testing::committed_offsets(&group, &topic).await;
            committed.values().map(|o| o.unwrap_or(0)).sum::<i64>() as u64 == total
        }
    })
    .await;
    stop.shutdown();
    run.await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_keys_records_stay_in_order_while_keys_overlap() {
    const KEYS: usize = 12;
    const PER_KEY: u64 = 40;
    let topic = testing::unique_topic("paper", "conc-order", "fills");
    let ledger_topic = testing::unique_topic("paper", "conc-ledger", "fills");
    testing::create_topics(&[&topic, &ledger_topic], 2).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "conc-test").unwrap();
    publish(&producer, &topic, &interleaved(KEYS, PER_KEY)).await;

    let group = testing::unique_name("conc-order");
    let consumer = MessageConsumer::new(&config, &[&topic], &group)
        .unwrap()
        .service("conc-test")
        .producer(producer.clone())
        .concurrency(8, Order::Key);
    let stop = consumer.shutdown_handle();
    let overlap = Arc::new(Overlap::default());
    let ledger: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let (o, l, out) = (
        Arc::clone(&overlap),
        Arc::clone(&ledger),
        ledger_topic.clone(),
    );
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let (overlap, ledger, out) = (Arc::clone(&o), Arc::clone(&l), out.clone());
        async move {
            let fill = msg.typed::<Fill>()?.data;
            let partition = msg.record.partition;
            overlap.enter(partition, &fill.key);
            tokio::time::sleep(Duration::from_millis(3)).await;
            ledger.lock().unwrap().push((fill.key.clone(), fill.seq));
            // The ledger on the broker too: published (not awaited), settled by the consumer.
            let producer = msg.reply_producer().expect("a producer");
            let delivery = producer.enqueue(&out, &fill.key, &fill).await?;
            msg.defer(delivery);
            overlap.leave(partition, &fill.key);
            Ok::<(), HandlerError>(())
        }
    }));
    let total = KEYS as u64 * PER_KEY;
    let report = stop_once_committed(&group, &topic, total, stop, run).await;

    assert_eq!(report.stats.handled, total, "{:?}", report.stats);
    assert_eq!(report.stats.dead_lettered, 0);
    assert_eq!(
        overlap.most_for_key.load(Ordering::SeqCst),
        1,
        "two records of one key ran at the same time"
    );
    let most = overlap.most_in_partition.load(Ordering::SeqCst);
    assert!(
        most >= 2,
        "different keys of one partition never ran at the same time (most at once: {most})"
    );
    assert!(most <= 8, "more than `concurrency` records at once: {most}");
    let expected: Vec<u64> = (0..PER_KEY).collect();
    let by_key = |entries: Vec<(String, u64)>| {
        let mut by_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (key, seq) in entries {
            by_key.entry(key).or_default().push(seq);
        }
        by_key
    };
    let handled = by_key(ledger.lock().unwrap().clone());
    assert_eq!(handled.len(), KEYS);
    for (key, seqs) in &handled {
        assert_eq!(seqs, &expected, "key {key} handled out of order");
    }
    // Read back from the broker: every key's outputs in order, each once.
    let published = testing::read_all(&ledger_topic).await;
    let entries = published
        .iter()
        .map(|m| {
            let fill = decode_fill(m);
            (fill.key, fill.seq)
        })
        .collect();
    let published = by_key(entries);
    assert_eq!(published.len(), KEYS);
    for (key, seqs) in &published {
        assert_eq!(seqs, &expected, "key {key} published out of order");
    }
    println!("concurrency 8 by key: up to {most} handlers at once in one partition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_key_holds_back_only_its_own_records_retried_in_order() {
    let topic = testing::unique_topic("paper", "conc-retry", "fills");
    testing::create_topics(&[&topic, &dlq_topic(&topic)], 1).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "conc-test").unwrap();
    // One partition: `bad` 0..5 first, each followed by records of other keys.
    let mut fills = Vec::new();
    for seq in 0..5 {
        fills.push(("bad".to_owned(), seq));
        fills.extend((0..10).map(|k| (format!("good{k}"), seq)));
    }
    publish(&producer, &topic, &fills).await;

    let group = testing::unique_name("conc-retry");
    let consumer = MessageConsumer::new(&config, &[&topic], &group)
        .unwrap()
        .service("conc-test")
        .producer(producer.clone())
        .retry(
            RetryPolicy::default()
                .max_attempts(4)
                .backoff(Duration::from_millis(150), Duration::from_millis(150))
                .jitter(0.0),
        )
        .concurrency(4, Order::Key);
    let stop = consumer.shutdown_handle();
    // Every attempt, in the order made: (key, seq, good records finished before it).
    let attempts: Arc<Mutex<Vec<(String, u64, usize)>>> = Arc::default();
    let good_done = Arc::new(AtomicUsize::new(0));
    let (a, g) = (Arc::clone(&attempts), Arc::clone(&good_done));
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let (attempts, good_done) = (Arc::clone(&a), Arc::clone(&g));
        async move {
            let fill = msg.typed::<Fill>()?.data;
            let done = good_done.load(Ordering::SeqCst);
            let tries = {
                let mut attempts = attempts.lock().unwrap();
                attempts.push((fill.key.clone(), fill.seq, done));
                attempts
                    .iter()
                    .filter(|(k, s, _)| *k == fill.key && *s == fill.seq)
                    .count()
            };
            if fill.key != "bad" {
                tokio::time::sleep(Duration::from_millis(2)).await;
                good_done.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
            match fill.seq {
                // Fails three times, then succeeds on the fourth (last) attempt.
                0 if tries < 4 => Err(HandlerError::retryable("venue timeout")),
                // Fails for good: dead-lettered, alone.
                2 => Err(HandlerError::permanent("rejected by the venue")),
                _ => Ok(()),
            }
        }
    }));
    let report = stop_once_committed(&group, &topic, fills.len() as u64, stop, run).await;

    assert_eq!(report.stats.dead_lettered, 1, "{:?}", report.stats);
    assert_eq!(report.stats.handled, fills.len() as u64 - 1);
    let attempts = attempts.lock().unwrap().clone();
    let bad: Vec<u64> = attempts
        .iter()
        .filter(|(k, _, _)| k == "bad")
        .map(|(_, s, _)| *s)
        .collect();
    assert_eq!(bad, [0, 0, 0, 0, 1, 2, 3, 4], "bad's attempts out of order");
    // While `bad` 0 was retrying (450 ms), every other key ran to its end.
    let before_bad_succeeded = attempts
        .iter()
        .filter(|(k, s, _)| k == "bad" && *s == 0)
        .map(|(_, _, done)| *done)
        .next_back()
        .unwrap();
    assert_eq!(
        before_bad_succeeded, 50,
        "other keys waited for the failing one"
    );
    let letters = testing::read_all(&dlq_topic(&topic)).await;
    assert_eq!(letters.len(), 1, "exactly the failing record dead-lettered");
    let fill = decode_fill(&letters[0]);
    assert_eq!((fill.key.as_str(), fill.seq), ("bad", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_order_one_keys_records_overlap_and_each_runs_once() {
    const TOTAL: u64 = 200;
    let topic = testing::unique_topic("paper", "conc-none", "fills");
    testing::create_topic(&topic, 1).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "conc-test").unwrap();
    let fills: Vec<(String, u64)> = (0..TOTAL).map(|s| ("hot".to_owned(), s)).collect();
    publish(&producer, &topic, &fills).await;

    let group = testing::unique_name("conc-none");
    let consumer = MessageConsumer::new(&config, &[&topic], &group)
        .unwrap()
        .service("conc-test")
        .producer(producer.clone())
        .concurrency(16, Order::None);
    let stop = consumer.shutdown_handle();
    let overlap = Arc::new(Overlap::default());
    let seen: Arc<Mutex<Vec<u64>>> = Arc::default();
    let (o, s) = (Arc::clone(&overlap), Arc::clone(&seen));
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let (overlap, seen) = (Arc::clone(&o), Arc::clone(&s));
        async move {
            let fill = msg.typed::<Fill>()?.data;
            overlap.enter(msg.record.partition, &fill.key);
            tokio::time::sleep(Duration::from_millis(2)).await;
            seen.lock().unwrap().push(fill.seq);
            overlap.leave(msg.record.partition, &fill.key);
            Ok::<(), HandlerError>(())
        }
    }));
    let report = stop_once_committed(&group, &topic, TOTAL, stop, run).await;

    assert_eq!(report.stats.handled, TOTAL);
    let most = overlap.most_for_key.load(Ordering::SeqCst);
    assert!(
        (2..=16).contains(&most),
        "one key's records at once: {most}"
    );
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..TOTAL).collect::<Vec<_>>(), "each once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_with_concurrency_is_refused() {
    let topic = testing::unique_topic("paper", "conc-eos", "fills");
    let group = testing::unique_name("conc-eos");
    let consumer = MessageConsumer::new(&testing::kafka_config(), &[&topic], &group)
        .unwrap()
        .exactly_once(true)
        .concurrency(4, Order::Key);
    let error = consumer
        .run(|_msg: Arc<Incoming>| async { Ok::<(), HandlerError>(()) })
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("exactly-once"),
        "refused with a clear reason: {error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliveries_of_one_event_on_different_keys_run_once() {
    use stream_core::envelope::EventEnvelope;
    const EVENTS: u64 = 40;
    let topic = testing::unique_topic("paper", "conc-dup", "fills");
    testing::create_topic(&topic, 1).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "conc-test").unwrap();
    // Each event twice, back to back, under two keys: free to run at the same time.
    for seq in 0..EVENTS {
        let fill = Fill {
            key: format!("a{seq}"),
            seq,
        };
        let env = EventEnvelope::new(
            stream_core::Broker::new("paper").unwrap(),
            "conc-test",
            fill,
        );
        for key in [format!("a{seq}"), format!("b{seq}")] {
            producer.send_envelope(&topic, &key, &env).await.unwrap();
        }
    }

    let group = testing::unique_name("conc-dup");
    let consumer = MessageConsumer::new(&config, &[&topic], &group)
        .unwrap()
        .service("conc-test")
        .producer(producer.clone())
        .concurrency(8, Order::Key);
    let stop = consumer.shutdown_handle();
    let runs: Arc<Mutex<HashMap<u64, usize>>> = Arc::default();
    let r = Arc::clone(&runs);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let runs = Arc::clone(&r);
        async move {
            let fill = msg.typed::<Fill>()?.data;
            *runs.lock().unwrap().entry(fill.seq).or_default() += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<(), HandlerError>(())
        }
    }));
    let report = stop_once_committed(&group, &topic, EVENTS * 2, stop, run).await;

    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len() as u64, EVENTS);
    assert!(
        runs.values().all(|n| *n == 1),
        "an event ran twice: {runs:?}"
    );
    assert_eq!(report.stats.handled, EVENTS);
    assert_eq!(report.stats.deduplicated, EVENTS);
}

/// One handler run: which consumer, which partition, when it began and (once it did) ended.
type Run = (usize, i32, std::time::Instant, Option<std::time::Instant>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_partition_finishes_its_records_before_its_new_owner_starts() {
    const TOTAL: u64 = 3_000;
    let topic = testing::unique_topic("paper", "conc-revoke", "fills");
    testing::create_topic(&topic, 4).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "conc-test").unwrap();
    let fills: Vec<(String, u64)> = (0..TOTAL).map(|s| (format!("k{}", s % 64), s)).collect();
    publish(&producer, &topic, &fills).await;

    let group = testing::unique_name("conc-revoke");
    let runs: Arc<Mutex<Vec<Run>>> = Arc::default();
    let handled: Arc<Mutex<std::collections::HashSet<u64>>> = Arc::default();
    let start = |member: usize| {
        let consumer = MessageConsumer::new(&config, &[&topic], &group)
            .unwrap()
            .service("conc-test")
            .producer(producer.clone())
            .concurrency(4, Order::Key);
        let stop = consumer.shutdown_handle();
        let (runs, handled) = (Arc::clone(&runs), Arc::clone(&handled));
        let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
            let (runs, handled) = (Arc::clone(&runs), Arc::clone(&handled));
            async move {
                let fill = msg.typed::<Fill>()?.data;
                let at = {
                    let mut runs = runs.lock().unwrap();
                    runs.push((
                        member,
                        msg.record.partition,
                        std::time::Instant::now(),
                        None,
                    ));
                    runs.len() - 1
                };
                // About 5 s of work in all: time for a second member to join.
                tokio::time::sleep(Duration::from_millis(25)).await;
                handled.lock().unwrap().insert(fill.seq);
                runs.lock().unwrap()[at].3 = Some(std::time::Instant::now());
                Ok::<(), HandlerError>(())
            }
        }));
        (stop, run)
    };
    let (stop_a, run_a) = start(0);
    testing::wait_until(Duration::from_secs(60), "a tenth handled", || {
        let n = handled.lock().unwrap().len() as u64;
        async move { n >= TOTAL / 10 }
    })
    .await;
    // A second member: some of the first's partitions are revoked mid-run.
    let (stop_b, run_b) = start(1);
    let report_b = stop_once_committed(&group, &topic, TOTAL, stop_b, run_b).await;
    stop_a.shutdown();
    let report_a = run_a.await.unwrap().unwrap();

    assert_eq!(handled.lock().unwrap().len() as u64, TOTAL, "records lost");
    assert!(
        report_b.stats.handled > 0,
        "the second member took no partition"
    );
    let runs = runs.lock().unwrap().clone();
    let mut moved = 0;
    for partition in 0..4 {
        let of = |member: usize| {
            runs.iter()
                .filter(|r| r.0 == member && r.1 == partition)
                .map(|r| (r.2, r.3))
                .collect::<Vec<_>>()
        };
        let (a, b) = (of(0), of(1));
        if a.is_empty() || b.is_empty() {
            continue;
        }
        moved += 1;
        // Every run of the old owner ended (none was dropped mid-handler), before the new one
        // began any.
        let ends: Option<Vec<_>> = a.iter().map(|r| r.1).collect();
        let ends = ends.unwrap_or_else(|| panic!("partition {partition}: a run never ended"));
        let a_last_end = ends.into_iter().max().unwrap();
        let b_first_begin = b.iter().map(|r| r.0).min().unwrap();
        assert!(
            b_first_begin >= a_last_end,
            "partition {partition}: the new owner began {:?} before the old one's last record ended",
            a_last_end - b_first_begin
        );
    }
    assert!(moved > 0, "no partition moved between the members");
    println!(
        "revoke: {moved} partitions moved; first member handled {}, second {}",
        report_a.stats.handled, report_b.stats.handled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_key_fills_the_worker_and_pauses_the_partition() {
    use stream_core::consumer::ConsumerOptions;
    let topic = testing::unique_topic("paper", "conc-hot", "fills");
    testing::create_topic(&topic, 1).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "conc-test").unwrap();
    // 60 records of one key, with one record of another key after every tenth.
    let mut fills = Vec::new();
    for seq in 0..60 {
        fills.push(("hot".to_owned(), seq));
        if seq % 10 == 9 {
            fills.push((format!("cold{seq}"), 0));
        }
    }
    publish(&producer, &topic, &fills).await;

    let group = testing::unique_name("conc-hot");
    let options = ConsumerOptions {
        service: "conc-test".into(),
        partition_queue: 8,
        concurrency: 8,
        order: Order::Key,
        ..ConsumerOptions::default()
    };
    let consumer = MessageConsumer::new(&config, &[&topic], &group)
        .unwrap()
        .options(options)
        .producer(producer.clone());
    let stop = consumer.shutdown_handle();
    let hot: Arc<Mutex<Vec<u64>>> = Arc::default();
    let h = Arc::clone(&hot);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let hot = Arc::clone(&h);
        async move {
            let fill = msg.typed::<Fill>()?.data;
            // Slower than the poll thread waits for room (twice 20 ms): one key at a time frees
            // a slot of the worker only every 50 ms.
            let work = if fill.key == "hot" { 50 } else { 1 };
            tokio::time::sleep(Duration::from_millis(work)).await;
            if fill.key == "hot" {
                hot.lock().unwrap().push(fill.seq);
            }
            Ok::<(), HandlerError>(())
        }
    }));
    let report = stop_once_committed(&group, &topic, fills.len() as u64, stop, run).await;

    assert_eq!(report.stats.handled, fills.len() as u64);
    assert_eq!(*hot.lock().unwrap(), (0..60).collect::<Vec<_>>());
    // The worker held at most 8 records, nearly all of the hot key: its queue filled behind them
    // and the partition was paused instead of the records piling up in memory.
    assert!(report.stats.paused > 0, "{:?}", report.stats);
}
