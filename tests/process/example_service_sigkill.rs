//! The risk-manager example as users run it, killed with SIGKILL mid-stream and restarted, fed by
//! a Python producer (aiokafka, pydantic envelopes) on the real broker. Judged by a ledger read
//! back from the topics: every input signal's outputs on `signals.validated`/`signals.rejected`
//! (each input gives exactly one output per handler run, its `causation_id` the input's id).
//!
//! - `sigkill_replays_at_most_the_commit_window`: one named instance, in-memory dedup,
//!   `STREAMKIT_COMMIT_EVERY=2000`, three kills: nothing is lost, what each kill replays (handled
//!   records past the committed offset) stays within the count setting, and the restarted
//!   instance's first output comes within 5 s (static membership).
//! - `two_instances_with_redis_run_nothing_twice_that_had_finished`: two instances in one group
//!   with `STREAMKIT_REDIS_URL`, a random one killed three times and restarted: nothing is lost,
//!   no input whose handling was marked done in Redis at a kill runs again, and every input that
//!   did run twice was claimed by the killed instance (in flight) at a kill.
//!
//! The service binary is `target/<profile>/examples/risk_manager` (`scripts/test` builds it
//! first: `cargo build --example risk_manager`). `harness = false`: the scenarios share one
//! broker namespace and consumer group, so they run one after the other.

#[path = "../support/risk_manager_example.rs"]
mod risk_manager_example;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use risk_manager_example::{
    BROKERS, output_topics, random_below, repo, risk_manager, signal, signal_topics,
};
use stream_core::envelope::codec::RawEnvelope;
use stream_core::testing;
use uuid::Uuid;

const GROUP: &str = "risk-manager.signals";
const PER_BROKER: usize = 25_000;
const PARTITIONS: i32 = 3;
const COMMIT_EVERY: i64 = 2_000;
/// The children's `session.timeout.ms`: static members stopped at the end leave the group this
/// long after, before the next test binary uses the example's group.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
const KILLS: usize = 3;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sigkill_replays_at_most_the_commit_window().await;
        println!("test sigkill_replays_at_most_the_commit_window ... ok");
        two_instances_with_redis_run_nothing_twice_that_had_finished().await;
        println!("test two_instances_with_redis_run_nothing_twice_that_had_finished ... ok");
        // A static member that stopped does not leave its group: wait until its session ends.
        tokio::time::sleep(SESSION_TIMEOUT + Duration::from_secs(2)).await;
        // Leave the example's topics empty: other tests run its services on them from the start.
        recreate_signal_topics().await;
    });
    println!("2 passed, 0 failed");
}

async fn sigkill_replays_at_most_the_commit_window() {
    let inputs = Inputs::load_fresh().await;
    let mut service = Instance::start("risk-a", None);
    let mut windows = Vec::new();
    for kill in 0..KILLS {
        wait_for_outputs(inputs.kill_point(kill)).await;
        service.kill();
        // A commit the dead process sent may still be on its way to the coordinator.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let ledger = Ledger::read().await;
        let window = inputs.replay_window(&ledger).await;
        let before = output_count().await;
        let started = Instant::now();
        service = Instance::start("risk-a", None);
        wait_for_outputs(before + 1).await;
        let restart = started.elapsed();
        println!(
            "kill {kill}: replay window {window} records (commit_every {COMMIT_EVERY}), first output {restart:?} after restart"
        );
        windows.push(window);
        assert!(
            restart < Duration::from_secs(5),
            "restart to first output took {restart:?}; {}",
            service.log_tail()
        );
    }
    let ledger = inputs.wait_until_all_handled().await;
    service.stop();
    let twice = ledger.run_twice(&inputs);
    println!(
        "memory dedup, {KILLS} SIGKILLs: 0 lost, {} of {} inputs handled twice, replay windows {windows:?}",
        twice.len(),
        inputs.ids.len()
    );
    // What a kill replays: the records handled since the last commit. A commit is triggered once
    // `commit_every` messages have finished, and takes effect one round trip later; what
    // finishes meanwhile (a fast handler finishes hundreds in a round trip) is the slack.
    let bound = 2 * COMMIT_EVERY;
    for window in &windows {
        assert!(*window <= bound, "replay window {window} > {bound}");
    }
    assert!(
        twice.len() as i64 <= KILLS as i64 * bound,
        "{}",
        twice.len()
    );
}

