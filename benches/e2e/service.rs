//! Scenario `service` of the e2e bench: the service as users write it against the loop a user
//! would write by hand, both as their own processes, measured from outside.
//!
//! `examples/bench_service.rs` is a `#[stream_handler]` under `#[stream_service]` on the
//! catalog's `*.benchsvc.signals`, with the default settings; `examples/bench_loop.rs` is a plain
//! rdkafka loop doing the same work (see each file), run twice: plain, and with `--headers`,
//! writing the six headers streamkit writes on each output too (the service's records, byte for
//! byte but for ids and times). Each round preloads `4 × --messages` signals written as a Python
//! service writes them (pydantic's `model_dump_json()` layout, no headers) on
//! `paper.benchsvc.signals` (6 partitions), puts each side's group at the end of the input before
//! them, and runs the three, each round starting one further along (service, loop, loop with
//! headers): start the process, wait for one output per input, stop it with SIGTERM. A side's CPU is its whole
//! process's (`/proc/<pid>/stat`, start-up included) when the last output is on the broker; its
//! throughput runs from its first output to its last, watched on the broker every 20 ms. After each stop, the output topic must hold
//! exactly one record per input more than before.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use uuid::Uuid;

use super::{PARTITIONS, SYMBOLS, await_raw, fail, other_cpu, raw_producer, raw_send};

const INPUT: &str = "paper.benchsvc.signals";
const SERVICE_OUTPUT: &str = "paper.benchsvc.checked";
const LOOP_OUTPUT: &str = "paper.benchloop.checked";
const HEADERS_LOOP_OUTPUT: &str = "paper.benchloop.headers";
const SERVICE_GROUP: &str = "bench.service";
const LOOP_GROUP: &str = "bench.loop";
const HEADERS_LOOP_GROUP: &str = "bench.loop.headers";
/// How long without a new output before a side's round reports what each source says.
const STALL: Duration = Duration::from_secs(20);
/// How long a side may take to write every output.
const DEADLINE: Duration = Duration::from_secs(300);
/// How long a side may take to write its first output (start-up, group join).
const FIRST_OUTPUT: Duration = Duration::from_secs(60);

/// One side's round, measured from outside its process.
#[derive(Debug, Clone, Copy)]
pub(super) struct ProcessFigure {
    pub msgs_per_s: f64,
    /// The whole process's CPU per million inputs, start-up included.
    pub cpu_s_per_million: f64,
    /// CPU seconds the process had used when its first output reached the broker.
    pub startup_cpu_s: f64,
}

/// The two programs, next to this bench's binary (`target/<profile>/examples/`), built first.
pub(super) fn build_programs() -> (PathBuf, PathBuf) {
    let exe = std::env::current_exe().expect("bench path");
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "--example",
        "bench_service",
        "--example",
        "bench_loop",
    ]);
    if release {
        build.arg("--release");
    }
    let status = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo build");
    if !status.success() {
        fail("service: building examples bench_service and bench_loop failed");
    }
    let examples = profile_dir.join("examples");
    (examples.join("bench_service"), examples.join("bench_loop"))
}

/// `n` signals on the input topic as pydantic writes them, keyed by strategy id.
pub(super) async fn preload(servers: &str, n: usize) {
    let producer = raw_producer(servers, &[]);
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let key = format!("strategy-{}", i % 64);
        let value = pydantic_signal(i);
        let record = FutureRecord::to(INPUT)
            .key(key.as_str())
            .payload(value.as_bytes());
        pending.push(raw_send(&producer, record).await);
    }
    for p in pending {
        await_raw(p).await;
    }
}

/// One signal envelope in the layout of pydantic v2's `model_dump_json()`: fields in declared
/// order, no spaces, `Z` times with microseconds, the price a string.
fn pydantic_signal(i: usize) -> String {
    let id = Uuid::now_v7();
    let now = Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
    let side = if i.is_multiple_of(2) { "BUY" } else { "SELL" };
    format!(
        r#"{{"id":"{id}","correlation_id":"{id}","causation_id":null,"broker":"paper","event_type":"bench_signal","source":"py-strategy","timestamp":"{now}","version":1,"data":{{"strategy_id":"strategy-{k}","symbol":"{sym}","side":"{side}","quantity":{q},"price":"2450.{c:02}","generated_at":"{now}"}}}}"#,
        k = i % 64,
        sym = SYMBOLS[i % SYMBOLS.len()],
        q = 100 * (1 + i % 10),
        c = i % 100,
    )
}

/// Puts both sides' groups at the input's end, so their next runs read only what comes after.
pub(super) fn reset_groups(servers: &str) {
    reset_group(servers, SERVICE_GROUP);
    reset_group(servers, LOOP_GROUP);
    reset_group(servers, HEADERS_LOOP_GROUP);
}

