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
    let group = testing::unique_name("cli-dlq");
    let dedup: Arc<dyn DedupStore> = Arc::new(MemoryDedupStore::default());
    let poison = dead_letter_the_poison(&ns, &group, &dedup).await;
    check_list(&ns, poison.len()).await;
    check_show(&ns, &poison).await;

    // The fixed service runs in the same group (nothing left to read) with the same dedup store.
    let (stop, handled, stats, run) = service(&ns.topic, &group, Arc::clone(&dedup), true);
    let before = committed_records(&ns.topic).await.len();
    replay_dry_then_in_two_ranges(&ns, poison.len(), before).await;
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
    let once = "each dead letter replayed once";
    assert_eq!(after.len(), before + poison.len(), "{once}");
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
        "each poison record handled once, nothing else"
    );
    let deduplicated = stats.snapshot().deduplicated;
    assert_eq!(deduplicated, 0, "a replay is not taken for a duplicate");
}

/// Publishes 12 signals; a buggy service in `group` dead-letters the poison ones, then stops.
/// Returns the poison ids.
async fn dead_letter_the_poison(
    ns: &Namespace,
    group: &str,
    dedup: &Arc<dyn DedupStore>,
) -> Vec<uuid::Uuid> {
    let (good, poison) = publish(&ns.topic, 12).await;
    let (stop, handled, stats, run) = service(&ns.topic, group, Arc::clone(dedup), false);
    testing::wait_until(Duration::from_secs(60), "all 12 finished", || {
        let s = stats.snapshot();
        async move { s.handled + s.dead_lettered >= 12 }
    })
    .await;
    stop.shutdown();
    run.await.unwrap().unwrap();
    assert_eq!(handled.lock().unwrap().len(), good.len());
    poison
}

/// A dry run publishes nothing; `--offset 0..1` replays offset 0 of each dead-letter partition,
/// and a replay of everything then replays the rest and skips those.
async fn replay_dry_then_in_two_ranges(ns: &Namespace, poison: usize, before: usize) {
    let dry = ["--json", "dlq", "replay", &ns.dlq, "--dry-run"];
    let dry = streamkit(&ns.catalog, &dry).await.expect_code(0);
    assert_eq!(count_of(&dry, "would_replay"), poison, "{}", dry.stdout);
    let now = committed_records(&ns.topic).await.len();
    assert_eq!(now, before, "a dry run publishes nothing");

    let first = ["--json", "dlq", "replay", &ns.dlq, "--offset", "0..1"];
    let first = streamkit(&ns.catalog, &first).await.expect_code(0);
    let in_range = count_of(&first, "replayed");
    let offsets_0 = first.json_lines().iter().all(|l| l["offset"] == 0);
    assert!(offsets_0, "{}", first.stdout);
    assert!((1..poison).contains(&in_range), "{}", first.stdout);

    let rest = streamkit(&ns.catalog, &["dlq", "replay", &ns.dlq]).await;
    let rest = rest.expect_code(0);
    let summary = format!(
        "replayed {}, skipped {in_range} already replayed, 0 not replayed",
        poison - in_range
    );
    assert!(rest.stderr.contains(&summary), "{}", rest.stderr);
}

/// `dlq list` counts the dead letters by kind, as JSON and as text.
async fn check_list(ns: &Namespace, poison: usize) {
    let list = streamkit(&ns.catalog, &["--json", "dlq", "list", &ns.topic]).await;
    let lines = list.expect_code(0).json_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["topic"], ns.dlq.as_str());
    assert_eq!(line["dead_letters"], poison);
    assert_eq!(line["by_error_kind"]["permanent"], poison);
    assert_eq!(line["replayed"], 0);
    let (oldest, newest) = (&line["oldest_failure"], &line["newest_failure"]);
    assert!(
        oldest.as_str().unwrap() <= newest.as_str().unwrap(),
        "{line}"
    );

    let human = streamkit(&ns.catalog, &["dlq", "list", &ns.dlq]).await;
    let human = human.expect_code(0);
    let wanted = format!("{poison} dead letters  permanent={poison}  oldest ");
    assert!(human.stdout.starts_with(&ns.dlq), "{}", human.stdout);
    assert!(human.stdout.contains(&wanted), "{}", human.stdout);
}