async fn two_instances_with_redis_run_nothing_twice_that_had_finished() {
    let inputs = Inputs::load_fresh().await;
    let redis = redis::Client::open(testing::redis_url()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let url = testing::redis_url();
    let mut services = [
        Instance::start("risk-a", Some(&url)),
        Instance::start("risk-b", Some(&url)),
    ];
    let mut in_flight: HashSet<Uuid> = HashSet::new();
    let mut done_at: Vec<(Uuid, SystemTime)> = Vec::new();
    for kill in 0..KILLS {
        wait_for_outputs(inputs.kill_point(kill)).await;
        let victim = random_below(services.len());
        let name = services[victim].name.clone();
        services[victim].kill();
        let claims = claims_of(&mut conn, &inputs, &name).await;
        let done = done_ids(&mut conn, &inputs).await;
        assert!(!done.is_empty(), "no event marked done in Redis");
        println!(
            "kill {kill} of {name}: {} events in flight (claimed), {} done",
            claims.len(),
            done.len()
        );
        in_flight.extend(claims);
        done_at.extend(done);
        services[victim] = Instance::start(&name, Some(&url));
    }
    let ledger = inputs.wait_until_all_handled().await;
    for s in &mut services {
        s.stop();
    }
    let rerun: Vec<&Uuid> = done_at
        .iter()
        .filter(|(id, at)| ledger.outputs[id].iter().any(|t| t > at))
        .map(|(id, _)| id)
        .collect();
    assert!(
        rerun.is_empty(),
        "{} inputs ran again after they were marked done, e.g. {:?}",
        rerun.len(),
        rerun.first()
    );
    let twice = ledger.run_twice(&inputs);
    let unexplained: Vec<&Uuid> = twice.iter().filter(|id| !in_flight.contains(id)).collect();
    println!(
        "redis dedup, 2 instances, {KILLS} SIGKILLs: 0 lost, {} of {} inputs handled twice, all of them among the {} in flight at a kill",
        twice.len(),
        inputs.ids.len(),
        in_flight.len()
    );
    assert!(
        unexplained.is_empty(),
        "{} inputs ran twice without being in flight at a kill",
        unexplained.len()
    );
}

/// The input signals: their ids and where they are.
struct Inputs {
    ids: HashSet<Uuid>,
    position: HashMap<Uuid, (String, i32, i64)>,
}

impl Inputs {
    /// Recreates the example's signal topics empty and writes the signals with the Python
    /// producer.
    async fn load_fresh() -> Self {
        recreate_signal_topics().await;
        let python = testing::script("pyenv", &[]);
        let producer = repo().join("tests/python/produce.py");
        for broker in BROKERS {
            let out = Command::new(&python)
                .arg(&producer)
                .args(["signals", "--topic", &format!("{broker}.signals.raw")])
                .args(["--count", &PER_BROKER.to_string()])
                .env("KAFKA_BOOTSTRAP_SERVERS", testing::bootstrap_servers())
                .output()
                .expect("python producer");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut inputs = Inputs {
            ids: HashSet::new(),
            position: HashMap::new(),
        };
        for broker in BROKERS {
            let topic = format!("{broker}.signals.raw");
            for m in testing::read_all(&topic).await {
                let env = RawEnvelope::decode(m.payload().unwrap()).unwrap();
                inputs.ids.insert(env.id);
                let at = (topic.clone(), m.partition(), m.offset());
                inputs.position.insert(env.id, at);
            }
        }
        assert_eq!(inputs.ids.len(), BROKERS.len() * PER_BROKER);
        inputs
    }

    /// How many outputs to wait for before kill `k`: a random point in its share of the run.
    fn kill_point(&self, k: usize) -> i64 {
        let share = self.ids.len() as f64 / (KILLS + 1) as f64;
        let jitter = random_below(1000) as f64 / 1000.0;
        (share * (k as f64 + 0.5 + 0.5 * jitter)) as i64
    }

    /// Records handled (with an output in `ledger`) at or past the committed offset of their
    /// partition: what a restart hands to a handler again.
    async fn replay_window(&self, ledger: &Ledger) -> i64 {
        let mut handled_to: HashMap<(String, i32), i64> = HashMap::new();
        for (id, (topic, p, o)) in &self.position {
            if ledger.outputs.contains_key(id) {
                let next = handled_to.entry((topic.clone(), *p)).or_default();
                *next = (*next).max(o + 1);
            }
        }
        let mut window = 0;
        for broker in BROKERS {
            let topic = format!("{broker}.signals.raw");
            for (p, committed) in testing::committed_offsets(GROUP, &topic).await {
                let handled = handled_to.get(&(topic.clone(), p)).copied().unwrap_or(0);
                window += (handled - committed.unwrap_or(0)).max(0);
            }
        }
        window
    }

    async fn wait_until_all_handled(&self) -> Ledger {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let ledger = Ledger::read().await;
            let missing = self
                .ids
                .iter()
                .filter(|id| !ledger.outputs.contains_key(id))
                .count();
            if missing == 0 {
                return ledger;
            }
            assert!(
                Instant::now() < deadline,
                "{missing} of {} inputs have no output after 180 s",
                self.ids.len()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Every output on the example's output topics, by the input it came from: the creation time of
/// each output envelope.
struct Ledger {
    outputs: HashMap<Uuid, Vec<SystemTime>>,
}

impl Ledger {
    async fn read() -> Self {
        let mut outputs: HashMap<Uuid, Vec<SystemTime>> = HashMap::new();
        for topic in output_topics() {
            for m in testing::read_all(&topic).await {
                let env = RawEnvelope::decode(m.payload().unwrap()).unwrap();
                let input = env.causation_id.expect("an output names its input");
                outputs
                    .entry(input)
                    .or_default()
                    .push(SystemTime::from(env.timestamp));
            }
        }
        Ledger { outputs }
    }

    /// The inputs handled more than once.
    fn run_twice(&self, inputs: &Inputs) -> Vec<Uuid> {
        let stray = self.outputs.keys().filter(|id| !inputs.ids.contains(id));
        assert_eq!(stray.count(), 0, "outputs of inputs nobody wrote");
        self.outputs
            .iter()
            .filter(|(_, runs)| runs.len() > 1)
            .map(|(id, _)| *id)
            .collect()
    }
}

/// One process of the risk-manager example, logging to a file.
struct Instance {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Instance {
    fn start(name: &str, redis_url: Option<&str>) -> Self {
        let log = std::env::temp_dir().join(format!("service-crash-{name}-{}.log", Uuid::now_v7()));
        let mut cmd = Command::new(risk_manager());
        cmd.env("KAFKA_BOOTSTRAP_SERVERS", testing::bootstrap_servers())
            .env("STREAMKIT_INSTANCE", name)
            .env("STREAMKIT_COMMIT_EVERY", COMMIT_EVERY.to_string())
            .env("STREAMKIT_CREATE_MISSING_TOPICS", "1")
            .env(
                "STREAMKIT_KAFKA_SESSION_TIMEOUT_MS",
                SESSION_TIMEOUT.as_millis().to_string(),
            )
            .env("RUST_LOG", "info")
            .env_remove("STREAMKIT_REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(url) = redis_url {
            cmd.env("STREAMKIT_REDIS_URL", url);
        }
        let child = cmd.spawn().expect("start the risk_manager example");
        Instance {
            name: name.to_owned(),
            child,
            log,
        }
    }

    fn kill(&mut self) {
        signal(&self.child, libc::SIGKILL);
        self.child.wait().unwrap();
    }

    /// SIGTERM, and the graceful stop's exit status must be success.
    fn stop(&mut self) {
        signal(&self.child, libc::SIGTERM);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}; {}", self.log_tail());
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "log of {}:\n{}",
            self.name,
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
    }
}

/// A test that fails leaves no service behind: it would go on consuming the example's topics
/// under the tests that follow.
impl Drop for Instance {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The ids of `inputs` that `instance` holds claims on in Redis (in flight when it died).
async fn claims_of(
    conn: &mut redis::aio::MultiplexedConnection,
    inputs: &Inputs,
    instance: &str,
) -> Vec<Uuid> {
    let prefix = format!("claim:{instance}\n");
    redis_values(conn, inputs)
        .await
        .into_iter()
        .filter(|(_, v, _)| v.starts_with(&prefix))
        .map(|(id, _, _)| id)
        .collect()
}

/// The ids of `inputs` marked done in Redis, each with when it was seen done.
async fn done_ids(
    conn: &mut redis::aio::MultiplexedConnection,
    inputs: &Inputs,
) -> Vec<(Uuid, SystemTime)> {
    redis_values(conn, inputs)
        .await
        .into_iter()
        .filter(|(_, v, _)| !v.starts_with("claim:"))
        .map(|(id, _, at)| (id, at))
        .collect()
}

/// Each input's dedup key value in Redis, where it has one, with a time just after it was read.
async fn redis_values(
    conn: &mut redis::aio::MultiplexedConnection,
    inputs: &Inputs,
) -> Vec<(Uuid, String, SystemTime)> {
    let mut out = Vec::new();
    let ids: Vec<&Uuid> = inputs.ids.iter().collect();
    for chunk in ids.chunks(500) {
        let keys: Vec<String> = chunk
            .iter()
            .map(|id| {
                let broker = inputs.position[*id].0.split('.').next().unwrap().to_owned();
                format!("risk-manager:{GROUP}:{broker}:{id}")
            })
            .collect();
        let values: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(conn)
            .await
            .unwrap();
        // Read after the answer: what was done then had finished (its outputs written) before.
        let at = SystemTime::now();
        for (id, v) in chunk.iter().zip(values) {
            if let Some(v) = v {
                out.push((**id, v, at));
            }
        }
    }
    out
}

async fn recreate_signal_topics() {
    let topics = signal_topics();
    let all: Vec<&str> = topics.iter().map(String::as_str).collect();
    testing::delete_topics(&all).await;
    testing::create_topics(&all, PARTITIONS).await;
}

/// Outputs written so far: the output topics' end offsets, in one request (ListOffsets for the
/// latest offset of every partition), by one client kept for the whole test, so that a kill
/// follows the count it waited for closely.
async fn output_count() -> i64 {
    static READER: std::sync::OnceLock<BaseConsumer> = std::sync::OnceLock::new();
    tokio::task::spawn_blocking(|| {
        let consumer =
            READER.get_or_init(|| testing::kafka_config().to_client_config().create().unwrap());
        let mut latest = TopicPartitionList::new();
        for topic in output_topics() {
            for p in 0..PARTITIONS {
                latest.add_partition_offset(&topic, p, Offset::End).unwrap();
            }
        }
        let ends = consumer
            .offsets_for_times(latest, Duration::from_secs(10))
            .unwrap();
        ends.elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            })
            .sum()
    })
    .await
    .unwrap()
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
