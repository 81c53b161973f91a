//! `streamkit dlq` on the real broker, driven as a user drives it: a service dead-letters poison
//! records, `list` and `show` say why, and after the fix `replay` gets each handled exactly once;
//! replaying again replays nothing, and a replay killed midway and run again publishes each dead
//! letter once.

#[path = "../support/cli.rs"]
mod cli;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, OwnedHeaders, OwnedMessage};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::handler::{ErrorKind, HandlerError, Incoming};
use stream_core::reliability::dedup::DedupStore;
use stream_core::reliability::dedup::memory::MemoryDedupStore;
use stream_core::reliability::dlq::{DeadLetter, DeadLetterWriter, dlq_topic};
use stream_core::{Event, MessageProducer, testing};

use cli::Run;

const PARTITIONS: i32 = 2;

#[derive(Debug, Serialize, Deserialize)]
struct Signal {
    seq: u32,
    poison: bool,
}

impl Event for Signal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

/// A broker namespace of its own, its `clidlq.signals` topic and a catalog declaring it. The
/// name matches no service's pattern: a service on the shared broker reading `*.signals.raw`
/// would read the topic too and write dead letters of its own to it.
struct Namespace {
    topic: String,
    dlq: String,
    catalog: PathBuf,
}

async fn namespace() -> Namespace {
    let broker = cli::unique_broker();
    let catalog = cli::catalog_file(&format!(
        "brokers = [\"{broker}\"]\n[topics.\"clidlq.signals\"]\nevent = \"trading_signal\"\n\
         partitions = {PARTITIONS}\n"
    ));
    let topic = format!("{broker}.clidlq.signals");
    testing::create_topic(&topic, PARTITIONS).await;
    Namespace {
        dlq: dlq_topic(&topic),
        topic,
        catalog,
    }
}

/// Runs the command off the async runtime's threads (the services under test run on them).
async fn streamkit(catalog: &Path, args: &[&str]) -> Run {
    let catalog = catalog.to_owned();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli::run(&catalog, &args)
    })
    .await
    .expect("the command's task")
}

/// Every committed record of `topic`, read to its end offsets now (a transaction marker may
/// be a partition's last offset: the end is where the position passed the end offset).
async fn committed_records(topic: &str) -> Vec<OwnedMessage> {
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || read_committed(&topic))
        .await
        .expect("read task")
}

fn read_committed(topic: &str) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = testing::kafka_config()
        .set("group.id", testing::unique_name("cli-dlq-read"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .to_client_config()
        .create()
        .expect("a reader");
    let timeout = Duration::from_secs(10);
    let mut ends = HashMap::new();
    let mut starts = TopicPartitionList::new();
    for p in 0..partition_count(&consumer, topic) {
        let (low, high) = consumer.fetch_watermarks(topic, p, timeout).unwrap();
        if high > low {
            ends.insert(p, high);
            starts
                .add_partition_offset(topic, p, Offset::Offset(low))
                .unwrap();
        }
    }
    consumer.assign(&starts).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    while !ends.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{topic} not read to its end in 60 s"
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) if m.offset() < ends[&m.partition()] => out.push(m.detach()),
            Some(Ok(_)) | None => {}
            Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(e)) => panic!("reading {topic}: {e}"),
        }
        let positions = consumer.position().unwrap();
        ends.retain(|p, end| {
            !matches!(positions.find_partition(topic, *p).map(|e| e.offset()),
                Some(Offset::Offset(at)) if at >= *end)
        });
    }
    out
}

fn partition_count(consumer: &BaseConsumer, topic: &str) -> i32 {
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    meta.topics()[0].partitions().len() as i32
}

