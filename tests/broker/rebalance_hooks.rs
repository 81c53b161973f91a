//! Rebalance hooks on the real broker: a first member is assigned every partition; a second
//! member joins, and the first one's `on_revoked` runs (after the finished offsets of what it
//! gives up are committed) before the second one's `on_assigned` for the same partitions; the
//! second leaves, its `on_revoked` runs, and the first is assigned them back. A hook that fails
//! is counted and the rebalance goes on.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stream_core::consumer::{
    ConsumerReport, ConsumerStats, MessageConsumer, RebalanceHooks, ShutdownHandle, TopicPartition,
};
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

/// What happened, in order: (member, "assigned" | "revoked", partitions).
type Events = Arc<Mutex<Vec<(&'static str, &'static str, Vec<i32>)>>>;
/// Each revoked partition with its committed offset as read inside `on_revoked`.
type SeenAtRevoke = Arc<Mutex<Vec<(i32, Option<i64>)>>>;

fn member(
    topic: &str,
    group: &str,
    name: &'static str,
    events: &Events,
    committed_at_revoke: &SeenAtRevoke,
) -> (
    tokio::task::JoinHandle<stream_core::Result<ConsumerReport>>,
    ShutdownHandle,
    Arc<ConsumerStats>,
) {
    let (ea, er) = (Arc::clone(events), Arc::clone(events));
    let (g, t) = (group.to_owned(), topic.to_owned());
    let seen = Arc::clone(committed_at_revoke);
    let hooks = RebalanceHooks::new()
        .on_assigned(move |parts: Vec<TopicPartition>| {
            let events = Arc::clone(&ea);
            async move {
                let ps = parts.iter().map(|p| p.partition).collect();
                events.lock().unwrap().push((name, "assigned", ps));
                Ok::<(), std::io::Error>(())
            }
        })
        .on_revoked(move |parts: Vec<TopicPartition>| {
            let events = Arc::clone(&er);
            let (g, t, seen) = (g.clone(), t.clone(), Arc::clone(&seen));
            async move {
                let committed = testing::committed_offsets(&g, &t).await;
                for p in &parts {
                    seen.lock()
                        .unwrap()
                        .push((p.partition, committed.get(&p.partition).copied().flatten()));
                }
                let ps = parts.iter().map(|p| p.partition).collect();
                events.lock().unwrap().push((name, "revoked", ps));
                Ok::<(), std::io::Error>(())
            }
        })
        .deadline(Duration::from_secs(20));
    let consumer = MessageConsumer::new(&testing::kafka_config(), &[topic], group)
        .unwrap()
        .service("hooks-test")
        .commit_interval(Duration::from_millis(100))
        .rebalance_hooks(hooks);
    let stop = consumer.shutdown_handle();
    let stats = consumer.stats();
    let run =
        tokio::spawn(consumer.run(|_m: Arc<Incoming>| async move { Ok::<(), HandlerError>(()) }));
    (run, stop, stats)
}

