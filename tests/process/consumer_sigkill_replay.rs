//! A service killed with SIGKILL mid-stream and restarted loses nothing, and repeats only what the
//! commit protocol allows:
//!
//! - without a shared dedup store, the events handled again are exactly among those at or after
//!   the committed offset at the kill (finished-but-uncommitted and in-flight ones);
//! - with the Redis dedup store, no event that was marked done before the kill runs again.
//!
//! The test binary is its own child: with `STREAMKIT_CRASH_CHILD` set, `main` runs the service
//! (a consumer whose handler appends `B`/`E` lines with partition and offset to a ledger file,
//! one `write` each, so a SIGKILL cannot tear a line). `harness = false` for that reason.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::reliability::dedup::redis::RedisDedupStore;
use stream_core::reliability::dedup::{DedupKey, DedupStore};
use stream_core::{Event, testing};

const TOTAL: u64 = 3_000;
const PARTITIONS: i32 = 3;

#[derive(Debug, Serialize, Deserialize)]
struct Fill {
    seq: u64,
}

impl Event for Fill {
    const EVENT_TYPE: &'static str = "order_filled";
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if std::env::var_os("STREAMKIT_CRASH_CHILD").is_some() {
        rt.block_on(child());
        return;
    }
    rt.block_on(async {
        crash_without_shared_dedup_repeats_only_uncommitted().await;
        println!("test crash_without_shared_dedup_repeats_only_uncommitted ... ok");
        crash_with_redis_dedup_repeats_nothing_marked_done().await;
        println!("test crash_with_redis_dedup_repeats_nothing_marked_done ... ok");
    });
    println!("2 passed, 0 failed");
}

/// The service under test.
async fn child() {
    let topic = std::env::var("CRASH_TOPIC").unwrap();
    let group = std::env::var("CRASH_GROUP").unwrap();
    let ledger_path = std::env::var("CRASH_LEDGER").unwrap();
    let config = testing::kafka_config().set("session.timeout.ms", "6000");
    let mut consumer = MessageConsumer::new(&config, &[&topic], &group)
        .unwrap()
        .service("crash-test")
        .commit_interval(Duration::from_millis(300));
    if let Ok(prefix) = std::env::var("CRASH_REDIS_PREFIX") {
        let store = RedisDedupStore::new(&testing::redis_url())
            .unwrap()
            .prefix(prefix);
        consumer = consumer.dedup(Arc::new(store));
    }
    let stop = consumer.shutdown_handle();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        term.recv().await;
        stop.shutdown();
    });
    let ledger = Arc::new(std::sync::Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(ledger_path)
            .unwrap(),
    ));
    consumer
        .run(move |msg: Arc<Incoming>| {
            let ledger = Arc::clone(&ledger);
            async move {
                let seq = msg.typed::<Fill>()?.data.seq;
                let (p, o) = (msg.record.partition, msg.record.offset);
                let id = msg.envelope.id;
                let line = |tag: &str| format!("{tag} {seq} {p} {o} {id}\n");
                ledger
                    .lock()
                    .unwrap()
                    .write_all(line("B").as_bytes())
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
                ledger
                    .lock()
                    .unwrap()
                    .write_all(line("E").as_bytes())
                    .unwrap();
                Ok::<(), HandlerError>(())
            }
        })
        .await
        .unwrap();
}

struct Entry {
    tag: char,
    seq: u64,
    partition: i32,
    offset: i64,
    id: uuid::Uuid,
}

fn read_ledger(path: &str) -> Vec<Entry> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            Some(Entry {
                tag: it.next()?.chars().next()?,
                seq: it.next()?.parse().ok()?,
                partition: it.next()?.parse().ok()?,
                offset: it.next()?.parse().ok()?,
                id: it.next()?.parse().ok()?,
            })
        })
        .collect()
}

fn spawn_child(topic: &str, group: &str, ledger: &str, redis_prefix: Option<&str>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("STREAMKIT_CRASH_CHILD", "1")
        .env("CRASH_TOPIC", topic)
        .env("CRASH_GROUP", group)
        .env("CRASH_LEDGER", ledger);
    if let Some(p) = redis_prefix {
        cmd.env("CRASH_REDIS_PREFIX", p);
    }
    cmd.spawn().expect("start the service child")
}

fn ended(entries: &[Entry]) -> usize {
    entries
        .iter()
        .filter(|e| e.tag == 'E')
        .map(|e| e.seq)
        .collect::<HashSet<_>>()
        .len()
}

struct KillOutcome {
    at_kill: Vec<Entry>,
    after: Vec<Entry>,
    committed_at_kill: HashMap<i32, Option<i64>>,
    /// With Redis: the events the dedup store had marked done at the kill.
    marked_at_kill: HashSet<u64>,
}