/// `dlq show` gives each dead letter's `dlq.*` headers and its envelope.
async fn check_show(ns: &Namespace, poison: &[uuid::Uuid]) {
    let show = streamkit(&ns.catalog, &["--json", "dlq", "show", &ns.dlq]).await;
    let shown = show.expect_code(0).json_lines();
    let ids: HashSet<&str> = shown
        .iter()
        .map(|l| l["envelope"]["id"].as_str().unwrap())
        .collect();
    let wanted: Vec<String> = poison.iter().map(|id| id.to_string()).collect();
    assert_eq!(ids, wanted.iter().map(String::as_str).collect());
    for l in &shown {
        let dlq = &l["dlq"];
        assert_eq!(dlq["original_topic"], ns.topic.as_str());
        assert_eq!(
            (&dlq["error_kind"], &dlq["attempts"]),
            (&"permanent".into(), &1.into())
        );
        let error = dlq["error"].as_str().unwrap();
        assert!(error.starts_with("poison signal"), "{l}");
        assert_eq!(l["envelope"]["data"]["poison"], true);
    }
    let one = streamkit(&ns.catalog, &["dlq", "show", &ns.dlq, "--limit", "1"]).await;
    let text = one.expect_code(0).stdout;
    assert!(
        text.contains("permanent after 1 attempt(s): poison signal"),
        "{text}"
    );
    assert!(text.contains("trading_signal id="), "{text}");
    assert_eq!(text.lines().count(), 3, "one dead letter: {text}");
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

    assert_each_published_once(&ns.topic, COUNT as usize, "after the kill and a replay").await;
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
    let counts = format!("then {skipped} skipped, {replayed} replayed");
    assert_each_published_once(&ns.topic, COUNT as usize, &counts).await;
}

/// Asserts that `topic` holds `count` records, each the replay of another dead letter
/// (`context` says what happened before).
async fn assert_each_published_once(topic: &str, count: usize, context: &str) {
    let records = committed_records(topic).await;
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
        count,
        "each dead letter published once ({context})"
    );
    assert_eq!(
        from.len(),
        count,
        "no dead letter published twice ({context})"
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
    write_unreplayable(&ns).await;

    let run = ["--json", "dlq", "replay", &ns.dlq];
    let run = streamkit(&ns.catalog, &run).await.expect_code(1);
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
    let summary = "2 of the 4 selected dead letters not replayed";
    assert!(run.stderr.contains(summary), "{}", run.stderr);
    assert_eq!(committed_records(&ns.topic).await.len(), 2);

    let kinds = ["--json", "dlq", "list", &ns.topic];
    let kinds = streamkit(&ns.catalog, &kinds).await.expect_code(0);
    let line = &kinds.json_lines()[0];
    assert_eq!(line["by_error_kind"]["permanent"], 3);
    assert_eq!(line["by_error_kind"]["unknown"], 1);
    assert_eq!(line["replayed"], 2);

    let usage = streamkit(&ns.catalog, &["dlq", "show", &ns.topic]).await;
    let usage = usage.expect_code(2);
    assert!(
        usage.stderr.contains("not a dead-letter topic"),
        "{}",
        usage.stderr
    );
}

/// A reference dead letter (its value truncated) and one without any `dlq.*` header.
async fn write_unreplayable(ns: &Namespace) {
    let producer = MessageProducer::new(&testing::kafka_config(), "cli-dlq-test").unwrap();
    let header = |key, value| rdkafka::message::Header {
        key,
        value: Some(value),
    };
    let truncated = OwnedHeaders::new()
        .insert(header("dlq.original_topic", ns.topic.as_str()))
        .insert(header("dlq.error_kind", "permanent"))
        .insert(header("dlq.value_truncated", "true"));
    let start = b"{\"start\":";
    let sent = producer.send_record(&ns.dlq, Some(b"big"), start, truncated);
    sent.await.unwrap();
    let bare = OwnedHeaders::new();
    let sent = producer.send_record(&ns.dlq, Some(b"bare"), b"{}", bare);
    sent.await.unwrap();
}