fn header(m: &OwnedMessage, name: &str) -> Option<String> {
    let headers = m.headers()?;
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The event ids a service's handler ran for, in order.
type Handled = Arc<Mutex<Vec<uuid::Uuid>>>;

/// A service on the topic in `group`; `fixed` accepts poison records, else they are a
/// permanent error (dead-lettered at once). Returns its stop, its handled ids and its run.
fn service(
    topic: &str,
    group: &str,
    dedup: Arc<dyn DedupStore>,
    fixed: bool,
) -> (
    stream_core::consumer::ShutdownHandle,
    Handled,
    Arc<stream_core::consumer::ConsumerStats>,
    tokio::task::JoinHandle<stream_core::Result<stream_core::consumer::ConsumerReport>>,
) {
    let consumer = MessageConsumer::new(&testing::kafka_config(), &[topic], group)
        .unwrap()
        .service("cli-dlq-test")
        .dedup(dedup);
    let handled: Handled = Arc::default();
    let (stop, stats) = (consumer.shutdown_handle(), consumer.stats());
    let seen = Arc::clone(&handled);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let seen = Arc::clone(&seen);
        async move {
            let signal = msg.typed::<Signal>()?;
            if signal.data.poison && !fixed {
                return Err(HandlerError::permanent(format!(
                    "poison signal {}",
                    signal.data.seq
                )));
            }
            seen.lock().unwrap().push(signal.id);
            Ok::<(), HandlerError>(())
        }
    }));
    (stop, handled, stats, run)
}

/// Publishes `count` signals, every third poison; returns (good ids, poison ids).
async fn publish(topic: &str, count: u32) -> (Vec<uuid::Uuid>, Vec<uuid::Uuid>) {
    let producer = MessageProducer::new(&testing::kafka_config(), "cli-dlq-test").unwrap();
    let (mut good, mut poison) = (Vec::new(), Vec::new());
    for seq in 0..count {
        let signal = Signal {
            seq,
            poison: seq % 3 == 0,
        };
        let id = producer
            .send(topic, &format!("key-{seq}"), &signal)
            .await
            .unwrap();
        if signal.poison {
            poison.push(id)
        } else {
            good.push(id)
        }
    }
    (good, poison)
}

