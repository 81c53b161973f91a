//! A service handling records of one partition concurrently (`concurrency` 16, in key order),
//! killed with SIGKILL mid-stream and restarted, loses nothing, and its commits never passed an
//! unfinished offset: every offset below a partition's committed one at the kill had finished
//! before it, although records finished out of offset order. Within each run, every key's
//! records ran in order, while records of different keys of one partition ran at the same time.
//!
//! The test binary is its own child: with `STREAMKIT_CONC_CHILD` set, `main` runs the service (a
//! consumer whose handler appends `B`/`E` lines with key, sequence, partition and offset to a
//! ledger file, one `write` each, so a SIGKILL cannot tear a line). `harness = false` for that
//! reason.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stream_core::consumer::{MessageConsumer, Order};
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::{Event, testing};

const TOTAL: u64 = 3_000;
const PARTITIONS: i32 = 3;
const KEYS: u64 = 40;

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
    if std::env::var_os("STREAMKIT_CONC_CHILD").is_some() {
        rt.block_on(child());
        return;
    }
    rt.block_on(killed_mid_run_commits_only_finished_offsets_and_loses_nothing());
    println!("test killed_mid_run_commits_only_finished_offsets_and_loses_nothing ... ok");
    println!("1 passed, 0 failed");
}

/// The service under test.
async fn child() {
    let topic = std::env::var("CONC_TOPIC").unwrap();
    let group = std::env::var("CONC_GROUP").unwrap();
    let ledger_path = std::env::var("CONC_LEDGER").unwrap();
    let config = testing::kafka_config().set("session.timeout.ms", "6000");
    let consumer = MessageConsumer::new(&config, &[&topic], &group)
        .unwrap()
        .service("conc-crash-test")
        .commit_interval(Duration::from_millis(100))
        .commit_every(50)
        .concurrency(16, Order::Key);
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
                let key = msg.record.key_str().unwrap_or("-").to_owned();
                let (p, o) = (msg.record.partition, msg.record.offset);
                let line = |tag: &str| format!("{tag} {key} {seq} {p} {o}\n");
                let write = |tag: &str| {
                    ledger
                        .lock()
                        .unwrap()
                        .write_all(line(tag).as_bytes())
                        .unwrap()
                };
                write("B");
                // 1 to 7 ms: records finish out of offset order.
                tokio::time::sleep(Duration::from_millis(1 + seq * 7919 % 7)).await;
                write("E");
                Ok::<(), HandlerError>(())
            }
        })
        .await
        .unwrap();
}

#[derive(Clone)]
struct Entry {
    tag: char,
    key: String,
    seq: u64,
    partition: i32,
    offset: i64,
}

fn read_ledger(path: &str) -> Vec<Entry> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            Some(Entry {
                tag: it.next()?.chars().next()?,
                key: it.next()?.to_owned(),
                seq: it.next()?.parse().ok()?,
                partition: it.next()?.parse().ok()?,
                offset: it.next()?.parse().ok()?,
            })
        })
        .collect()
}

fn spawn_child(topic: &str, group: &str, ledger: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env("STREAMKIT_CONC_CHILD", "1")
        .env("CONC_TOPIC", topic)
        .env("CONC_GROUP", group)
        .env("CONC_LEDGER", ledger)
        .spawn()
        .expect("start the service child")
}

fn ended(entries: &[Entry]) -> usize {
    entries
        .iter()
        .filter(|e| e.tag == 'E')
        .map(|e| e.seq)
        .collect::<HashSet<_>>()
        .len()
}