/// Runs the service, SIGKILLs it a third of the way, restarts it until every event ended, then
/// stops it gracefully.
async fn kill_and_restart(redis_prefix: Option<&str>) -> KillOutcome {
    let topic = testing::unique_topic("paper", "crash", "fills");
    let group = testing::unique_name("crash");
    testing::create_topic(&topic, PARTITIONS).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "crash-test").unwrap();
    let mut pending = Vec::new();
    for seq in 0..TOTAL {
        pending.push(
            producer
                .enqueue(&topic, &format!("k{}", seq % 30), &Fill { seq })
                .await
                .unwrap(),
        );
    }
    for p in pending {
        p.await.unwrap();
    }
    let ledger = std::env::temp_dir().join(format!("{group}.ledger"));
    let ledger = ledger.to_str().unwrap().to_owned();

    let mut child = spawn_child(&topic, &group, &ledger, redis_prefix);
    testing::wait_until(
        Duration::from_secs(90),
        "a third of the events handled",
        || {
            let n = ended(&read_ledger(&ledger));
            async move { n as u64 >= TOTAL / 3 }
        },
    )
    .await;
    // SIGKILL: no shutdown code runs.
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = read_ledger(&ledger);
    let committed_at_kill = testing::committed_offsets(&group, &topic).await;
    let mut marked_at_kill = HashSet::new();
    if let Some(prefix) = redis_prefix {
        let store = RedisDedupStore::new(&testing::redis_url())
            .unwrap()
            .prefix(prefix);
        for e in at_kill.iter().filter(|e| e.tag == 'E') {
            let key = DedupKey::new("crash-test", group.as_str(), "paper", e.id);
            if store.is_done(&key).await.unwrap() {
                marked_at_kill.insert(e.seq);
            }
        }
    }

    let mut child = spawn_child(&topic, &group, &ledger, redis_prefix);
    testing::wait_until(Duration::from_secs(120), "every event handled", || {
        let n = ended(&read_ledger(&ledger));
        async move { n as u64 >= TOTAL }
    })
    .await;
    unsafe_sigterm(&child);
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful stop after SIGTERM: {status}");
    let all = read_ledger(&ledger);
    let after = all.into_iter().skip(at_kill.len()).collect();
    let _ = producer.shutdown(Duration::from_secs(5)).await;
    KillOutcome {
        at_kill,
        after,
        committed_at_kill,
        marked_at_kill,
    }
}

fn unsafe_sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn crash_without_shared_dedup_repeats_only_uncommitted() {
    let out = kill_and_restart(None).await;
    let finished: HashSet<u64> = out
        .at_kill
        .iter()
        .filter(|e| e.tag == 'E')
        .map(|e| e.seq)
        .collect();
    let started: HashSet<u64> = out
        .at_kill
        .iter()
        .filter(|e| e.tag == 'B')
        .map(|e| e.seq)
        .collect();
    let in_flight = started.difference(&finished).count();
    let rerun: Vec<&Entry> = out
        .after
        .iter()
        .filter(|e| e.tag == 'B' && started.contains(&e.seq))
        .collect();
    // Every repeated event was at or after its partition's committed offset at the kill.
    for e in &rerun {
        let committed = out
            .committed_at_kill
            .get(&e.partition)
            .copied()
            .flatten()
            .unwrap_or(0);
        assert!(
            e.offset >= committed,
            "event {} at {}:{} was committed ({committed}) and ran again",
            e.seq,
            e.partition,
            e.offset
        );
    }
    let uncommitted_finished = out
        .at_kill
        .iter()
        .filter(|e| e.tag == 'E')
        .filter(|e| {
            e.offset
                >= out
                    .committed_at_kill
                    .get(&e.partition)
                    .copied()
                    .flatten()
                    .unwrap_or(0)
        })
        .count();
    println!(
        "crash without shared dedup: {} in flight at the kill, {} finished but uncommitted, {} handled again",
        in_flight,
        uncommitted_finished,
        rerun.len()
    );
    assert!(rerun.len() <= in_flight + uncommitted_finished);
    let all: HashSet<u64> = out
        .at_kill
        .iter()
        .chain(&out.after)
        .filter(|e| e.tag == 'E')
        .map(|e| e.seq)
        .collect();
    assert_eq!(all.len() as u64, TOTAL, "events lost");
}

async fn crash_with_redis_dedup_repeats_nothing_marked_done() {
    let prefix = format!("{}:", testing::unique_name("crash"));
    let out = kill_and_restart(Some(&prefix)).await;
    let finished: HashSet<u64> = out
        .at_kill
        .iter()
        .filter(|e| e.tag == 'E')
        .map(|e| e.seq)
        .collect();
    let started: HashSet<u64> = out
        .at_kill
        .iter()
        .filter(|e| e.tag == 'B')
        .map(|e| e.seq)
        .collect();
    let rerun: HashSet<u64> = out
        .after
        .iter()
        .filter(|e| e.tag == 'B' && started.contains(&e.seq))
        .map(|e| e.seq)
        .collect();
    let in_flight = started.difference(&finished).count();
    let marked_rerun: Vec<_> = rerun.intersection(&out.marked_at_kill).collect();
    println!(
        "crash with redis dedup: {} finished before the kill ({} marked done in redis), {} in flight, {} handled again",
        finished.len(),
        out.marked_at_kill.len(),
        in_flight,
        rerun.len()
    );
    assert!(out.marked_at_kill.len() as u64 >= TOTAL / 3 - PARTITIONS as u64);
    assert!(
        marked_rerun.is_empty(),
        "events marked done ran again: {marked_rerun:?}"
    );
    // What may run again: in flight at the kill, or finished in the instant before its mark.
    let unmarked_finished = finished.len() - out.marked_at_kill.len();
    assert!(rerun.len() <= in_flight + unmarked_finished);
    let all: HashSet<u64> = out
        .at_kill
        .iter()
        .chain(&out.after)
        .filter(|e| e.tag == 'E')
        .map(|e| e.seq)
        .collect();
    assert_eq!(all.len() as u64, TOTAL, "events lost");
}