fn sorted(mut v: Vec<i32>) -> Vec<i32> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_fire_in_order_when_a_member_joins_and_leaves() {
    let topic = testing::unique_topic("paper", "hooks", "ticks");
    let group = testing::unique_name("hooks");
    testing::create_topic(&topic, 4).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "hooks-test").unwrap();
    for n in 0..40 {
        producer
            .send(&topic, &format!("k{n}"), &Tick { n })
            .await
            .unwrap();
    }
    let events: Events = Arc::default();
    let committed: SeenAtRevoke = Arc::default();
    let of = |who: &'static str, what: &'static str| {
        let events = Arc::clone(&events);
        move || {
            events
                .lock()
                .unwrap()
                .iter()
                .filter(|e| e.0 == who && e.1 == what)
                .count()
        }
    };

    let (a, stop_a, stats_a) = member(&topic, &group, "a", &events, &committed);
    let a_assigned = of("a", "assigned");
    testing::wait_until(Duration::from_secs(60), "a's first assignment", || {
        let n = a_assigned();
        async move { n >= 1 }
    })
    .await;
    assert_eq!(
        sorted(events.lock().unwrap()[0].2.clone()),
        vec![0, 1, 2, 3]
    );
    // Let a handle and commit the 40 records.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let (b, stop_b, _) = member(&topic, &group, "b", &events, &committed);
    let b_assigned = of("b", "assigned");
    testing::wait_until(Duration::from_secs(60), "b's assignment", || {
        let n = b_assigned();
        async move { n >= 1 }
    })
    .await;
    {
        let ev = events.lock().unwrap().clone();
        let revoked_a = ev.iter().position(|e| e.0 == "a" && e.1 == "revoked");
        let assigned_b = ev.iter().position(|e| e.0 == "b" && e.1 == "assigned");
        let (ra, ab) = (revoked_a.expect("a revoked"), assigned_b.unwrap());
        assert!(ra < ab, "a's revoke before b's assignment: {ev:?}");
        assert_eq!(sorted(ev[ra].2.clone()), sorted(ev[ab].2.clone()), "{ev:?}");
        // Inside a's on_revoked, every record of what it gave up was committed already.
        let seen = committed.lock().unwrap().clone();
        assert!(!seen.is_empty());
        let expected = testing::committed_offsets(&group, &topic).await;
        assert!(seen.iter().any(|(_, c)| c.is_some()), "{seen:?}");
        for (p, at_revoke) in &seen {
            assert_eq!(
                *at_revoke,
                expected.get(p).copied().flatten(),
                "partition {p}: {seen:?}"
            );
        }
    }

    // The member that gave partitions up has its (smaller) assignment again: not rebalancing,
    // which readiness reads.
    testing::wait_until(Duration::from_secs(30), "a's rebalance to end", || {
        let r = stats_a.rebalancing.load(Ordering::Relaxed);
        async move { !r }
    })
    .await;
    let before = events.lock().unwrap().len();
    stop_b.shutdown();
    b.await.unwrap().unwrap();
    let a_assigned = of("a", "assigned");
    testing::wait_until(Duration::from_secs(60), "a's partitions back", || {
        let n = a_assigned();
        async move { n >= 2 }
    })
    .await;
    let ev = events.lock().unwrap().clone();
    let tail = &ev[before..];
    let revoked_b = tail.iter().position(|e| e.0 == "b" && e.1 == "revoked");
    let assigned_a = tail.iter().position(|e| e.0 == "a" && e.1 == "assigned");
    assert!(
        revoked_b.unwrap() < assigned_a.unwrap(),
        "b's revoke before a's new assignment: {ev:?}"
    );
    let back = sorted(tail[assigned_a.unwrap()].2.clone());
    let given = sorted(tail[revoked_b.unwrap()].2.clone());
    assert_eq!(back, given, "{ev:?}");
    stop_a.shutdown();
    a.await.unwrap().unwrap();
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_slow_hook_is_counted_and_the_consumer_goes_on() {
    let topic = testing::unique_topic("paper", "hookfail", "ticks");
    let group = testing::unique_name("hookfail");
    testing::create_topic(&topic, 1).await;
    let hooks = RebalanceHooks::new()
        .on_assigned(|_p: Vec<TopicPartition>| async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<(), std::io::Error>(())
        })
        .deadline(Duration::from_millis(200));
    let handled = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let h = Arc::clone(&handled);
    let consumer = MessageConsumer::new(&testing::kafka_config(), &[&topic], &group)
        .unwrap()
        .service("hookfail-test")
        .rebalance_hooks(hooks);
    let stop = consumer.shutdown_handle();
    let run = tokio::spawn(consumer.run(move |_m: Arc<Incoming>| {
        let h = Arc::clone(&h);
        async move {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<(), HandlerError>(())
        }
    }));
    let producer = MessageProducer::new(&testing::kafka_config(), "hookfail-test").unwrap();
    producer.send(&topic, "k", &Tick { n: 1 }).await.unwrap();
    testing::wait_until(Duration::from_secs(60), "the record handled", || {
        let n = handled.load(std::sync::atomic::Ordering::SeqCst);
        async move { n == 1 }
    })
    .await;
    stop.shutdown();
    run.await.unwrap().unwrap();
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}