fn reset_group(servers: &str, group: &str) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("group reset client");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        let hi = high_watermark(&consumer, p);
        tpl.add_partition_offset(INPUT, p, Offset::Offset(hi))
            .expect("tpl");
    }
    // A member of an aborted earlier run stays in the group until its session times out
    // (45 s), and the group refuses this commit until then.
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
        if Instant::now() > deadline {
            panic!("resetting group {group}: {e}");
        }
        eprintln!("e2e: resetting group {group}: {e}; waiting for its members to leave");
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The input partition's end; a leader that is still moving (a broker just restarted) is waited for.
fn high_watermark(consumer: &BaseConsumer, partition: i32) -> i64 {
    let mut attempts = 0;
    loop {
        match consumer.fetch_watermarks(INPUT, partition, Duration::from_secs(10)) {
            Ok((_, hi)) => return hi,
            Err(e) if attempts < 20 => {
                attempts += 1;
                eprintln!("e2e: watermarks of {INPUT}/{partition}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("watermarks of {INPUT}/{partition}: {e}"),
        }
    }
}

/// The topics the scenario uses.
pub(super) fn topics() -> [&'static str; 4] {
    [INPUT, SERVICE_OUTPUT, LOOP_OUTPUT, HEADERS_LOOP_OUTPUT]
}

/// The service side of a round.
pub(super) fn run_service(servers: &str, bin: &Path, n: usize, wrap: &[String]) -> ProcessFigure {
    // The start-up check wants the whole catalog on the cluster: the first round creates it.
    let mut cmd = command(bin, wrap);
    cmd.env("KAFKA_BOOTSTRAP_SERVERS", servers)
        .env("STREAMKIT_CREATE_MISSING_TOPICS", "1");
    let child = spawn(&mut cmd, "service");
    measure(servers, child, SERVICE_OUTPUT, n, "service")
}

/// The hand-written side of a round; with `headers`, writing streamkit's six headers on each
/// output as well (the same records as the service's).
pub(super) fn run_loop(
    servers: &str,
    bin: &Path,
    n: usize,
    wrap: &[String],
    headers: bool,
) -> ProcessFigure {
    let mut cmd = command(bin, wrap);
    let (output, group, side) = if headers {
        cmd.arg("--headers");
        (HEADERS_LOOP_OUTPUT, HEADERS_LOOP_GROUP, "loop-headers")
    } else {
        (LOOP_OUTPUT, LOOP_GROUP, "loop")
    };
    cmd.args([INPUT, output, group])
        .env("KAFKA_BOOTSTRAP_SERVERS", servers);
    let child = spawn(&mut cmd, side);
    measure(servers, child, output, n, side)
}

/// `bin`, or `wrap` running it (a profiler such as `valgrind --tool=callgrind`, which runs it in
/// its own process, so the figures stay the program's).
fn command(bin: &Path, wrap: &[String]) -> Command {
    match wrap.split_first() {
        Some((first, rest)) => {
            let mut cmd = Command::new(first);
            cmd.args(rest).arg(bin);
            cmd
        }
        None => Command::new(bin),
    }
}

/// The process's output goes to `target/bench-<side>.log`, as a deployed service's goes to a file.
fn spawn(cmd: &mut Command, side: &str) -> Child {
    let log = log_path(side);
    let file = std::fs::File::create(&log).expect("log file");
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("starting the {side}: {e}"))
}

fn log_path(side: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    let target = exe.ancestors().nth(3).expect("target dir");
    target.join(format!("bench-{side}.log"))
}

/// Waits for `n` outputs on `output`, reads the process's CPU, stops it, and checks the count.
fn measure(servers: &str, mut child: Child, output: &str, n: usize, side: &str) -> ProcessFigure {
    let watcher = EndOffsets::new(servers, output);
    let before = watcher.total();
    let pid = child.id();
    let started = Instant::now();
    let mut first: Option<(Instant, Duration)> = None;
    let mut progress = (0, Instant::now());
    let (done_at, cpu) = loop {
        std::thread::sleep(Duration::from_millis(20));
        let written = (watcher.total() - before) as usize;
        let now = Instant::now();
        if written != progress.0 {
            progress = (written, now);
        } else if now - progress.1 > STALL {
            report_stall(servers, &watcher, output, written, n, side);
            progress.1 = now;
        }
        let cpu = other_cpu(pid).unwrap_or_default();
        if written > 0 && first.is_none() {
            first = Some((now, cpu));
        }
        if written >= n {
            break (now, cpu);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{side} exited ({status}) after {written} of {n} outputs; see {}",
                log_path(side).display()
            );
        }
        let limit = if first.is_none() {
            FIRST_OUTPUT
        } else {
            DEADLINE
        };
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!(
                "{side}: {written} of {n} outputs after {} s; see {}",
                limit.as_secs(),
                log_path(side).display()
            );
        }
    };
    eprintln!(
        "  {side}: {:.2} CPU s in the kernel; {:.1} thread switches and {:.1} page faults per thousand inputs; peak memory {}; CPU by thread: {}",
        kernel_cpu(pid),
        switches(pid) as f64 * 1e3 / n as f64,
        stat_field(pid, 7) as f64 * 1e3 / n as f64,
        peak_memory(pid),
        thread_cpu(pid)
    );
    stop(&mut child, side);
    let written = watcher.total() - before;
    assert_eq!(
        written, n as i64,
        "{side}: {written} outputs for {n} inputs"
    );
    let (first_at, startup_cpu) = first.expect("first output");
    ProcessFigure {
        msgs_per_s: n as f64 / (done_at - first_at).as_secs_f64().max(1e-3),
        cpu_s_per_million: cpu.as_secs_f64() * 1e6 / n as f64,
        startup_cpu_s: startup_cpu.as_secs_f64(),
    }
}

