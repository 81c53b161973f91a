//! Exactly-once mode as users run it: the risk-manager example with `STREAMKIT_EXACTLY_ONCE=1`,
//! killed with SIGKILL mid-stream and restarted under its own instance name, fed by a Python
//! producer (aiokafka, pydantic envelopes) on the real broker. Judged by what a downstream
//! `read_committed` reader sees on the topics: every input signal has exactly one output on
//! `<broker>.signals.validated`/`<broker>.signals.rejected` (its `causation_id` the input's id),
//! and every poison record exactly one dead letter on `<topic>.dlq`, however many kills.
//!
//! - `one_instance_killed_three_times_outputs_each_input_once`: instance `eos-1`, three kills.
//! - `two_instances_killed_in_turn_output_each_input_once`: `eos-a` and `eos-b` in one group, a
//!   random one killed and restarted with its own name, three times.
//! - `poison_records_dead_lettered_once_across_kills`: undecodable records and envelopes breaking
//!   the topic contract mixed into the stream, three kills.
//!
//! After each kill the restarted instance must fence its predecessor: the transaction the killed
//! process left open is aborted at once (the `read_committed` end of every output partition it
//! held back passes the records written before the kill within seconds, not after
//! `transaction.timeout.ms`), and at least one of the kills must have caught a transaction open.
//! A `read_uncommitted` reader counts the aborted outputs, for information. Before its first
//! instance starts, each scenario makes sure the example's group has no other members (an example
//! service left running on this broker would take partitions of its inputs).
//!
//! The service binary is `target/<profile>/examples/risk_manager` (`cargo build --example
//! risk_manager` first; `scripts/test` does). `harness = false`: the scenarios share the example's
//! topics and consumer group, so they run one after the other; each runs even if one before it
//! failed.

#[path = "../support/python_producer.rs"]
mod python_producer;

#[path = "../support/risk_manager_example.rs"]
mod risk_manager_example;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use python_producer::{Raw, produce};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, OwnedMessage};
use rdkafka::{Message, Offset, TopicPartitionList};
use risk_manager_example::{
    BROKERS, output_topics, random_below, repo, risk_manager, signal, signal_topics,
};
use serde_json::json;
use stream_core::envelope::codec::RawEnvelope;
use stream_core::reliability::dlq::{dlq_topic, headers};
use stream_core::testing;
use uuid::Uuid;

const GROUP: &str = "risk-manager.signals";
const PARTITIONS: i32 = 3;
/// Signals per broker in the first two scenarios.
const PER_BROKER: usize = 10_000;
/// Signals per broker in the poison scenario, in `POISON_GAPS + 1` chunks with poison records
/// between them.
const POISON_PER_BROKER: usize = 6_000;
const POISON_GAPS: usize = 3;
/// One transaction: this many messages or this long, whichever comes first.
const COMMIT_EVERY: u64 = 1_000;
const COMMIT_INTERVAL_MS: u64 = 1_000;
/// The children's `session.timeout.ms`: a static member stopped leaves its group this long after.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
const KILLS: usize = 3;
/// How soon after a restart the transaction the killed process left open must be gone (fenced
/// and aborted); the broker would abort it by itself only after `transaction.timeout.ms`.
const FENCE_BOUND: Duration = Duration::from_secs(10);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let failed = rt.block_on(async {
        let mut failed = Vec::new();
        run(
            "one_instance_killed_three_times_outputs_each_input_once",
            one_instance_killed_three_times_outputs_each_input_once(),
            &mut failed,
        )
        .await;
        run(
            "two_instances_killed_in_turn_output_each_input_once",
            two_instances_killed_in_turn_output_each_input_once(),
            &mut failed,
        )
        .await;
        run(
            "poison_records_dead_lettered_once_across_kills",
            poison_records_dead_lettered_once_across_kills(),
            &mut failed,
        )
        .await;
        // Leave the example's topics empty: other tests run its services on them from the start.
        recreate_signal_topics().await;
        failed
    });
    println!("{} passed, {} failed", 3 - failed.len(), failed.len());
    if !failed.is_empty() {
        println!("failures: {failed:?}");
        std::process::exit(1);
    }
}