fn count_of(run: &Run, action: &str) -> usize {
    run.json_lines()
        .iter()
        .filter(|l| l["action"] == action)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_replayed_after_the_fix_are_handled_exactly_once() {
    let ns = namespace().await;
    let (good, poison) = publish(&ns.topic, 12).await;
    let group = testing::unique_name("cli-dlq");
    let dedup: Arc<dyn DedupStore> = Arc::new(MemoryDedupStore::default());

    // The buggy service dead-letters every poison record, then stops.
    let (stop, handled, stats, run) = service(&ns.topic, &group, Arc::clone(&dedup), false);
    testing::wait_until(Duration::from_secs(60), "all 12 finished", || {
        let s = stats.snapshot();
        async move { s.handled + s.dead_lettered >= 12 }
    })
    .await;
    stop.shutdown();
    run.await.unwrap().unwrap();
    assert_eq!(handled.lock().unwrap().len(), good.len());

    check_list_and_show(&ns, &poison).await;

    // The fixed service runs in the same group (nothing left to read) with the same dedup store.
    let (stop, handled, stats, run) = service(&ns.topic, &group, Arc::clone(&dedup), true);
    let before = committed_records(&ns.topic).await.len();

    let dry = streamkit(
        &ns.catalog,
        &["--json", "dlq", "replay", &ns.dlq, "--dry-run"],
    )
    .await;
    let dry = dry.expect_code(0);
    assert_eq!(
        count_of(&dry, "would_replay"),
        poison.len(),
        "{}",
        dry.stdout
    );
    assert_eq!(
        committed_records(&ns.topic).await.len(),
        before,
        "a dry run publishes nothing"
    );

    // Offset 0 of each dead-letter partition first, then the rest.
    let first = streamkit(
        &ns.catalog,
        &["--json", "dlq", "replay", &ns.dlq, "--offset", "0..1"],
    )
    .await;
    let first = first.expect_code(0);
    let in_range = count_of(&first, "replayed");
    assert!(
        first.json_lines().iter().all(|l| l["offset"] == 0),
        "{}",
        first.stdout
    );
    assert!((1..poison.len()).contains(&in_range), "{}", first.stdout);
    let rest = streamkit(&ns.catalog, &["dlq", "replay", &ns.dlq])
        .await
        .expect_code(0);
    let summary = format!(
        "replayed {}, skipped {in_range} already replayed, 0 not replayed",
        poison.len() - in_range
    );
    assert!(rest.stderr.contains(&summary), "{}", rest.stderr);

    testing::wait_until(Duration::from_secs(60), "the replays handled", || {
        let done = handled.lock().unwrap().len() >= poison.len();
        async move { done }
    })
    .await;
    let again = streamkit(&ns.catalog, &["--json", "dlq", "replay", &ns.dlq]).await;
    let again = again.expect_code(0);
    assert_eq!(count_of(&again, "replayed"), 0, "{}", again.stdout);
    assert_eq!(
        count_of(&again, "skipped"),
        poison.len(),
        "{}",
        again.stdout
    );
    let after = committed_records(&ns.topic).await;
    assert_eq!(
        after.len(),
        before + poison.len(),
        "each dead letter replayed once"
    );
    check_replayed_records(&ns, &after[..]).await;

    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.shutdown();
    run.await.unwrap().unwrap();
    let mut seen = handled.lock().unwrap().clone();
    seen.sort();
    let mut wanted = poison.clone();
    wanted.sort();
    assert_eq!(
        seen, wanted,
        "each poison record handled exactly once, nothing else"
    );
    assert_eq!(
        stats.snapshot().deduplicated,
        0,
        "a replay is not taken for a duplicate"
    );
}

/// `dlq list` counts the dead letters by kind; `dlq show` gives each one's headers and envelope.
async fn check_list_and_show(ns: &Namespace, poison: &[uuid::Uuid]) {
    let list = streamkit(&ns.catalog, &["--json", "dlq", "list", &ns.topic]).await;
    let lines = list.expect_code(0).json_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["topic"], ns.dlq.as_str());
    assert_eq!(lines[0]["dead_letters"], poison.len());
    assert_eq!(lines[0]["by_error_kind"]["permanent"], poison.len());
    assert_eq!(lines[0]["replayed"], 0);
    assert!(
        lines[0]["oldest_failure"].as_str().unwrap()
            <= lines[0]["newest_failure"].as_str().unwrap()
    );

    let human = streamkit(&ns.catalog, &["dlq", "list"])
        .await
        .expect_code(0);
    let line = human
        .stdout
        .lines()
        .find(|l| l.starts_with(&ns.dlq))
        .expect("our topic");
    assert!(
        line.contains(&format!(
            "{} dead letters  permanent={}",
            poison.len(),
            poison.len()
        )),
        "{line}"
    );

    let show = streamkit(&ns.catalog, &["--json", "dlq", "show", &ns.dlq]).await;
    let shown = show.expect_code(0).json_lines();
    let ids: HashSet<String> = shown
        .iter()
        .map(|l| l["envelope"]["id"].as_str().unwrap().to_owned())
        .collect();
    let wanted: HashSet<String> = poison.iter().map(|id| id.to_string()).collect();
    assert_eq!(ids, wanted);
    for l in &shown {
        assert_eq!(l["dlq"]["original_topic"], ns.topic.as_str());
        assert_eq!(l["dlq"]["error_kind"], "permanent");
        assert_eq!(l["dlq"]["attempts"], 1);
        assert!(
            l["dlq"]["error"]
                .as_str()
                .unwrap()
                .starts_with("poison signal"),
            "{l}"
        );
        assert_eq!(l["envelope"]["data"]["poison"], true);
    }
    let one = streamkit(&ns.catalog, &["dlq", "show", &ns.dlq, "--limit", "1"]).await;
    let one = one.expect_code(0);
    assert!(
        one.stdout
            .contains("permanent after 1 attempt(s): poison signal"),
        "{}",
        one.stdout
    );
    assert!(one.stdout.contains("trading_signal id="), "{}", one.stdout);
}

