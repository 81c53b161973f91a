//! Backpressure on a real broker: a partition queue of 4 and a handler that is slow on one
//! partition. The slow partition's queue fills, the polling thread waits for room and then
//! pauses that partition (its prefetched records kept in order, fed back as the worker drains);
//! the other partition keeps flowing meanwhile. Every message is handled exactly once, in order
//! per partition, and everything is committed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stream_core::consumer::{ConsumerOptions, MessageConsumer};
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::{Event, testing};

const PER_PARTITION: u64 = 150;

#[derive(Debug, Serialize, Deserialize)]
struct Tick {
    seq: u64,
}

impl Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

/// `PER_PARTITION` ticks on each of two partitions, acknowledged. One key per partition
/// (murmur2 puts "k0" and "k3" on different ones of two; the first test checks that rather than
/// trusting it).
async fn publish_ticks(producer: &MessageProducer, topic: &str) {
    let mut pending = Vec::new();
    for seq in 0..PER_PARTITION * 2 {
        let key = if seq % 2 == 0 { "k0" } else { "k3" };
        pending.push(producer.enqueue(topic, key, &Tick { seq }).await.unwrap());
    }
    for p in pending {
        p.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_partition_is_paused_and_resumed_and_nothing_is_lost_or_repeated() {
    let topic = testing::unique_topic("paper", "backpressure", "ticks");
    testing::create_topic(&topic, 2).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "backpressure-test").unwrap();
    publish_ticks(&producer, &topic).await;

    let handled: Arc<Mutex<Vec<(i32, u64)>>> = Arc::default();
    let group = testing::unique_name("backpressure");
    let options = ConsumerOptions {
        partition_queue: 4,
        ..ConsumerOptions::default()
    };
    let consumer = MessageConsumer::new(&config, &[&topic], &group)
        .unwrap()
        .options(options)
        .service("backpressure-test")
        .producer(producer.clone());
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let h = Arc::clone(&handled);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let handled = Arc::clone(&h);
        async move {
            let tick = msg.typed::<Tick>()?.data;
            // Partition 0 is slow for its first 30 messages: longer than the polling thread
            // waits for room (twice 20 ms), so the partition gets paused.
            if msg.record.partition == 0 && msg.record.offset < 30 {
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            handled
                .lock()
                .unwrap()
                .push((msg.record.partition, tick.seq));
            Ok::<(), HandlerError>(())
        }
    }));

    let started = Instant::now();
    testing::wait_until(Duration::from_secs(120), "all messages handled", || {
        let s = stats.snapshot();
        async move { s.handled >= PER_PARTITION * 2 }
    })
    .await;
    let elapsed = started.elapsed();
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert!(report.unfinished.is_empty(), "{:?}", report.unfinished);

    let handled = handled.lock().unwrap().clone();
    assert_eq!(handled.len() as u64, PER_PARTITION * 2, "each message once");
    let mut per_partition: BTreeMap<i32, Vec<u64>> = BTreeMap::new();
    for (partition, seq) in &handled {
        per_partition.entry(*partition).or_default().push(*seq);
    }
    assert_eq!(per_partition.len(), 2, "the two keys use both partitions");
    for (partition, seqs) in &per_partition {
        assert_eq!(seqs.len() as u64, PER_PARTITION, "partition {partition}");
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "partition {partition} out of order: {seqs:?}"
        );
    }
    // The fast partition did not wait for the slow one: it finished while partition 0 was still
    // working through its slow messages (30 × 60 ms).
    let fast_done_at = handled
        .iter()
        .rposition(|(p, _)| *p == 1)
        .expect("partition 1 handled");
    let slow_done_at = handled
        .iter()
        .position(|(p, seq)| *p == 0 && per_partition[&0][29] == *seq)
        .expect("partition 0's 30th message");
    assert!(
        fast_done_at < slow_done_at,
        "partition 1 finished after partition 0's slow stretch ({elapsed:?})"
    );

    let s = report.stats;
    assert!(s.paused >= 1, "the slow partition was paused: {s:?}");
    assert_eq!(s.handled, PER_PARTITION * 2);
    assert_eq!(s.deduplicated, 0);
    let committed = testing::committed_offsets(&group, &topic).await;
    let total: i64 = committed.values().map(|o| o.unwrap_or(0)).sum();
    assert_eq!(total as u64, PER_PARTITION * 2, "everything committed");
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}

/// A partition paused for backpressure, revoked, then assigned again is consumed to the end: its
/// overflow is dropped with the revoke (uncommitted, so fetched again) and nothing may keep it
/// paused. Eager `range` assignment revokes everything on every rebalance, so consumer A loses its
/// paused partition when B joins and gets it back, at the latest, when B leaves. (The consumer
/// also resumes every partition it is assigned, in case librdkafka kept an application pause
/// across the revoke; this test passes with or without that call on librdkafka 2.12.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_partition_revoked_and_assigned_again_is_resumed() {
    let topic = testing::unique_topic("paper", "backpressure", "regained");
    testing::create_topic(&topic, 2).await;
    let config = testing::kafka_config().set("partition.assignment.strategy", "range");
    let producer = MessageProducer::new(&config, "backpressure-test").unwrap();
    publish_ticks(&producer, &topic).await;
    let group = testing::unique_name("regained");
    let options = ConsumerOptions {
        partition_queue: 4,
        ..ConsumerOptions::default()
    };
    let start = |slow_ms: u64, everywhere: bool| {
        let consumer = MessageConsumer::new(&config, &[&topic], &group)
            .unwrap()
            .options(options.clone())
            .service("backpressure-test")
            .producer(producer.clone());
        let (stats, stop) = (consumer.stats(), consumer.shutdown_handle());
        let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| async move {
            msg.typed::<Tick>()?;
            if everywhere || (msg.record.partition == 0 && msg.record.offset < 30) {
                tokio::time::sleep(Duration::from_millis(slow_ms)).await;
            }
            Ok::<(), HandlerError>(())
        }));
        (stats, stop, run)
    };
    // A is slow on partition 0 until it pauses it.
    let (a_stats, a_stop, a_run) = start(60, false);
    let a_rebalances = Arc::clone(&a_stats);
    testing::wait_until(Duration::from_secs(60), "A paused partition 0", || {
        let s = a_stats.snapshot();
        async move { s.paused >= 1 }
    })
    .await;
    // B joins (everything is revoked from A and split), works slowly for a while, and leaves.
    let (_b_stats, b_stop, b_run) = start(100, true);
    tokio::time::sleep(Duration::from_secs(4)).await;
    b_stop.shutdown();
    b_run.await.unwrap().unwrap();
    // A was assigned three times: alone, beside B, alone again.
    testing::wait_until(Duration::from_secs(30), "A reassigned after B left", || {
        let n = a_rebalances
            .rebalances
            .load(std::sync::atomic::Ordering::Relaxed);
        async move { n >= 3 }
    })
    .await;
    // A must finish both partitions: everything committed.
    testing::wait_until(Duration::from_secs(90), "all committed", || {
        let (group, topic) = (group.clone(), topic.clone());
        async move {
            let committed = testing::committed_offsets(&group, &topic).await;
            committed.values().map(|o| o.unwrap_or(0)).sum::<i64>() as u64 == PER_PARTITION * 2
        }
    })
    .await;
    a_stop.shutdown();
    let report = a_run.await.unwrap().unwrap();
    assert!(report.unfinished.is_empty(), "{:?}", report.unfinished);
    assert!(report.stats.paused >= 1, "{:?}", report.stats);
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}