/// Runs one scenario as a task (a panic fails it, not the binary), so the next ones still run.
async fn run(
    name: &'static str,
    test: impl Future<Output = ()> + Send + 'static,
    failed: &mut Vec<&str>,
) {
    let started = Instant::now();
    let ok = tokio::spawn(test).await.is_ok();
    let took = started.elapsed();
    println!(
        "test {name} ... {} ({took:.1?})",
        if ok { "ok" } else { "FAILED" }
    );
    if !ok {
        failed.push(name);
    }
    // A static member that stopped does not leave its group: wait until its session ends, so
    // that the next scenario's instances (and the next test binary's) have the group alone.
    tokio::time::sleep(SESSION_TIMEOUT + Duration::from_secs(2)).await;
}

async fn one_instance_killed_three_times_outputs_each_input_once() {
    let inputs = Inputs::load(PER_BROKER, 0).await;
    group_to_ourselves().await;
    let mut service = Instance::start("eos-1");
    let mut open_records = 0;
    for kill in 0..KILLS {
        wait_for_outputs(inputs.kill_point(kill)).await;
        let open = service.kill().await;
        service = Instance::start("eos-1");
        open_records += report_fencing(kill, "eos-1", &open, &service).await;
    }
    inputs.wait_until_committed(&[&service]).await;
    service.stop();
    let committed = Ledger::read("read_committed").await;
    let uncommitted = Ledger::read("read_uncommitted").await;
    committed.check(&inputs, &uncommitted);
    assert_kills_hit_open_transactions(open_records);
}

async fn two_instances_killed_in_turn_output_each_input_once() {
    let inputs = Inputs::load(PER_BROKER, 0).await;
    group_to_ourselves().await;
    let mut services = [Instance::start("eos-a"), Instance::start("eos-b")];
    let mut open_records = 0;
    for kill in 0..KILLS {
        wait_for_outputs(inputs.kill_point(kill)).await;
        let victim = random_below(services.len());
        let name = services[victim].name.clone();
        let open = services[victim].kill().await;
        services[victim] = Instance::start(&name);
        open_records += report_fencing(kill, &name, &open, &services[victim]).await;
    }
    inputs
        .wait_until_committed(&services.iter().collect::<Vec<_>>())
        .await;
    for s in &mut services {
        s.stop();
    }
    let committed = Ledger::read("read_committed").await;
    let uncommitted = Ledger::read("read_uncommitted").await;
    committed.check(&inputs, &uncommitted);
    assert_kills_hit_open_transactions(open_records);
}

async fn poison_records_dead_lettered_once_across_kills() {
    let inputs = Inputs::load(POISON_PER_BROKER, POISON_GAPS).await;
    assert_eq!(inputs.poisons.len(), POISON_GAPS * BROKERS.len() * 4);
    group_to_ourselves().await;
    let mut service = Instance::start("eos-p");
    let mut open_records = 0;
    for kill in 0..KILLS {
        wait_for_outputs(inputs.kill_point(kill)).await;
        let open = service.kill().await;
        service = Instance::start("eos-p");
        open_records += report_fencing(kill, "eos-p", &open, &service).await;
    }
    inputs.wait_until_committed(&[&service]).await;
    service.stop();
    let committed = Ledger::read("read_committed").await;
    let uncommitted = Ledger::read("read_uncommitted").await;
    committed.check(&inputs, &uncommitted);
    assert_kills_hit_open_transactions(open_records);
}

/// Where a record is: topic, partition, offset.
type Position = (String, i32, i64);

/// The input signals and poison records, and where they are.
struct Inputs {
    ids: HashSet<Uuid>,
    position: HashMap<Uuid, Position>,
    /// Each poison record's position, with its name and the `dlq.error_kind` it must get.
    poisons: HashMap<Position, (String, &'static str)>,
    /// The end offset of every input partition.
    ends: HashMap<(String, i32), i64>,
}

impl Inputs {
    /// Recreates the example's topics empty (and deletes their dead-letter topics), then writes
    /// `per_broker` signals to each broker's `signals.raw` with the Python producer, in
    /// `gaps + 1` chunks with poison records between them.
    async fn load(per_broker: usize, gaps: usize) -> Self {
        recreate_signal_topics().await;
        let chunk = per_broker / (gaps + 1);
        for g in 0..=gaps {
            let count = if g == gaps {
                per_broker - g * chunk
            } else {
                chunk
            };
            produce_signals(g * chunk, count).await;
            if g < gaps {
                produce(poison_records(g)).await;
            }
        }
        let mut inputs = Inputs {
            ids: HashSet::new(),
            position: HashMap::new(),
            poisons: HashMap::new(),
            ends: HashMap::new(),
        };
        for broker in BROKERS {
            let topic = format!("{broker}.signals.raw");
            for m in read_topic(&topic, "read_committed").await {
                let at = (topic.clone(), m.partition(), m.offset());
                let end = inputs
                    .ends
                    .entry((topic.clone(), m.partition()))
                    .or_default();
                *end = (*end).max(m.offset() + 1);
                if let Some(name) = header(&m, "poison") {
                    let kind = if name.starts_with("contract-") {
                        "contract"
                    } else {
                        "decode"
                    };
                    inputs.poisons.insert(at, (name, kind));
                    continue;
                }
                let env = RawEnvelope::decode(m.payload().unwrap()).unwrap();
                inputs.ids.insert(env.id);
                inputs.position.insert(env.id, at);
            }
        }
        assert_eq!(inputs.ids.len(), BROKERS.len() * per_broker);
        println!(
            "inputs: {} signals and {} poison records on {} partitions",
            inputs.ids.len(),
            inputs.poisons.len(),
            inputs.ends.len()
        );
        inputs
    }