/// The replayed records carry the original bytes and key, and replay headers instead of the
/// dead letters' own.
async fn check_replayed_records(ns: &Namespace, records: &[OwnedMessage]) {
    let dead = committed_records(&ns.dlq).await;
    let replayed: Vec<&OwnedMessage> = records
        .iter()
        .filter(|m| header(m, "streamkit.replay.dlq_topic").is_some())
        .collect();
    assert_eq!(replayed.len(), dead.len());
    for m in replayed {
        assert_eq!(
            header(m, "streamkit.replay.dlq_topic").as_deref(),
            Some(ns.dlq.as_str())
        );
        let partition: i32 = header(m, "streamkit.replay.dlq_partition")
            .unwrap()
            .parse()
            .unwrap();
        let offset: i64 = header(m, "streamkit.replay.dlq_offset")
            .unwrap()
            .parse()
            .unwrap();
        let letter = dead
            .iter()
            .find(|d| d.partition() == partition && d.offset() == offset)
            .expect("the dead letter it came from");
        assert_eq!(m.payload(), letter.payload(), "the original bytes");
        assert_eq!(m.key(), letter.key());
        assert!(header(m, "streamkit.replay.at").is_some());
        let names: Vec<String> = m
            .headers()
            .unwrap()
            .iter()
            .map(|h| h.key.to_owned())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with("dlq.")), "{names:?}");
        assert!(
            names.iter().any(|n| n == "event_id"),
            "original headers kept: {names:?}"
        );
    }
}

/// Writes `count` dead letters of `topic` (envelopes that a handler refused) as a service does.
async fn dead_letters(topic: &str, count: u32) {
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "cli-dlq-test").unwrap();
    let writer =
        DeadLetterWriter::new(&config, producer, "cli-dlq-test", "cli-dlq", PARTITIONS).unwrap();
    let now = Utc::now();
    let writes = (0..count).map(|seq| {
        let value = serde_json::to_vec(&serde_json::json!({ "seq": seq })).unwrap();
        let key = format!("key-{seq}");
        let writer = &writer;
        async move {
            let letter = DeadLetter {
                topic,
                partition: (seq % PARTITIONS as u32) as i32,
                offset: i64::from(seq),
                key: Some(key.as_bytes()),
                value: Some(&value),
                headers: &[],
                error: "refused".into(),
                kind: ErrorKind::Permanent,
                attempts: 1,
                first_failure: now,
                last_failure: now,
            };
            writer.write(&letter).await.unwrap();
        }
    });
    futures::future::join_all(writes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_killed_midway_and_run_again_publishes_each_dead_letter_once() {
    const COUNT: u32 = 1000;
    let ns = namespace().await;
    dead_letters(&ns.topic, COUNT).await;

    // Its output unread, the command blocks once the pipe is full, long before its last line
    // (a line is over 100 bytes; a pipe holds 64 KiB): killed there, it has replayed part.
    let mut child = cli::streamkit(&ns.catalog)
        .args(["dlq", "replay", &ns.dlq])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_some_replays(&ns.topic).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = committed_records(&ns.topic).await.len();
    assert!(
        at_kill < COUNT as usize,
        "the kill came after the whole replay"
    );

    let rest = streamkit(&ns.catalog, &["--json", "dlq", "replay", &ns.dlq]).await;
    let rest = rest.expect_code(0);
    let (skipped, replayed) = (count_of(&rest, "skipped"), count_of(&rest, "replayed"));
    let now = committed_records(&ns.topic).await.len();
    let counts =
        format!("{at_kill} at the kill, then {skipped} skipped, {replayed} replayed: {now}");
    assert_eq!(
        skipped, at_kill,
        "the ledger holds what was committed ({counts})"
    );
    assert_eq!(replayed, COUNT as usize - at_kill, "{counts}");

    let records = committed_records(&ns.topic).await;
    let mut from: Vec<(String, String)> = records
        .iter()
        .map(|m| {
            let p = header(m, "streamkit.replay.dlq_partition").unwrap();
            (p, header(m, "streamkit.replay.dlq_offset").unwrap())
        })
        .collect();
    from.sort();
    from.dedup();
    assert_eq!(
        records.len(),
        COUNT as usize,
        "each dead letter published once"
    );
    assert_eq!(from.len(), COUNT as usize, "no dead letter published twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_killed_inside_a_transaction_is_fenced_and_finished_once() {
    const COUNT: u32 = 500;
    let ns = namespace().await;
    dead_letters(&ns.topic, COUNT).await;

    // The first batch's lines are printed once it is committed; the next batch's transaction
    // opens right after, so a kill then most often lands inside it.
    let mut child = cli::streamkit(&ns.catalog)
        .args(["dlq", "replay", &ns.dlq])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let lines = std::io::BufReader::new(stdout).lines();
        assert_eq!(lines.take(100).count(), 100, "the first batch replayed");
        child.kill().unwrap();
        child.wait().unwrap();
    })
    .await
    .unwrap();

    // The next replay fences the killed one: its open transaction is aborted, and only the
    // dead letters it did not commit are published.
    let rest = streamkit(&ns.catalog, &["--json", "dlq", "replay", &ns.dlq]).await;
    let rest = rest.expect_code(0);
    let (skipped, replayed) = (count_of(&rest, "skipped"), count_of(&rest, "replayed"));
    assert!(skipped >= 100, "{skipped} skipped");
    assert_eq!(skipped + replayed, COUNT as usize);
    let records = committed_records(&ns.topic).await;
    let mut from: Vec<(String, String)> = records
        .iter()
        .map(|m| {
            let p = header(m, "streamkit.replay.dlq_partition").unwrap();
            (p, header(m, "streamkit.replay.dlq_offset").unwrap())
        })
        .collect();
    from.sort();
    from.dedup();
    let counts = format!(
        "{skipped} skipped, {replayed} replayed, {} published",
        records.len()
    );
    assert_eq!(
        records.len(),
        COUNT as usize,
        "each dead letter published once ({counts})"
    );
    assert_eq!(
        from.len(),
        COUNT as usize,
        "no dead letter published twice ({counts})"
    );
}