/// The process's CPU so far by thread name (digits dropped, so a pool's threads add up), most
/// first: where a side spends its time, without a profiler.
fn thread_cpu(pid: u32) -> String {
    let mut by_name: Vec<(String, f64)> = Vec::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    for task in tasks.flatten() {
        let Some((name, cpu)) = task_cpu(&task.path()) else {
            continue;
        };
        match by_name.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += cpu,
            None => by_name.push((name, cpu)),
        }
    }
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    let shown: Vec<String> = by_name
        .iter()
        .map(|(name, cpu)| format!("{name} {cpu:.2} s"))
        .collect();
    shown.join(", ")
}

/// The process's CPU seconds in the kernel so far (system calls, wake-ups, page faults).
fn kernel_cpu(pid: u32) -> f64 {
    let ticks = stat_field(pid, 12);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
}

/// A numeric field of `/proc/<pid>/stat`, counted from the one after the name (0 is the state,
/// 7 the minor page faults, 12 the kernel CPU ticks).
fn stat_field(pid: u32, field: usize) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    rest.split_whitespace()
        .nth(field)
        .and_then(|t| t.parse().ok())
        .unwrap_or_default()
}

/// The process's peak resident memory so far (`VmHWM`).
fn peak_memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map_or_else(|| "unknown".into(), |v| v.trim().to_owned())
}

/// Context switches of every thread of the process so far, voluntary and not: each is a thread
/// that went to sleep (or was put to sleep) and had to be woken again.
fn switches(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    let mut total = 0;
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}

/// One thread's name (without digits) and CPU seconds, from `/proc/<pid>/task/<tid>/stat`.
fn task_cpu(task: &std::path::Path) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(task.join("stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name: String = stat[open + 1..close]
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some((name, ticks as f64 / hz))
}

/// A side wrote nothing new for [`STALL`]: what the watcher reads, what a fresh client reads
/// (both ListOffsets, the latter per partition with its own connection), so a stale reading
/// tells itself apart from a stalled side.
fn report_stall(
    servers: &str,
    watcher: &EndOffsets,
    output: &str,
    written: usize,
    n: usize,
    side: &str,
) {
    let fresh: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .expect("watermark client");
    let ends: Vec<String> = (0..PARTITIONS)
        .map(
            |p| match fresh.fetch_watermarks(output, p, Duration::from_secs(10)) {
                Ok((_, hi)) => hi.to_string(),
                Err(e) => e.to_string(),
            },
        )
        .collect();
    eprintln!(
        "  {side}: {written} of {n} outputs and none for {} s; {output}'s ends as the watcher reads them {:?}, as a new client reads them {:?}",
        STALL.as_secs(),
        watcher.per_partition(),
        ends
    );
}

/// SIGTERM, then up to 30 s for a graceful stop before SIGKILL.
fn stop(child: &mut Child, side: &str) {
    // SAFETY: kill has no memory preconditions; the pid is our own child's, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("service: the {side} did not stop within 30 s of SIGTERM; killing it");
    let _ = child.kill();
    let _ = child.wait();
}

/// The end offsets of a topic's partitions, in one ListOffsets request per poll.
struct EndOffsets {
    consumer: BaseConsumer,
    topic: String,
}

impl EndOffsets {
    fn new(servers: &str, topic: &str) -> Self {
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", servers)
            .create()
            .expect("watermark client");
        Self {
            consumer,
            topic: topic.to_owned(),
        }
    }

    fn total(&self) -> i64 {
        self.per_partition().iter().sum()
    }

    fn per_partition(&self) -> Vec<i64> {
        let mut tpl = TopicPartitionList::new();
        for p in 0..PARTITIONS {
            tpl.add_partition_offset(&self.topic, p, Offset::End)
                .expect("tpl");
        }
        let ends = self
            .consumer
            .offsets_for_times(tpl, Duration::from_secs(10))
            .expect("end offsets");
        ends.elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                other => panic!("end offset of {}: {other:?}", self.topic),
            })
            .collect()
    }
}