    /// How many outputs to wait for before kill `k`: a random point in its share of the run.
    fn kill_point(&self, k: usize) -> i64 {
        let share = self.ids.len() as f64 / (KILLS + 1) as f64;
        let jitter = random_below(1000) as f64 / 1000.0;
        (share * (k as f64 + 0.5 + 0.5 * jitter)) as i64
    }

    /// Waits until the group's committed offsets reach the end of every input partition: every
    /// input handled and its transaction committed.
    async fn wait_until_committed(&self, services: &[&Instance]) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let committed = group_offsets(self.ends.keys().cloned().collect()).await;
            let behind: i64 = self
                .ends
                .iter()
                .map(|(tp, end)| end - committed.get(tp).copied().flatten().unwrap_or(0))
                .sum();
            if behind == 0 {
                return;
            }
            if Instant::now() > deadline {
                let logs: Vec<String> = services.iter().map(|s| s.log_tail()).collect();
                let ledger = Ledger::read("read_committed").await;
                let uncommitted = Ledger::read("read_uncommitted").await;
                ledger.print(self, &uncommitted);
                panic!(
                    "{behind} input records not committed after 120 s (committed {committed:?}, ends {:?})\n{}",
                    self.ends,
                    logs.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

/// `count` signals per broker, numbered from `start`, both brokers at once.
async fn produce_signals(start: usize, count: usize) {
    let python = testing::script("pyenv", &[]);
    let script = repo().join("tests/python/produce.py");
    let children: Vec<Child> = BROKERS
        .iter()
        .map(|broker| {
            Command::new(&python)
                .arg(&script)
                .args(["signals", "--topic", &format!("{broker}.signals.raw")])
                .args(["--count", &count.to_string(), "--start", &start.to_string()])
                .env("KAFKA_BOOTSTRAP_SERVERS", testing::bootstrap_servers())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("python producer")
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    })
    .await
    .unwrap();
}

/// The poison records of gap `g`, four per broker, each on its own partition in turn: bytes that
/// are no JSON, an envelope cut short, and two whole envelopes breaking the topic's contract (the
/// other broker's, and a `market_tick`).
fn poison_records(g: usize) -> Vec<Raw> {
    let mut records = Vec::new();
    for (b, broker) in BROKERS.iter().enumerate() {
        let topic = format!("{broker}.signals.raw");
        let other = BROKERS[(b + 1) % BROKERS.len()];
        let good =
            |broker: &str, event_type: &str| envelope_json(&Uuid::now_v7(), broker, event_type);
        let cut = good(broker, "trading_signal");
        let values = [
            ("decode-bytes", json!({ "value_b64": "3q2+7wD/gAE=" })),
            ("decode-cut", json!({ "value": &cut[..cut.len() / 2] })),
            (
                "contract-broker",
                json!({ "value": good(other, "trading_signal") }),
            ),
            (
                "contract-event",
                json!({ "value": good(broker, "market_tick") }),
            ),
        ];
        for (i, (name, value)) in values.into_iter().enumerate() {
            let name = format!("{name}-{g}");
            records.push(Raw {
                topic: topic.clone(),
                key: Some(name.clone()),
                value,
                partition: ((g + i) % PARTITIONS as usize) as i32,
                headers: vec![("poison".to_owned(), name)],
            });
        }
    }
    records
}

/// A whole trading-signal envelope as the Python producer writes it (pydantic's
/// `model_dump_json`).
fn envelope_json(id: &Uuid, broker: &str, event_type: &str) -> String {
    format!(
        r#"{{"id":"{id}","correlation_id":"{id}","causation_id":null,"broker":"{broker}","event_type":"{event_type}","source":"py-strategy","timestamp":"2026-11-26T19:28:45.123456Z","version":1,"data":{{"strategy":"momentum-0","symbol":"TCS","side":"BUY","quantity":"1","price":"2450.55"}}}}"#
    )
}

/// What one reader sees on the output and dead-letter topics.
struct Ledger {
    isolation: &'static str,
    /// Outputs by the input they came from (`causation_id`), each with the broker of its topic.
    outputs: HashMap<Uuid, Vec<String>>,
    /// Dead letters by the position of the record they stand for, each with its error kind.
    dead: HashMap<Position, Vec<String>>,
    records: usize,
}

impl Ledger {
    async fn read(isolation: &'static str) -> Self {
        let mut ledger = Ledger {
            isolation,
            outputs: HashMap::new(),
            dead: HashMap::new(),
            records: 0,
        };
        for topic in output_topics() {
            let broker = topic.split('.').next().unwrap().to_owned();
            for m in read_topic(&topic, isolation).await {
                let env = RawEnvelope::decode(m.payload().expect("an output has a value"))
                    .unwrap_or_else(|e| panic!("{isolation}: undecodable output on {topic}: {e}"));
                let input = env.causation_id.expect("an output names its input");
                ledger
                    .outputs
                    .entry(input)
                    .or_default()
                    .push(broker.clone());
                ledger.records += 1;
            }
        }
        for broker in BROKERS {
            let topic = dlq_topic(&format!("{broker}.signals.raw"));
            for m in read_topic(&topic, isolation).await {
                let get = |h: &str| {
                    header(&m, h).unwrap_or_else(|| panic!("a dead letter on {topic} without {h}"))
                };
                let at = (
                    get(headers::ORIGINAL_TOPIC),
                    get(headers::ORIGINAL_PARTITION).parse().unwrap(),
                    get(headers::ORIGINAL_OFFSET).parse().unwrap(),
                );
                ledger
                    .dead
                    .entry(at)
                    .or_default()
                    .push(get(headers::ERROR_KIND));
                ledger.records += 1;
            }
        }
        ledger
    }

    /// Inputs without an output, and inputs with more than one (how many extra).
    fn lost_and_twice(&self, inputs: &Inputs) -> (Vec<Uuid>, Vec<Uuid>, usize) {
        let lost = inputs
            .ids
            .iter()
            .filter(|id| !self.outputs.contains_key(id))
            .copied()
            .collect();
        let twice: Vec<Uuid> = self
            .outputs
            .iter()
            .filter(|(_, outs)| outs.len() > 1)
            .map(|(id, _)| *id)
            .collect();
        let extra = twice.iter().map(|id| self.outputs[id].len() - 1).sum();
        (lost, twice, extra)
    }

    fn print(&self, inputs: &Inputs, uncommitted: &Ledger) {
        let (lost, twice, extra) = self.lost_and_twice(inputs);
        println!(
            "ledger ({}): {} inputs, {} records; {} lost, {} handled twice or more ({} extra outputs); {} dead letters for {} poison records",
            self.isolation,
            inputs.ids.len(),
            self.records,
            lost.len(),
            twice.len(),
            extra,
            self.dead.values().map(Vec::len).sum::<usize>(),
            inputs.poisons.len()
        );
        for id in lost.iter().take(3) {
            println!("  lost: {id} at {:?}", inputs.position[id]);
        }
        for id in twice.iter().take(3) {
            println!(
                "  {} outputs: {id} at {:?}",
                self.outputs[id].len(),
                inputs.position[id]
            );
        }
        let (_, u_twice, u_extra) = uncommitted.lost_and_twice(inputs);
        let u_dead_extra: usize = uncommitted.dead.values().map(|d| d.len() - 1).sum();
        println!(
            "ledger ({}): {} records, {} beyond the committed ({} inputs with more than one output, {} extra outputs, {} extra dead letters): what aborted transactions left",
            uncommitted.isolation,
            uncommitted.records,
            uncommitted.records as i64 - self.records as i64,
            u_twice.len(),
            u_extra,
            u_dead_extra
        );
    }

    /// Exactly one output per input, on its broker's topics; exactly one dead letter per poison
    /// record, of its kind; nothing else.
    fn check(&self, inputs: &Inputs, uncommitted: &Ledger) {
        self.print(inputs, uncommitted);
        let (lost, twice, extra) = self.lost_and_twice(inputs);
        let stray = self
            .outputs
            .keys()
            .filter(|id| !inputs.ids.contains(id))
            .count();
        let misrouted = self
            .outputs
            .iter()
            .filter(|(id, outs)| {
                let from = inputs
                    .position
                    .get(id)
                    .map(|p| p.0.split('.').next().unwrap());
                outs.iter().any(|b| Some(b.as_str()) != from)
            })
            .count();
        let dead_twice = self.dead.values().filter(|d| d.len() > 1).count();
        let dead_missing: Vec<&(String, &str)> = inputs
            .poisons
            .iter()
            .filter(|(at, _)| !self.dead.contains_key(*at))
            .map(|(_, p)| p)
            .collect();
        let dead_wrong: Vec<String> = inputs
            .poisons
            .iter()
            .filter_map(|(at, (name, kind))| {
                let got = self.dead.get(at)?;
                (got.iter().any(|k| k != kind)).then(|| format!("{name}: {got:?}, not {kind}"))
            })
            .collect();
        let dead_good = self
            .dead
            .keys()
            .filter(|at| !inputs.poisons.contains_key(*at))
            .count();
        assert_eq!(stray, 0, "outputs of inputs nobody wrote");
        assert_eq!(misrouted, 0, "outputs on another broker's topics");
        assert!(
            lost.is_empty() && twice.is_empty(),
            "{}: {} inputs lost, {} handled more than once ({extra} extra outputs)",
            self.isolation,
            lost.len(),
            twice.len()
        );
        assert!(
            dead_missing.is_empty(),
            "poison records without a dead letter: {dead_missing:?}"
        );
        assert_eq!(
            dead_twice, 0,
            "{}: poison records dead-lettered more than once",
            self.isolation
        );
        assert!(
            dead_wrong.is_empty(),
            "dead letters of the wrong kind: {dead_wrong:?}"
        );
        assert_eq!(dead_good, 0, "dead letters of records that were not poison");
        println!(
            "{}: each of {} inputs output once, each of {} poison records dead-lettered once",
            self.isolation,
            inputs.ids.len(),
            inputs.poisons.len()
        );
    }
}

/// What a kill left: the output partitions whose `read_committed` end stood below their end
/// (records of transactions not yet committed), with that end.
struct OpenAtKill {
    held: HashMap<(String, i32), i64>,
    records: i64,
    killed_at_outputs: i64,
}

/// Waits until the restarted instance has fenced its predecessor: every output partition the
/// kill left held back by an open transaction gets a `read_committed` end past what was written
/// before the kill (the open transaction aborted, and any other committed).
async fn report_fencing(kill: usize, name: &str, open: &OpenAtKill, service: &Instance) -> i64 {
    let started = service.started;
    loop {
        let lso = ends(true).await;
        let pending: Vec<_> = open
            .held
            .iter()
            .filter(|(tp, end)| lso.get(*tp).copied().unwrap_or(0) < **end)
            .collect();
        if pending.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < FENCE_BOUND,
            "kill {kill} of {name}: {} output partitions still held back by the killed instance's transaction {:?} after restart: {pending:?}\n{}",
            pending.len(),
            started.elapsed(),
            service.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "kill {kill} of {name} at {} outputs: {} uncommitted records on {} partitions, resolved {:.2?} after restart",
        open.killed_at_outputs,
        open.records,
        open.held.len(),
        started.elapsed()
    );
    open.records
}

/// At least one kill must have caught a transaction open (records written, not yet committed):
/// else the kills proved nothing about transactions (or the mode is not on).
fn assert_kills_hit_open_transactions(open_records: i64) {
    assert!(
        open_records > 0,
        "no kill found a transaction open on the output topics: is exactly-once mode on?"
    );
}

/// One process of the risk-manager example in exactly-once mode, logging to a file.
struct Instance {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    started: Instant,
}

impl Instance {
    fn start(name: &str) -> Self {
        let log = std::env::temp_dir().join(format!("eos-crash-{name}-{}.log", Uuid::now_v7()));
        let child = Command::new(risk_manager())
            .env("KAFKA_BOOTSTRAP_SERVERS", testing::bootstrap_servers())
            .env("STREAMKIT_INSTANCE", name)
            .env("STREAMKIT_EXACTLY_ONCE", "1")
            .env("STREAMKIT_COMMIT_EVERY", COMMIT_EVERY.to_string())
            .env(
                "STREAMKIT_COMMIT_INTERVAL_MS",
                COMMIT_INTERVAL_MS.to_string(),
            )
            .env("STREAMKIT_CREATE_MISSING_TOPICS", "1")
            .env(
                "STREAMKIT_KAFKA_SESSION_TIMEOUT_MS",
                SESSION_TIMEOUT.as_millis().to_string(),
            )
            .env("RUST_LOG", "info")
            .env_remove("STREAMKIT_REDIS_URL")
            .env_remove("STREAMKIT_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the risk_manager example");
        Instance {
            name: name.to_owned(),
            child: Some(child),
            log,
            started: Instant::now(),
        }
    }

    /// SIGKILL; then what the dead process left uncommitted on the output topics.
    async fn kill(&mut self) -> OpenAtKill {
        let mut child = self.child.take().expect("running");
        signal(&child, libc::SIGKILL);
        child.wait().unwrap();
        // A request the dead process sent may still be on its way to the broker.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let hw = ends(false).await;
        let lso = ends(true).await;
        let held: HashMap<(String, i32), i64> = hw
            .iter()
            .filter(|(tp, end)| lso.get(*tp).copied().unwrap_or(0) < **end)
            .map(|(tp, end)| (tp.clone(), *end))
            .collect();
        let records = held
            .iter()
            .map(|(tp, end)| end - lso.get(tp).copied().unwrap_or(0))
            .sum();
        OpenAtKill {
            held,
            records,
            killed_at_outputs: hw.values().sum(),
        }
    }

    /// SIGTERM, and the graceful stop's exit status must be success.
    fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        signal(&child, libc::SIGTERM);
        let status = child.wait().unwrap();
        assert!(status.success(), "{status}; {}", self.log_tail());
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "log of {} ({}):\n{}",
            self.name,
            self.log.display(),
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
    }
}

impl Drop for Instance {
    /// A scenario that failed stops its processes gracefully (SIGKILL after 15 s), so that they
    /// leave no open transaction to the next.
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal(&child, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                signal(&child, libc::SIGKILL);
                let _ = child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn header(m: &OwnedMessage, name: &str) -> Option<String> {
    let hs = m.headers()?;
    hs.iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Every record of `topic` a reader with `isolation.level = isolation` sees, from the start of
/// each partition to its end (for `read_committed`: the last stable offset), assigned (no group
/// membership).
/// A topic that does not exist reads as empty.
async fn read_topic(topic: &str, isolation: &'static str) -> Vec<OwnedMessage> {
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        // librdkafka assigns only with a `group.id`: one nobody uses, never joined or committed.
        let consumer: BaseConsumer = testing::kafka_config()
            .set("group.id", testing::unique_name("eos-reader"))
            .set("isolation.level", isolation)
            .set("enable.partition.eof", "true")
            .set("enable.auto.commit", "false")
            .to_client_config()
            .create()
            .expect("reader");
        let meta = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .expect("metadata");
        let mut tpl = TopicPartitionList::new();
        for p in meta.topics()[0].partitions() {
            tpl.add_partition_offset(&topic, p.id(), Offset::Beginning)
                .unwrap();
        }
        let mut open: HashSet<i32> = meta.topics()[0]
            .partitions()
            .iter()
            .map(|p| p.id())
            .collect();
        let mut out = Vec::new();
        if open.is_empty() {
            return out;
        }
        consumer.assign(&tpl).expect("assign");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !open.is_empty() {
            assert!(
                Instant::now() < deadline,
                "{isolation} read of {topic}: no end of partitions {open:?} within 60 s"
            );
            match consumer.poll(Duration::from_millis(200)) {
                None => {}
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    open.remove(&p);
                }
                Some(Err(e)) => panic!("{isolation} read of {topic}: {e}"),
                Some(Ok(m)) => out.push(m.detach()),
            }
        }
        out
    })
    .await
    .unwrap()
}

/// The clients [`ends`] asks with, one per isolation level, kept from one call to the next so
/// that a kill follows the count it waited for closely; dropped when the topics are recreated
/// (their metadata would be of the deleted topics).
static END_CLIENTS: std::sync::Mutex<[Option<BaseConsumer>; 2]> =
    std::sync::Mutex::new([None, None]);

/// The end offset of every output partition: the high watermark, or (`committed`) the last
/// stable offset a `read_committed` reader reads to, in one request (ListOffsets). Asks again
/// while a partition answers with an error.
async fn ends(committed: bool) -> HashMap<(String, i32), i64> {
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut clients = END_CLIENTS.lock().unwrap();
            let consumer = clients[committed as usize].get_or_insert_with(|| {
                let isolation = if committed {
                    "read_committed"
                } else {
                    "read_uncommitted"
                };
                testing::kafka_config()
                    .set("isolation.level", isolation)
                    .to_client_config()
                    .create()
                    .unwrap()
            });
            let mut latest = TopicPartitionList::new();
            for topic in output_topics() {
                for p in 0..PARTITIONS {
                    latest.add_partition_offset(&topic, p, Offset::End).unwrap();
                }
            }
            let answer = consumer.offsets_for_times(latest, Duration::from_secs(10));
            let failed = match &answer {
                Err(e) => Some(e.to_string()),
                Ok(list) => list.elements().iter().find_map(|e| {
                    e.error()
                        .err()
                        .map(|err| format!("{}/{}: {err}", e.topic(), e.partition()))
                }),
            };
            match failed {
                None => {
                    return answer
                        .unwrap()
                        .elements()
                        .iter()
                        .map(|e| {
                            let end = match e.offset() {
                                Offset::Offset(o) => o,
                                _ => 0,
                            };
                            ((e.topic().to_owned(), e.partition()), end)
                        })
                        .collect();
                }
                Some(why) => {
                    assert!(
                        Instant::now() < deadline,
                        "end offsets of the outputs: {why}"
                    );
                    drop(clients);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    })
    .await
    .unwrap()
}

/// Outputs written so far, committed or not.
async fn output_count() -> i64 {
    ends(false).await.values().sum()
}

async fn wait_for_outputs(n: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while output_count().await < n {
        assert!(
            Instant::now() < deadline,
            "fewer than {n} outputs after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the example's group has no members (those of a scenario before have left it at
/// the end of their session), and fails naming them if some stay: a service of the example
/// that another run left on this broker would take partitions of this test's inputs.
async fn group_to_ourselves() {
    let deadline = Instant::now() + SESSION_TIMEOUT + Duration::from_secs(10);
    loop {
        let members = tokio::task::spawn_blocking(|| {
            let consumer: BaseConsumer =
                testing::kafka_config().to_client_config().create().unwrap();
            let Ok(list) = consumer.fetch_group_list(Some(GROUP), Duration::from_secs(10)) else {
                return vec!["(group not readable)".to_owned()];
            };
            list.groups()
                .iter()
                .flat_map(|g| g.members())
                .map(|m| format!("{} at {}", m.client_id(), m.client_host()))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        if members.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {GROUP} has members this test did not start (another run of the example on this broker?): {members:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The example group's committed offset of each of `partitions` (`None`: nothing committed, or
/// not readable now, e.g. a transactional commit still pending).
async fn group_offsets(partitions: Vec<(String, i32)>) -> HashMap<(String, i32), Option<i64>> {
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = testing::kafka_config()
            .set("group.id", GROUP)
            .to_client_config()
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        for (t, p) in &partitions {
            tpl.add_partition(t, *p);
        }
        let Ok(committed) = consumer.committed_offsets(tpl, Duration::from_secs(5)) else {
            return HashMap::new();
        };
        committed
            .elements()
            .iter()
            .map(|e| {
                let off = match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                ((e.topic().to_owned(), e.partition()), off)
            })
            .collect()
    })
    .await
    .unwrap()
}

/// The example's topics recreated empty; the dead-letter topics of its inputs deleted (the
/// service creates them on first use).
async fn recreate_signal_topics() {
    let topics = signal_topics();
    let all: Vec<&str> = topics.iter().map(String::as_str).collect();
    let dlqs: Vec<String> = BROKERS
        .iter()
        .map(|b| dlq_topic(&format!("{b}.signals.raw")))
        .collect();
    let mut doomed = all.clone();
    doomed.extend(dlqs.iter().map(String::as_str));
    testing::delete_topics(&doomed).await;
    testing::create_topics(&all, PARTITIONS).await;
    *END_CLIENTS.lock().unwrap() = [None, None];
}