/// Waits until some replayed records are committed on `topic`.
async fn wait_for_some_replays(topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = committed_records(topic).await.len();
        if n > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "no replay committed in 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_targetless_dead_letters_are_reported_and_exit_1() {
    let ns = namespace().await;
    dead_letters(&ns.topic, 2).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "cli-dlq-test").unwrap();
    let truncated = OwnedHeaders::new()
        .insert(rdkafka::message::Header {
            key: "dlq.original_topic",
            value: Some(ns.topic.as_str()),
        })
        .insert(rdkafka::message::Header {
            key: "dlq.error_kind",
            value: Some("permanent"),
        })
        .insert(rdkafka::message::Header {
            key: "dlq.value_truncated",
            value: Some("true"),
        });
    producer
        .send_record(&ns.dlq, Some(b"big"), b"{\"start\":", truncated)
        .await
        .unwrap();
    let bare = OwnedHeaders::new();
    producer
        .send_record(&ns.dlq, Some(b"bare"), b"{}", bare)
        .await
        .unwrap();

    let run = streamkit(&ns.catalog, &["--json", "dlq", "replay", &ns.dlq])
        .await
        .expect_code(1);
    assert_eq!(count_of(&run, "replayed"), 2, "{}", run.stdout);
    let refused: Vec<String> = run
        .json_lines()
        .iter()
        .filter(|l| l["action"] == "not_replayed")
        .map(|l| l["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(refused.len(), 2, "{}", run.stdout);
    assert!(
        refused.iter().any(|r| r.contains("truncated")),
        "{refused:?}"
    );
    assert!(refused.iter().any(|r| r.contains("--to")), "{refused:?}");
    assert!(
        run.stderr
            .contains("2 of the 4 selected dead letters not replayed"),
        "{}",
        run.stderr
    );
    assert_eq!(committed_records(&ns.topic).await.len(), 2);

    let kinds = streamkit(&ns.catalog, &["--json", "dlq", "list", &ns.topic])
        .await
        .expect_code(0);
    let line = &kinds.json_lines()[0];
    assert_eq!(line["by_error_kind"]["permanent"], 3);
    assert_eq!(line["by_error_kind"]["unknown"], 1);
    assert_eq!(line["replayed"], 2);

    let usage = streamkit(&ns.catalog, &["dlq", "show", &ns.topic])
        .await
        .expect_code(2);
    assert!(
        usage.stderr.contains("not a dead-letter topic"),
        "{}",
        usage.stderr
    );
}