/// Within one run: every key's records began in sequence order, each after the previous one
/// ended; returns the most records seen running at once in one partition.
fn check_one_run(run: &[Entry]) -> usize {
    let mut last_begun: HashMap<&str, u64> = HashMap::new();
    let mut open: HashMap<(i32, &str), u64> = HashMap::new();
    let mut open_in_partition: HashMap<i32, usize> = HashMap::new();
    let mut most = 0;
    for e in run {
        match e.tag {
            'B' => {
                if let Some(prev) = last_begun.get(e.key.as_str()) {
                    assert!(*prev < e.seq, "key {} began {} after {prev}", e.key, e.seq);
                }
                last_begun.insert(&e.key, e.seq);
                let earlier = open.insert((e.partition, &e.key), e.seq);
                assert!(
                    earlier.is_none(),
                    "key {} began {} while {earlier:?} ran",
                    e.key,
                    e.seq
                );
                let n = open_in_partition.entry(e.partition).or_default();
                *n += 1;
                most = most.max(*n);
            }
            _ => {
                if open.remove(&(e.partition, e.key.as_str())).is_some() {
                    *open_in_partition.get_mut(&e.partition).unwrap() -= 1;
                }
            }
        }
    }
    most
}

async fn killed_mid_run_commits_only_finished_offsets_and_loses_nothing() {
    let topic = testing::unique_topic("paper", "conc-crash", "fills");
    let group = testing::unique_name("conc-crash");
    testing::create_topic(&topic, PARTITIONS).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "conc-crash-test").unwrap();
    let mut pending = Vec::new();
    for seq in 0..TOTAL {
        let key = format!("k{}", seq % KEYS);
        pending.push(producer.enqueue(&topic, &key, &Fill { seq }).await.unwrap());
    }
    for p in pending {
        p.await.unwrap();
    }
    let ledger = std::env::temp_dir().join(format!("{group}.ledger"));
    let ledger = ledger.to_str().unwrap().to_owned();

    let mut child = spawn_child(&topic, &group, &ledger);
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

    // Commits never passed an unfinished offset.
    let finished: HashSet<(i32, i64)> = at_kill
        .iter()
        .filter(|e| e.tag == 'E')
        .map(|e| (e.partition, e.offset))
        .collect();
    let mut committed_total = 0;
    for (partition, committed) in &committed_at_kill {
        let committed = committed.unwrap_or(0);
        committed_total += committed;
        for offset in 0..committed {
            assert!(
                finished.contains(&(*partition, offset)),
                "offset {offset} of partition {partition} was committed ({committed}) before it finished"
            );
        }
    }
    let out_of_order = at_kill
        .iter()
        .filter(|e| e.tag == 'E')
        .fold((HashMap::new(), 0), |(mut last, n), e| {
            let prev = last.insert(e.partition, e.offset).unwrap_or(-1);
            (last, n + usize::from(e.offset < prev))
        })
        .1;
    assert!(
        committed_total > 0,
        "something was committed before the kill"
    );
    let most = check_one_run(&at_kill);
    assert!(most >= 2, "no two records of one partition ran at once");

    let mut child = spawn_child(&topic, &group, &ledger);
    testing::wait_until(Duration::from_secs(120), "every event handled", || {
        let n = ended(&read_ledger(&ledger));
        async move { n as u64 >= TOTAL }
    })
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful stop after SIGTERM: {status}");
    let all = read_ledger(&ledger);
    check_one_run(&all[at_kill.len()..]);
    let handled: HashSet<u64> = all.iter().filter(|e| e.tag == 'E').map(|e| e.seq).collect();
    assert_eq!(handled.len() as u64, TOTAL, "events lost");
    let rerun = all[at_kill.len()..]
        .iter()
        .filter(|e| e.tag == 'B' && finished.contains(&(e.partition, e.offset)))
        .count();
    for e in all[at_kill.len()..].iter().filter(|e| e.tag == 'B') {
        let committed = committed_at_kill
            .get(&e.partition)
            .copied()
            .flatten()
            .unwrap_or(0);
        assert!(
            e.offset >= committed,
            "offset {} of partition {} was committed and ran again",
            e.offset,
            e.partition
        );
    }
    println!(
        "concurrent crash: {} committed at the kill, {} finished then, {out_of_order} of them out of offset order, up to {most} at once in a partition, {rerun} finished ones handled again",
        committed_total,
        finished.len()
    );
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}
