//! End-to-end benchmarks against a real Kafka broker: streamkit against raw rdkafka doing the same
//! work, interleaved in one process and one run so machine noise hits both sides alike. The
//! figures and what limits them are in `docs/benchmarks.md`.
//!
//! Run (needs a broker: `scripts/kafka up`; `KAFKA_BOOTSTRAP_SERVERS`, default 127.0.0.1:19092):
//!
//! ```sh
//! cargo bench --bench e2e
//! cargo bench --bench e2e -- --messages 50000 --rounds 7 --rate 2000 --latency-seconds 10
//! ```
//!
//! Scenarios, each round running streamkit then raw:
//! 1. `produce`: `MessageProducer::enqueue` of a ~330-byte trading signal envelope, then every
//!    delivery awaited, against a raw `FutureProducer` sending the same envelope JSON (serde_json
//!    from a plain struct, new UUIDv7 each) and the same headers with `send_result`, the delivery
//!    futures awaited the same way. Same idempotence, acks and partitioner.
//! 2. `consume`: N pre-produced messages on 6 partitions, each side in a new group. streamkit:
//!    `MessageConsumer::run` with a no-op handler taking `Envelope<TradingSignal>`, in-memory dedup,
//!    tracked commits. Raw: a `BaseConsumer` poll loop, serde_json into the plain struct, a
//!    `HashSet` dedup check, `store_offset` and an async commit every 500 ms.
//! 3. `pipeline`: the same input through a risk check (reject above a position limit, publish the
//!    rest to an output topic). streamkit: a `StreamServiceBuilder` service whose handler publishes
//!    with `Context::publish` (`--with-send`: once more with `Context::send`). Raw: consume,
//!    decode, check, encode a new envelope, produce, and store an
//!    input's offset only once its output is acknowledged (deliveries awaited in order, async
//!    commit every 500 ms): at-least-once on both sides.
//! 4. `latency`: messages at a fixed rate, every other one from a streamkit `MessageProducer` and
//!    the others from a raw `FutureProducer` (both `linger.ms=1`); a streamkit consumer and a raw
//!    consumer read them all and measure now minus the envelope's timestamp. Reported: streamkit
//!    producer to streamkit consumer, raw to raw as the reference, and each producer's
//!    send-to-acknowledgement times.
//! 5. `eos`: the `pipeline` risk check exactly once, on the same input. streamkit: the same
//!    service with `ServiceConfig::exactly_once` and a named instance (a stable
//!    `transactional.id`). Raw: a `read_committed` `BaseConsumer` and a transactional
//!    `BaseProducer`: consume, decode, check, encode, produce in the open transaction, and every
//!    `commit_every` messages or `commit_interval` (the service's values, from
//!    `STREAMKIT_COMMIT_EVERY` and `STREAMKIT_COMMIT_INTERVAL_MS` or the defaults, printed with
//!    the figures) `send_offsets_to_transaction` and `commit_transaction`. Measured up to every
//!    input's offset committed (a watcher polls the group's committed offsets, the same on both
//!    sides); the outputs are checked with a `read_committed` reader: each accepted signal's
//!    output once per round, nothing in aborted or open transactions.
//! 6. `io` and 7. `batch`: concurrency inside a partition (a handler awaiting 1 ms, with
//!    `concurrency` 1, 8 and 64) and a batch handler against per-record handling of the same
//!    work; see `e2e/concurrency.rs`. They read `--messages / 5` records each.
//!
//! Throughput is measured from the first message reaching user code to the last one finished
//! (`eos`: committed; group joins are outside it). CPU is this process's user+system time from
//! `getrusage(RUSAGE_SELF)` (the `libc` crate) over the same interval; the broker's CPU is not in
//! it (set `STREAMKIT_BENCH_BROKER_PID` to also print the broker's, from `/proc/<pid>/stat`).
//! Each round's line also gives minor page faults and voluntary context switches per thousand
//! messages, from the same call.
//! 6. `otel`: the streamkit `pipeline` with OpenTelemetry off, then on, each round (only in a
//!    build with `--features otel`: `cargo bench --features otel --bench e2e`); see
//!    `benches/e2e/otel.rs` for what "on" includes.
//!
//! 8. `service`: the service as users write it (`examples/bench_service.rs`: the macros, default
//!    settings) against the plainest hand-written loop (`examples/bench_loop.rs`), and against
//!    that loop writing streamkit's six headers on each output, each its own process, measured
//!    from outside on `4 × --messages` preloaded signals a round; see `benches/e2e/service.rs`.
//!
//! The last lines printed are machine-readable, one per scenario. `--only <scenario>` and
//! `--side streamkit|raw` narrow a run (for profiling one side).

use std::collections::{HashMap, HashSet, VecDeque};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

#[path = "e2e/otel.rs"]
mod otel;
#[path = "e2e/service.rs"]
mod service;

use chrono::{DateTime, SubsecRound, Utc};
use futures::FutureExt;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use streamkit::consumer::MessageConsumer;
use streamkit::handler::extract::{Context, Envelope, Resources, State};
use streamkit::handler::{BoundHandler, HandlerError};
use streamkit::kafka::config::KafkaConfig;
use streamkit::kafka::producer::MessageProducer;
use streamkit::service::StreamServiceBuilder;
use streamkit::service::config::ServiceConfig;
use streamkit::{Event, testing};
use uuid::Uuid;

#[path = "e2e/concurrency.rs"]
mod concurrency;

// ---------------------------------------------------------------------------------------------
// the messages

/// The input: what a strategy runner publishes. 69 bytes of JSON, ~330 bytes as an envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TradingSignal {
    symbol: String,
    signal: Side,
    quantity: u64,
    price: Decimal,
}

impl Event for TradingSignal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

/// The pipeline's output: a signal that passed the risk check.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ValidatedSignal {
    symbol: String,
    signal: Side,
    quantity: u64,
    price: Decimal,
    limit: u64,
}

impl Event for ValidatedSignal {
    const EVENT_TYPE: &'static str = "validated_signal";
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
enum Side {
    Buy,
    Sell,
}

/// What the raw side encodes and decodes: the envelope's fields with plain serde impls.
#[derive(Debug, Serialize, Deserialize)]
struct PlainEnvelope<T> {
    id: Uuid,
    correlation_id: Uuid,
    #[serde(default)]
    causation_id: Option<Uuid>,
    broker: String,
    event_type: String,
    source: String,
    timestamp: DateTime<Utc>,
    #[serde(default = "version_one")]
    version: u32,
    data: T,
}

/// A new trading-signal envelope as the raw side builds it: a new UUIDv7 (its own correlation),
/// now to the microsecond, no cause.
fn raw_envelope<T>(source: &str, data: T) -> PlainEnvelope<T> {
    let id = Uuid::now_v7();
    PlainEnvelope {
        id,
        correlation_id: id,
        causation_id: None,
        broker: "paper".to_owned(),
        event_type: TradingSignal::EVENT_TYPE.to_owned(),
        source: source.to_owned(),
        timestamp: Utc::now().trunc_subsecs(6),
        version: 1,
        data,
    }
}

fn version_one() -> u32 {
    1
}

/// Signals above this quantity are rejected by the risk check (1 in 10 of the inputs).
const POSITION_LIMIT: u64 = 900;
const SYMBOLS: [&str; 8] = [
    "RELIANCE",
    "TCS",
    "INFY",
    "HDFCBANK",
    "ICICIBANK",
    "SBIN",
    "ITC",
    "LT",
];
/// Partition keys: strategy ids.
const KEYS: usize = 64;
const PARTITIONS: i32 = 6;

fn signal(i: usize) -> TradingSignal {
    TradingSignal {
        symbol: SYMBOLS[i % SYMBOLS.len()].to_owned(),
        signal: if i.is_multiple_of(2) {
            Side::Buy
        } else {
            Side::Sell
        },
        quantity: 100 * (1 + (i as u64 % 10)), // 100..=1000: the 1000s are rejected
        price: Decimal::new(245_055 + (i as i64 % 100), 2),
    }
}

fn keys() -> Vec<String> {
    (0..KEYS).map(|k| format!("strategy-{k}")).collect()
}

/// The headers streamkit writes, written by hand for the raw side (same bytes on the wire).
fn raw_headers(
    id: &Uuid,
    correlation: &Uuid,
    causation: Option<&Uuid>,
    event_type: &str,
) -> OwnedHeaders {
    let mut a = Uuid::encode_buffer();
    let mut b = Uuid::encode_buffer();
    let mut h = OwnedHeaders::new_with_capacity(5)
        .insert(Header {
            key: "event_type",
            value: Some(event_type),
        })
        .insert(Header {
            key: "event_id",
            value: Some(&*id.hyphenated().encode_lower(&mut a)),
        })
        .insert(Header {
            key: "correlation_id",
            value: Some(&*correlation.hyphenated().encode_lower(&mut b)),
        })
        .insert(Header {
            key: "content-type",
            value: Some("application/json"),
        });
    if let Some(c) = causation {
        let mut buf = Uuid::encode_buffer();
        h = h.insert(Header {
            key: "causation_id",
            value: Some(&*c.hyphenated().encode_lower(&mut buf)),
        });
    }
    h
}

// ---------------------------------------------------------------------------------------------
// measuring

/// A point in time with this process's CPU time.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    /// User + system CPU time of this process.
    cpu: Duration,
    /// The system (kernel) part of it.
    sys: Duration,
    /// Minor page faults of this process so far (memory touched for the first time).
    faults: u64,
    /// Voluntary context switches of this process so far: a thread blocking (waiting for work,
    /// a lock, the network) and giving up its core.
    switches: u64,
}

impl Sample {
    fn now() -> Self {
        let (user, sys, faults, switches) = process_cpu();
        Self {
            at: Instant::now(),
            cpu: user + sys,
            sys,
            faults,
            switches,
        }
    }
}

/// User and system CPU time of this process (every thread), its minor page faults and its
/// voluntary context switches, from `getrusage(RUSAGE_SELF)`.
fn process_cpu() -> (Duration, Duration, u64, u64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the pointer it is given; RUSAGE_SELF is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (
        tv(usage.ru_utime),
        tv(usage.ru_stime),
        usage.ru_minflt.max(0) as u64,
        usage.ru_nvcsw.max(0) as u64,
    )
}

/// CPU time of another process (the broker), from `/proc/<pid>/stat` (utime + stime).
fn other_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}

fn broker_pid() -> Option<u32> {
    std::env::var("STREAMKIT_BENCH_BROKER_PID")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// What one measured phase gave.
#[derive(Debug, Clone, Copy)]
struct Figure {
    msgs_per_s: f64,
    cpu_s_per_million: f64,
    /// The kernel's part of `cpu_s_per_million` (system calls: futex wake-ups, network).
    sys_s_per_million: f64,
    /// Minor page faults per thousand messages: how much memory was touched for the first time.
    faults_per_thousand: f64,
    /// Voluntary context switches per thousand messages: how often a thread of this process
    /// blocked, which is most of what handing work between threads costs.
    switches_per_thousand: f64,
    broker_cpu_s_per_million: Option<f64>,
}

impl Figure {
    fn between(n: usize, a: Sample, b: Sample, broker: Option<(Duration, Duration)>) -> Self {
        let wall = (b.at - a.at).as_secs_f64();
        let per_million = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        Self {
            msgs_per_s: n as f64 / wall,
            cpu_s_per_million: per_million(b.cpu.saturating_sub(a.cpu)),
            sys_s_per_million: per_million(b.sys.saturating_sub(a.sys)),
            faults_per_thousand: b.faults.saturating_sub(a.faults) as f64 * 1e3 / n as f64,
            switches_per_thousand: b.switches.saturating_sub(a.switches) as f64 * 1e3 / n as f64,
            broker_cpu_s_per_million: broker.map(|(x, y)| per_million(y.saturating_sub(x))),
        }
    }
}

/// Counts messages through user code: the first one's arrival and the last one's end.
struct Progress {
    target: u64,
    started: AtomicBool,
    done: AtomicU64,
    first: OnceLock<Sample>,
    last: OnceLock<Sample>,
    broker_first: OnceLock<Option<Duration>>,
    broker_last: OnceLock<Option<Duration>>,
    finished: tokio::sync::Notify,
    broker: Option<u32>,
}

impl Progress {
    fn new(target: usize) -> Arc<Self> {
        Arc::new(Self {
            target: target as u64,
            started: AtomicBool::new(false),
            done: AtomicU64::new(0),
            first: OnceLock::new(),
            last: OnceLock::new(),
            broker_first: OnceLock::new(),
            broker_last: OnceLock::new(),
            finished: tokio::sync::Notify::new(),
            broker: broker_pid(),
        })
    }

    /// A message reached user code.
    fn arrived(&self) {
        if !self.started.swap(true, Ordering::Relaxed) {
            let _ = self.broker_first.set(self.broker.and_then(other_cpu));
            let _ = self.first.set(Sample::now());
        }
    }

    /// A message is finished.
    fn finished(&self) {
        if self.done.fetch_add(1, Ordering::AcqRel) + 1 == self.target {
            let _ = self.last.set(Sample::now());
            let _ = self.broker_last.set(self.broker.and_then(other_cpu));
            self.finished.notify_one();
        }
    }

    async fn wait(&self, what: &str) {
        if tokio::time::timeout(Duration::from_secs(120), self.finished.notified())
            .await
            .is_err()
        {
            panic!(
                "{what}: only {} of {} messages finished within 120 s",
                self.done.load(Ordering::Relaxed),
                self.target
            );
        }
    }

    fn figure(&self) -> Figure {
        let broker = match (self.broker_first.get(), self.broker_last.get()) {
            (Some(Some(a)), Some(Some(b))) => Some((*a, *b)),
            _ => None,
        };
        Figure::between(
            self.target as usize,
            *self.first.get().expect("first"),
            *self.last.get().expect("last"),
            broker,
        )
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

// ---------------------------------------------------------------------------------------------
// setup

struct Args {
    messages: usize,
    rounds: usize,
    rate: u64,
    latency_seconds: u64,
    only: Option<String>,
    side: Option<String>,
    with_send: bool,
    /// `partition_queue` of the `io` scenario's consumers.
    io_queue: usize,
    /// A command the `service` scenario's programs run under (a profiler), split at spaces.
    wrap: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        messages: 50_000,
        rounds: 7,
        rate: 2_000,
        latency_seconds: 10,
        only: None,
        side: None,
        with_send: false,
        io_queue: streamkit::ConsumerOptions::default().partition_queue,
        wrap: Vec::new(),
    };
    // `cargo test --all-targets` runs this target without `--bench`: a smoke run that proves
    // every scenario works, small enough for the test suite. `cargo bench` passes `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        args.messages = 2_000;
        args.rounds = 1;
        args.latency_seconds = 2;
        println!("e2e: smoke run (no --bench: run through `cargo bench --bench e2e` for figures)");
    }
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> String {
            it.next()
                .unwrap_or_else(|| fail(&format!("{name} needs a value")))
        };
        let number = |name: &str, v: String| -> u64 {
            v.parse()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or_else(|| fail(&format!("{name} expects a positive number, found `{v}`")))
        };
        match a.as_str() {
            "--bench" => {} // cargo bench passes it to harness = false targets
            "--messages" => args.messages = number("--messages", value("--messages")) as usize,
            "--rounds" => args.rounds = number("--rounds", value("--rounds")) as usize,
            "--rate" => args.rate = number("--rate", value("--rate")),
            "--latency-seconds" => {
                args.latency_seconds = number("--latency-seconds", value("--latency-seconds"))
            }
            "--only" => args.only = Some(value("--only")),
            "--side" => args.side = Some(value("--side")),
            "--with-send" => args.with_send = true,
            "--io-queue" => args.io_queue = number("--io-queue", value("--io-queue")) as usize,
            "--wrap" => {
                args.wrap = value("--wrap")
                    .split_whitespace()
                    .map(String::from)
                    .collect()
            }
            other => fail(&format!(
                "unknown argument `{other}`; expected --messages N, --rounds N, --rate N, \
                 --latency-seconds N, --only produce|consume|pipeline|eos|latency|io|batch|otel|service, \
                 --side streamkit|raw (one side only, for profiling), --with-send, --io-queue N, \
                 --wrap CMD (service: run both programs under CMD)"
            )),
        }
    }
    args
}

fn fail(line: &str) -> ! {
    eprintln!("e2e: {line}");
    std::process::exit(2)
}

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "127.0.0.1:19092".to_owned())
}

/// Fails with one line unless the broker answers a metadata request.
fn check_broker(servers: &str) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .unwrap_or_else(|e| fail(&format!("bad KAFKA_BOOTSTRAP_SERVERS `{servers}`: {e}")));
    if let Err(e) = consumer.fetch_metadata(None, Duration::from_secs(5)) {
        eprintln!(
            "e2e: no Kafka broker reachable at {servers} ({e}); start one with `scripts/kafka up` \
             or set KAFKA_BOOTSTRAP_SERVERS"
        );
        std::process::exit(1);
    }
}

/// The raw producer: the properties `MessageProducer` sets, nothing else.
fn raw_producer(servers: &str, extra: &[(&str, &str)]) -> FutureProducer {
    raw_producer_config(servers, extra)
        .create()
        .expect("raw producer")
}

fn raw_producer_config(servers: &str, extra: &[(&str, &str)]) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", servers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("partitioner", "murmur2_random")
        .set("socket.nagle.disable", "true")
        .set("client.id", "bench-raw");
    for (k, v) in extra {
        cfg.set(*k, *v);
    }
    cfg
}

/// The raw consumer: the properties `MessageConsumer` sets.
fn raw_consumer_config(servers: &str, group: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", servers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("socket.nagle.disable", "true")
        .set("client.id", "bench-raw");
    cfg
}

/// Hands a record to librdkafka, waiting while its queue is full (as `MessageProducer` does).
async fn raw_send(
    producer: &FutureProducer,
    mut record: FutureRecord<'_, str, [u8]>,
) -> DeliveryFuture {
    loop {
        match producer.send_result(record) {
            Ok(delivery) => return delivery,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            Err((e, _)) => panic!("raw send: {e}"),
        }
    }
}

async fn await_raw(delivery: DeliveryFuture) {
    match delivery.await {
        Ok(Ok(_)) => {}
        Ok(Err((e, _))) => panic!("raw delivery: {e}"),
        Err(_) => panic!("raw delivery canceled"),
    }
}

/// Fills `topic` with `n` signals (not measured).
async fn preproduce(kafka: &KafkaConfig, topic: &str, n: usize) {
    let producer = MessageProducer::new(kafka, "bench-upstream").expect("producer");
    let keys = keys();
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        pending.push(
            producer
                .enqueue(topic, &keys[i % KEYS], &signal(i))
                .await
                .expect("enqueue"),
        );
    }
    for p in pending {
        p.await.expect("pre-produce delivery");
    }
}

/// Sum over partitions of the high watermark: records in `topic`.
fn records_in(servers: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .expect("watermark client");
    (0..PARTITIONS)
        .map(|p| {
            let (lo, hi) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks");
            hi - lo
        })
        .sum()
}

async fn delete_topics(servers: &str, topics: &[&str]) {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .expect("admin");
    let _ = admin.delete_topics(topics, &AdminOptions::new()).await;
}

// ---------------------------------------------------------------------------------------------
// 1. produce

async fn produce_streamkit(kafka: &KafkaConfig, topic: &str, n: usize) -> Figure {
    let producer = MessageProducer::new(kafka, "bench-producer").expect("producer");
    producer.start().await.expect("start");
    let keys = keys();
    let signals: Vec<TradingSignal> = (0..n).map(signal).collect();
    // One send first, so the topic's metadata and the connection are there before measuring.
    producer
        .send(topic, &keys[0], &signals[0])
        .await
        .expect("warm-up");
    let broker = broker_pid();
    let b0 = broker.and_then(other_cpu);
    let start = Sample::now();
    let mut pending = Vec::with_capacity(n);
    for (i, s) in signals.iter().enumerate() {
        pending.push(
            producer
                .enqueue(topic, &keys[i % KEYS], s)
                .await
                .expect("enqueue"),
        );
    }
    for p in pending {
        p.await.expect("delivery");
    }
    let end = Sample::now();
    let b1 = broker.and_then(other_cpu);
    Figure::between(n, start, end, b0.zip(b1))
}

async fn produce_raw(servers: &str, topic: &str, n: usize) -> Figure {
    let producer = raw_producer(servers, &[]);
    let keys = keys();
    let signals: Vec<TradingSignal> = (0..n).map(signal).collect();
    let warm = b"{}".to_vec();
    await_raw(
        raw_send(
            &producer,
            FutureRecord::to(topic)
                .key(keys[0].as_str())
                .payload(&warm[..]),
        )
        .await,
    )
    .await;
    let broker = broker_pid();
    let b0 = broker.and_then(other_cpu);
    let start = Sample::now();
    let mut pending = Vec::with_capacity(n);
    for (i, s) in signals.iter().enumerate() {
        let env = raw_envelope("bench-producer", s);
        let bytes = serde_json::to_vec(&env).expect("encode");
        let headers = raw_headers(&env.id, &env.correlation_id, None, &env.event_type);
        let record = FutureRecord::to(topic)
            .key(keys[i % KEYS].as_str())
            .payload(&bytes[..])
            .headers(headers);
        pending.push(raw_send(&producer, record).await);
    }
    for p in pending {
        await_raw(p).await;
    }
    let end = Sample::now();
    let b1 = broker.and_then(other_cpu);
    Figure::between(n, start, end, b0.zip(b1))
}

// ---------------------------------------------------------------------------------------------
// 2. consume

async fn noop(
    Envelope(signal): Envelope<TradingSignal>,
    State(progress): State<Arc<Progress>>,
) -> Result<(), HandlerError> {
    progress.arrived();
    black_box(&signal.data);
    progress.finished();
    Ok(())
}

async fn consume_streamkit(kafka: &KafkaConfig, topic: &str, n: usize) -> Figure {
    let progress = Progress::new(n);
    let mut resources = Resources::default();
    resources.insert(Arc::clone(&progress));
    let consumer = MessageConsumer::new(kafka, &[topic], &testing::unique_name("bench-sk"))
        .expect("consumer")
        .service("bench-consumer");
    let stop = consumer.shutdown_handle();
    let running = tokio::spawn(consumer.run(BoundHandler::new(noop, Arc::new(resources))));
    progress.wait("streamkit consume").await;
    stop.shutdown();
    let report = running.await.expect("consumer task").expect("consumer run");
    assert_eq!(report.stats.handled, n as u64, "{:?}", report.stats);
    progress.figure()
}

fn consume_raw(servers: &str, topic: &str, n: usize) -> Figure {
    let progress = Progress::new(n);
    let consumer: BaseConsumer = raw_consumer_config(servers, &testing::unique_name("bench-raw"))
        .create()
        .expect("raw consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut last_commit = Instant::now();
    let mut count = 0;
    while count < n {
        if last_commit.elapsed() >= Duration::from_millis(500) {
            let _ = consumer.commit_consumer_state(CommitMode::Async);
            last_commit = Instant::now();
        }
        let msg = match consumer.poll(Duration::from_millis(50)) {
            None => continue,
            Some(Err(e)) => panic!("raw consume: {e}"),
            Some(Ok(m)) => m,
        };
        progress.arrived();
        let env: PlainEnvelope<TradingSignal> =
            serde_json::from_slice(msg.payload().unwrap_or_default()).expect("decode");
        if seen.insert(env.id) {
            black_box(&env.data);
        }
        consumer
            .store_offset_from_message(&msg)
            .expect("store offset");
        count += 1;
        progress.finished();
    }
    let _ = consumer.commit_consumer_state(CommitMode::Sync);
    consumer.unsubscribe();
    progress.figure()
}

// ---------------------------------------------------------------------------------------------
// 3. pipeline

#[derive(Clone)]
struct Pipeline {
    progress: Arc<Progress>,
    out: Arc<str>,
    rejected: Arc<AtomicU64>,
    /// Publish with `Context::send` (the handler awaits each acknowledgement) rather than
    /// `Context::publish` (the consumer awaits them).
    wait_for_ack: bool,
}

async fn risk_check(
    Envelope(signal): Envelope<TradingSignal>,
    ctx: Context,
    State(p): State<Pipeline>,
) -> Result<(), HandlerError> {
    p.progress.arrived();
    let s = signal.data;
    if s.quantity > POSITION_LIMIT {
        p.rejected.fetch_add(1, Ordering::Relaxed);
    } else {
        let out = ValidatedSignal {
            symbol: s.symbol,
            signal: s.signal,
            quantity: s.quantity,
            price: s.price,
            limit: POSITION_LIMIT,
        };
        if p.wait_for_ack {
            ctx.send(&p.out, &out).await?;
        } else {
            ctx.publish(&p.out, &out).await?;
        }
    }
    p.progress.finished();
    Ok(())
}

async fn pipeline_streamkit(
    kafka: &KafkaConfig,
    input: &str,
    output: &str,
    n: usize,
    wait_for_ack: bool,
) -> (Figure, u64) {
    let state = Pipeline {
        progress: Progress::new(n),
        out: Arc::from(output),
        rejected: Arc::default(),
        wait_for_ack,
    };
    // The service reads its settings from the environment as a deployed one does
    // (`STREAMKIT_COMMIT_EVERY`, for one).
    let config = ServiceConfig::with_kafka(kafka.clone())
        .merge_env()
        .expect("service settings");
    let service = StreamServiceBuilder::new("bench-risk", config)
        .add_producer()
        .with_state(state.clone())
        .add_consumer_handler(&[input], &testing::unique_name("bench-sk-risk"), risk_check)
        .build()
        .expect("service");
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());
    state.progress.wait("streamkit pipeline").await;
    handle.shutdown();
    let report = running.await.expect("service task").expect("service run");
    assert_eq!(report.undelivered, 0);
    (
        state.progress.figure(),
        state.rejected.load(Ordering::Relaxed),
    )
}

/// The raw risk check's output for an accepted signal: a new envelope caused by `env`, encoded
/// into `out`, and its headers.
fn encode_validated(env: PlainEnvelope<TradingSignal>, out: &mut Vec<u8>) -> OwnedHeaders {
    let id = Uuid::now_v7();
    let validated = PlainEnvelope {
        id,
        correlation_id: env.correlation_id,
        causation_id: Some(env.id),
        broker: env.broker,
        event_type: ValidatedSignal::EVENT_TYPE.to_owned(),
        source: "bench-risk".to_owned(),
        timestamp: Utc::now().trunc_subsecs(6),
        version: 1,
        data: ValidatedSignal {
            symbol: env.data.symbol,
            signal: env.data.signal,
            quantity: env.data.quantity,
            price: env.data.price,
            limit: POSITION_LIMIT,
        },
    };
    out.clear();
    serde_json::to_writer(&mut *out, &validated).expect("encode");
    raw_headers(
        &validated.id,
        &validated.correlation_id,
        validated.causation_id.as_ref(),
        &validated.event_type,
    )
}

async fn pipeline_raw(servers: &str, input: &str, output: &str, n: usize) -> (Figure, u64) {
    let progress = Progress::new(n);
    let consumer: StreamConsumer =
        raw_consumer_config(servers, &testing::unique_name("bench-raw-risk"))
            .create()
            .expect("raw consumer");
    consumer.subscribe(&[input]).expect("subscribe");
    let producer = raw_producer(servers, &[]);
    let mut seen: HashSet<Uuid> = HashSet::new();
    // Inputs in the order read, each with its output's delivery (none when rejected); an input's
    // offset is stored once it and everything before it is delivered.
    let mut inflight: VecDeque<(Option<DeliveryFuture>, i32, i64)> = VecDeque::new();
    let store = |consumer: &StreamConsumer, p: i32, o: i64| {
        consumer.store_offset(input, p, o).expect("store offset");
        progress.finished();
    };
    let mut rejected = 0;
    let mut last_commit = Instant::now();
    let mut read = 0;
    let mut out_bytes = Vec::with_capacity(512);
    while read < n {
        let msg = consumer.recv().await.expect("raw consume");
        progress.arrived();
        read += 1;
        let env: PlainEnvelope<TradingSignal> =
            serde_json::from_slice(msg.payload().unwrap_or_default()).expect("decode");
        let (partition, offset) = (msg.partition(), msg.offset());
        let mut delivery = None;
        if seen.insert(env.id) {
            if env.data.quantity > POSITION_LIMIT {
                rejected += 1;
            } else {
                let headers = encode_validated(env, &mut out_bytes);
                let key = msg.key().unwrap_or_default();
                let record = FutureRecord::to(output)
                    .key(std::str::from_utf8(key).unwrap_or_default())
                    .payload(&out_bytes[..])
                    .headers(headers);
                delivery = Some(raw_send(&producer, record).await);
            }
        }
        drop(msg);
        inflight.push_back((delivery, partition, offset));
        // Store the offsets of what is delivered, in order, without waiting.
        while let Some((d, _, _)) = inflight.front_mut() {
            match d {
                None => {}
                Some(f) => match f.now_or_never() {
                    None => break,
                    Some(Ok(Ok(_))) => {}
                    Some(_) => panic!("raw pipeline delivery failed"),
                },
            }
            let (_, p, o) = inflight.pop_front().expect("front");
            store(&consumer, p, o);
        }
        if last_commit.elapsed() >= Duration::from_millis(500) {
            let _ = consumer.commit_consumer_state(CommitMode::Async);
            last_commit = Instant::now();
        }
    }
    while let Some((d, p, o)) = inflight.pop_front() {
        if let Some(f) = d {
            await_raw(f).await;
        }
        store(&consumer, p, o);
    }
    let _ = consumer.commit_consumer_state(CommitMode::Sync);
    consumer.unsubscribe();
    (progress.figure(), rejected)
}

// ---------------------------------------------------------------------------------------------
// 4. latency

/// The `source` of the envelopes the raw producer sends in the latency scenario; the consumers
/// tell the two producers' records apart by it.
const RAW_TICKER: &str = "bench-raw-ticker";

/// Latency samples in arrival order: whether the raw producer sent the record, and microseconds
/// from the envelope's timestamp to the handler.
#[derive(Clone)]
struct Latencies {
    micros: Arc<Mutex<Vec<(bool, i64)>>>,
}

async fn stamp(
    Envelope(env): Envelope<TradingSignal>,
    State(l): State<Latencies>,
) -> Result<(), HandlerError> {
    let micros = (Utc::now() - env.timestamp)
        .num_microseconds()
        .unwrap_or(i64::MAX);
    l.micros
        .lock()
        .expect("latencies")
        .push((env.source == RAW_TICKER, micros));
    Ok(())
}

/// p50, p99 and p99.9 in milliseconds, and how many samples they are over.
#[derive(Debug, Clone, Copy)]
struct Percentiles {
    p50: f64,
    p99: f64,
    p999: f64,
    samples: usize,
}

impl Percentiles {
    /// Over the samples in arrival order whose raw flag is `raw`, leaving out the first `warm_up`
    /// samples of either kind.
    fn of(samples: &[(bool, i64)], warm_up: usize, raw: bool) -> Self {
        let mut v: Vec<i64> = samples[warm_up.min(samples.len())..]
            .iter()
            .filter(|(r, _)| *r == raw)
            .map(|(_, m)| *m)
            .collect();
        assert!(!v.is_empty(), "no latency samples after the warm-up");
        v.sort_unstable();
        let pct = |q: f64| {
            let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
            v[i] as f64 / 1000.0
        };
        Self {
            p50: pct(0.50),
            p99: pct(0.99),
            p999: pct(0.999),
            samples: v.len(),
        }
    }
}

/// A raw `BaseConsumer` measuring the same latency on the same records, as a reference: what the
/// broker, librdkafka and this machine give without streamkit in the way.
fn raw_latency(servers: &str, topic: &str, total: usize, ready: &AtomicBool) -> Vec<(bool, i64)> {
    let consumer: BaseConsumer =
        raw_consumer_config(servers, &testing::unique_name("bench-raw-lat"))
            .create()
            .expect("raw consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut micros = Vec::with_capacity(total);
    let deadline = Instant::now() + Duration::from_secs(60 + total as u64 / 100);
    while micros.len() < total {
        assert!(
            Instant::now() < deadline,
            "raw latency consumer fell behind"
        );
        if !ready.load(Ordering::Relaxed)
            && consumer
                .assignment()
                .is_ok_and(|a| a.count() == PARTITIONS as usize)
        {
            ready.store(true, Ordering::Relaxed);
        }
        let msg = match consumer.poll(Duration::from_millis(50)) {
            None => continue,
            Some(Err(e)) => panic!("raw latency consume: {e}"),
            Some(Ok(m)) => m,
        };
        let env: PlainEnvelope<TradingSignal> =
            serde_json::from_slice(msg.payload().unwrap_or_default()).expect("decode");
        micros.push((
            env.source == RAW_TICKER,
            (Utc::now() - env.timestamp)
                .num_microseconds()
                .unwrap_or(i64::MAX),
        ));
        consumer
            .store_offset_from_message(&msg)
            .expect("store offset");
    }
    micros
}

/// End-to-end latencies at `rate` messages/s in all, every other message sent by a streamkit
/// `MessageProducer` and the others by a raw `FutureProducer` (same settings, `linger.ms=1`).
#[derive(Debug, Clone, Copy)]
struct LatencyFigures {
    /// streamkit producer to streamkit consumer: the `bench latency` line.
    streamkit: Percentiles,
    /// raw producer to raw consumer, on the same broker at the same time: the reference.
    raw: Percentiles,
    /// Enqueue to acknowledgement, streamkit's producer.
    streamkit_ack: Percentiles,
    /// Send to acknowledgement, the raw producer.
    raw_ack: Percentiles,
}

/// Runs the latency scenario: both consumers read every record of both producers; each record is
/// counted for the pair it belongs to (by its `source`).
async fn latency(
    kafka: &KafkaConfig,
    servers: &str,
    topic: &str,
    rate: u64,
    seconds: u64,
) -> LatencyFigures {
    let latencies = Latencies {
        micros: Arc::default(),
    };
    let mut resources = Resources::default();
    resources.insert(latencies.clone());
    let consumer = MessageConsumer::new(kafka, &[topic], &testing::unique_name("bench-sk-lat"))
        .expect("consumer")
        .service("bench-latency");
    let stop = consumer.shutdown_handle();
    let stats = consumer.stats();
    let running = tokio::spawn(consumer.run(BoundHandler::new(stamp, Arc::new(resources))));
    let total = (rate * seconds) as usize;
    let raw_ready = Arc::new(AtomicBool::new(false));
    let raw = {
        let (servers, topic, ready) =
            (servers.to_owned(), topic.to_owned(), Arc::clone(&raw_ready));
        std::thread::spawn(move || raw_latency(&servers, &topic, total, &ready))
    };
    let producer = MessageProducer::new(&kafka.clone().set("linger.ms", "1"), "bench-ticker")
        .expect("producer");
    producer.start().await.expect("start");
    let raw_producer = raw_producer(servers, &[("linger.ms", "1")]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.assigned_partitions.load(Ordering::Relaxed) < PARTITIONS as u64
        || !raw_ready.load(Ordering::Relaxed)
    {
        assert!(
            Instant::now() < deadline,
            "latency consumers got no assignment"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let keys = keys();
    let start = tokio::time::Instant::now();
    // Each send's acknowledgement time too: the producer-to-broker part of the latency.
    let mut acks = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + Duration::from_nanos(i as u64 * 1_000_000_000 / rate);
        tokio::time::sleep_until(due).await;
        let sent = Instant::now();
        let key = keys[i % KEYS].as_str();
        if i % 2 == 0 {
            let pending = producer
                .enqueue(topic, key, &signal(i))
                .await
                .expect("enqueue");
            acks.push(tokio::spawn(async move {
                pending.await.expect("delivery");
                (false, sent.elapsed().as_micros() as i64)
            }));
        } else {
            let env = raw_envelope(RAW_TICKER, signal(i));
            let bytes = serde_json::to_vec(&env).expect("encode");
            let headers = raw_headers(&env.id, &env.correlation_id, None, &env.event_type);
            let record = FutureRecord::to(topic)
                .key(key)
                .payload(&bytes[..])
                .headers(headers);
            let delivery = raw_send(&raw_producer, record).await;
            acks.push(tokio::spawn(async move {
                await_raw(delivery).await;
                (true, sent.elapsed().as_micros() as i64)
            }));
        }
    }
    let mut ack_micros = Vec::with_capacity(total);
    for a in acks {
        ack_micros.push(a.await.expect("ack task"));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while latencies.micros.lock().expect("latencies").len() < total {
        assert!(Instant::now() < deadline, "latency consumer fell behind");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.shutdown();
    running.await.expect("consumer task").expect("consumer run");
    let _ = producer.shutdown(Duration::from_secs(5)).await;
    let raw = tokio::task::spawn_blocking(move || raw.join().expect("raw latency thread"))
        .await
        .expect("join");
    // The first second is warm-up (connections, first fetches); arrival order, not send order.
    let warm_up = rate as usize;
    let sk = latencies.micros.lock().expect("latencies");
    LatencyFigures {
        streamkit: Percentiles::of(&sk, warm_up, false),
        raw: Percentiles::of(&raw, warm_up, true),
        streamkit_ack: Percentiles::of(&ack_micros, warm_up, false),
        raw_ack: Percentiles::of(&ack_micros, warm_up, true),
    }
}

// ---------------------------------------------------------------------------------------------
// 5. eos

/// How the exactly-once pipelines run: both sides commit a transaction every `every` messages
/// or `interval`, whichever comes first (the service's `commit_every` and `commit_interval`).
#[derive(Debug, Clone)]
struct Eos {
    every: u64,
    interval: Duration,
    /// The streamkit service's instance name, the same every round.
    instance: String,
    /// The raw producer's `transactional.id`, the same every round.
    transactional_id: String,
}

/// How long one raw transaction call (init, offsets, commit) may take.
const TXN_TIMEOUT: Duration = Duration::from_secs(30);

/// The streamkit side's service settings: the environment's, as for `pipeline`, with
/// `exactly_once` on and a named instance (a stable `transactional.id`).
fn eos_config(kafka: &KafkaConfig, instance: &str) -> ServiceConfig {
    let mut config = ServiceConfig::with_kafka(kafka.clone())
        .merge_env()
        .expect("service settings");
    config.exactly_once = true;
    config.instance = Some(instance.to_owned());
    config
}

/// Polls the committed offsets of `group` on `topic` until they add up to `n` (every input
/// committed, the topic's offsets starting at 0), then takes the sample: an exactly-once
/// pipeline is done when its last transaction is committed, not when its last handler
/// returned. The same watcher on both sides, so its polls cost both the same. `None` when
/// `stop` is set first.
fn watch_committed(
    servers: &str,
    group: &str,
    topic: &str,
    n: usize,
    stop: &AtomicBool,
) -> Option<(Sample, Option<Duration>)> {
    // read_uncommitted: no `require_stable` on the offset fetch, whose retries would delay it;
    // offsets sent in a transaction are not visible before the transaction commits anyway.
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_uncommitted")
        .create()
        .expect("offset watcher");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition(topic, p);
    }
    let broker = broker_pid();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(committed) = client.committed_offsets(tpl.clone(), Duration::from_secs(5)) {
            let sum: i64 = committed
                .elements()
                .iter()
                .map(|e| match e.offset() {
                    Offset::Offset(o) => o,
                    _ => 0,
                })
                .sum();
            if sum >= n as i64 {
                let at = Sample::now();
                return Some((at, broker.and_then(other_cpu)));
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// What one side's exactly-once round gave.
struct EosRound {
    figure: Figure,
    rejected: u64,
    /// Transactions (commits) it took.
    transactions: u64,
}

/// From the first message reaching user code (`handled`) to every input's offset committed.
fn eos_figure(n: usize, handled: &Progress, committed: (Sample, Option<Duration>)) -> Figure {
    let broker = handled
        .broker_first
        .get()
        .copied()
        .flatten()
        .zip(committed.1);
    Figure::between(n, *handled.first.get().expect("first"), committed.0, broker)
}

async fn eos_streamkit(
    kafka: &KafkaConfig,
    servers: &str,
    input: &str,
    output: &str,
    n: usize,
    eos: &Eos,
) -> EosRound {
    let state = Pipeline {
        progress: Progress::new(n),
        out: Arc::from(output),
        rejected: Arc::default(),
        wait_for_ack: false,
    };
    let config = eos_config(kafka, &eos.instance);
    let group = testing::unique_name("bench-sk-eos");
    let service = StreamServiceBuilder::new("bench-risk", config)
        .add_producer()
        .with_state(state.clone())
        .add_consumer_handler(&[input], &group, risk_check)
        .build()
        .expect("service");
    let handle = service.handle();
    let mut running = tokio::spawn(service.run_until_stopped());
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (servers, group, input, stop) = (
            servers.to_owned(),
            group.clone(),
            input.to_owned(),
            Arc::clone(&stop),
        );
        tokio::task::spawn_blocking(move || watch_committed(&servers, &group, &input, n, &stop))
    };
    let committed = tokio::select! {
        c = tokio::time::timeout(Duration::from_secs(120), watcher) => match c {
            Ok(c) => c.expect("offset watcher").expect("watcher stopped"),
            Err(_) => panic!(
                "streamkit eos: {} of {n} messages handled, not all committed within 120 s",
                state.progress.done.load(Ordering::Relaxed)
            ),
        },
        r = &mut running => {
            stop.store(true, Ordering::Relaxed);
            panic!("streamkit eos: the service stopped before committing every input: {r:?}")
        }
    };
    handle.shutdown();
    let report = running.await.expect("service task").expect("service run");
    assert_eq!(report.undelivered, 0);
    let handled: u64 = report.groups.iter().map(|(_, r)| r.stats.handled).sum();
    assert_eq!(handled, n as u64, "{:?}", report.groups);
    EosRound {
        figure: eos_figure(n, &state.progress, committed),
        rejected: state.rejected.load(Ordering::Relaxed),
        transactions: report.groups.iter().map(|(_, r)| r.stats.commits).sum(),
    }
}

/// Hands a record to librdkafka, serving delivery reports while its queue is full.
fn raw_send_base(producer: &BaseProducer, mut record: BaseRecord<'_, str, [u8]>) {
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                producer.poll(Duration::from_millis(1));
            }
            Err((e, _)) => panic!("raw eos send: {e}"),
        }
    }
}

/// Serves delivery reports until every record sent is acknowledged. `commit_transaction` would
/// flush them itself, but rdkafka's flush polls in 100 ms slices that each run to their end (its
/// `BaseProducer::poll` returns at the deadline, not at the first event): over 100 ms a commit
/// whenever a record is in flight. Polling without waiting, with 100 µs sleeps in between, does not
/// spin (a `poll` of 1 ms would: it waits in whole milliseconds and loops on the rest).
fn await_deliveries(producer: &BaseProducer) {
    loop {
        producer.poll(Duration::ZERO);
        if producer.in_flight_count() == 0 {
            return;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// The raw exactly-once loop: a `read_committed` `BaseConsumer` and a transactional
/// `BaseProducer`; consume, decode, check, encode, produce in the open transaction, and every
/// `every` messages or `interval` add the consumer's offsets to it, commit it and open the next.
/// The same triggers as the service's poll loop: a count of messages since the last commit, and
/// a timer restarted at every commit check. No dedup set: streamkit turns dedup off in
/// exactly-once mode, the transaction is what keeps outputs once.
fn eos_raw_loop(
    servers: &str,
    input: &str,
    output: &str,
    n: usize,
    eos: &Eos,
    group: &str,
    progress: &Progress,
) -> (u64, u64) {
    let mut cfg = raw_consumer_config(servers, group);
    cfg.set("isolation.level", "read_committed");
    let consumer: BaseConsumer = cfg.create().expect("raw consumer");
    consumer.subscribe(&[input]).expect("subscribe");
    let producer: BaseProducer = raw_producer_config(
        servers,
        &[
            ("transactional.id", eos.transactional_id.as_str()),
            ("transaction.timeout.ms", "30000"),
        ],
    )
    .create()
    .expect("raw transactional producer");
    producer
        .init_transactions(TXN_TIMEOUT)
        .expect("init_transactions");
    producer.begin_transaction().expect("begin_transaction");
    // Per input partition: the next offset to commit, and whether it moved since the last commit.
    let mut next = [(0i64, false); PARTITIONS as usize];
    let mut in_txn = 0u64;
    let mut since_check = 0u64;
    let mut last_check = Instant::now();
    let (mut committed, mut rejected, mut transactions) = (0usize, 0u64, 0u64);
    let mut out_bytes = Vec::with_capacity(512);
    while committed < n {
        if since_check >= eos.every || last_check.elapsed() >= eos.interval {
            if in_txn > 0 {
                let mut tpl = TopicPartitionList::new();
                for (p, (offset, moved)) in next.iter_mut().enumerate() {
                    if std::mem::take(moved) {
                        tpl.add_partition_offset(input, p as i32, Offset::Offset(*offset))
                            .expect("offset");
                    }
                }
                await_deliveries(&producer);
                let group = consumer.group_metadata().expect("group metadata");
                producer
                    .send_offsets_to_transaction(&tpl, &group, TXN_TIMEOUT)
                    .expect("send_offsets_to_transaction");
                producer
                    .commit_transaction(TXN_TIMEOUT)
                    .expect("commit_transaction");
                transactions += 1;
                committed += in_txn as usize;
                in_txn = 0;
                if committed >= n {
                    break;
                }
                producer.begin_transaction().expect("begin_transaction");
            }
            since_check = 0;
            last_check = Instant::now();
        }
        producer.poll(Duration::ZERO);
        let wait = eos
            .interval
            .saturating_sub(last_check.elapsed())
            .min(Duration::from_millis(50));
        let msg = match consumer.poll(wait) {
            None => continue,
            Some(Err(e)) => panic!("raw eos consume: {e}"),
            Some(Ok(m)) => m,
        };
        progress.arrived();
        let env: PlainEnvelope<TradingSignal> =
            serde_json::from_slice(msg.payload().unwrap_or_default()).expect("decode");
        if env.data.quantity > POSITION_LIMIT {
            rejected += 1;
        } else {
            let headers = encode_validated(env, &mut out_bytes);
            let key = std::str::from_utf8(msg.key().unwrap_or_default()).unwrap_or_default();
            let record = BaseRecord::to(output)
                .key(key)
                .payload(&out_bytes[..])
                .headers(headers);
            raw_send_base(&producer, record);
        }
        next[msg.partition() as usize] = (msg.offset() + 1, true);
        in_txn += 1;
        since_check += 1;
    }
    consumer.unsubscribe();
    (rejected, transactions)
}

async fn eos_raw(servers: &str, input: &str, output: &str, n: usize, eos: &Eos) -> EosRound {
    let progress = Progress::new(n);
    let group = testing::unique_name("bench-raw-eos");
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (servers, group, input, stop) = (
            servers.to_owned(),
            group.clone(),
            input.to_owned(),
            Arc::clone(&stop),
        );
        tokio::task::spawn_blocking(move || watch_committed(&servers, &group, &input, n, &stop))
    };
    let raw = {
        let (servers, input, output, eos, progress) = (
            servers.to_owned(),
            input.to_owned(),
            output.to_owned(),
            eos.clone(),
            Arc::clone(&progress),
        );
        tokio::task::spawn_blocking(move || {
            eos_raw_loop(&servers, &input, &output, n, &eos, &group, &progress)
        })
    };
    let (rejected, transactions) = match raw.await {
        Ok(r) => r,
        Err(e) => {
            stop.store(true, Ordering::Relaxed);
            std::panic::resume_unwind(e.into_panic())
        }
    };
    let committed = tokio::time::timeout(Duration::from_secs(30), watcher)
        .await
        .expect("raw eos: the committed offsets did not show within 30 s")
        .expect("offset watcher")
        .expect("watcher stopped");
    EosRound {
        figure: eos_figure(n, &progress, committed),
        rejected,
        transactions,
    }
}

/// What a `read_committed` reader finds in an exactly-once pipeline's output topic.
struct EosOutputs {
    /// Records a `read_committed` reader gets.
    committed: i64,
    /// Records a `read_uncommitted` reader gets: more when some were in aborted transactions.
    uncommitted: i64,
    /// Offsets that hold no record: the transactions' commit and abort markers.
    markers: i64,
    /// How many outputs each input (by the output's `causation_id`) has, read committed.
    per_cause: HashMap<Uuid, u64>,
}

/// Reads all of `topic` with `isolation`: the records, and each record's `causation_id`.
fn read_outputs(servers: &str, topic: &str, isolation: &str) -> (i64, HashMap<Uuid, u64>) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", testing::unique_name("bench-eos-verify"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", isolation)
        .create()
        .expect("output reader");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("offset");
    }
    consumer.assign(&tpl).expect("assign");
    let mut at_end = HashSet::new();
    let mut records = 0;
    let mut per_cause: HashMap<Uuid, u64> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // With read_committed the end is the last stable offset: an open transaction's records, and
    // everything after them, are not read.
    while at_end.len() < PARTITIONS as usize {
        assert!(Instant::now() < deadline, "reading {topic} took over 60 s");
        match consumer.poll(Duration::from_millis(500)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            Some(Ok(msg)) => {
                records += 1;
                let env: PlainEnvelope<serde::de::IgnoredAny> =
                    serde_json::from_slice(msg.payload().unwrap_or_default())
                        .expect("output envelope");
                let cause = env.causation_id.expect("an output without causation_id");
                *per_cause.entry(cause).or_default() += 1;
            }
        }
    }
    (records, per_cause)
}

fn eos_outputs(servers: &str, topic: &str) -> EosOutputs {
    let (committed, per_cause) = read_outputs(servers, topic, "read_committed");
    let (uncommitted, _) = read_outputs(servers, topic, "read_uncommitted");
    EosOutputs {
        committed,
        uncommitted,
        markers: records_in(servers, topic) - uncommitted,
        per_cause,
    }
}

// ---------------------------------------------------------------------------------------------

fn show(f: &Figure) -> String {
    let broker = f
        .broker_cpu_s_per_million
        .map(|b| format!(", broker {b:.1} cpu-s/M"))
        .unwrap_or_default();
    format!(
        "{:>7.0} msg/s, {:>5.1} cpu-s/M ({:.1} sys, {:.0} faults/k, {:.0} switches/k){broker}",
        f.msgs_per_s,
        f.cpu_s_per_million,
        f.sys_s_per_million,
        f.faults_per_thousand,
        f.switches_per_thousand
    )
}

fn main() {
    // `RUST_LOG=stream_core=info` shows what the consumers did (pauses, rebalances, their
    // counters when they stop): for looking into a figure, not for measuring it.
    if otel::AVAILABLE {
        otel::install();
    } else if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args = parse_args();
    let servers = bootstrap();
    check_broker(&servers);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(args, servers));
}

async fn run(args: Args, servers: String) {
    let kafka = KafkaConfig::new(servers.as_str());
    let want = |s: &str| args.only.as_deref().is_none_or(|o| o == s);
    let n = args.messages;
    let produce_topic = testing::unique_topic("paper", "bench", "produce");
    let input_topic = testing::unique_topic("paper", "bench", "signals");
    let sk_out = testing::unique_topic("paper", "bench", "validated-sk");
    let raw_out = testing::unique_topic("paper", "bench", "validated-raw");
    let send_out = testing::unique_topic("paper", "bench", "validated-send");
    let latency_topic = testing::unique_topic("paper", "bench", "ticks");
    let eos_sk_out = testing::unique_topic("paper", "bench", "validated-eos-sk");
    let eos_raw_out = testing::unique_topic("paper", "bench", "validated-eos-raw");
    let io_topic = testing::unique_topic("paper", "bench", "io");
    let otel_off_out = testing::unique_topic("paper", "bench", "validated-otel-off");
    let otel_on_out = testing::unique_topic("paper", "bench", "validated-otel-on");
    let topics = [
        io_topic.as_str(),
        produce_topic.as_str(),
        input_topic.as_str(),
        sk_out.as_str(),
        raw_out.as_str(),
        send_out.as_str(),
        latency_topic.as_str(),
        eos_sk_out.as_str(),
        eos_raw_out.as_str(),
        otel_off_out.as_str(),
        otel_on_out.as_str(),
    ];
    testing::create_topics_on(&kafka, &topics, PARTITIONS).await;
    // Both sides share the process's allocator, and the figures depend on it (see
    // docs/benchmarks.md): say which one this run used.
    let allocator = match std::env::var("LD_PRELOAD") {
        Ok(lib) if !lib.is_empty() => format!("LD_PRELOAD={lib}"),
        _ => "the system's malloc".to_owned(),
    };
    if want("io") {
        eprintln!("io: partition_queue {}", args.io_queue);
    }
    eprintln!(
        "e2e: {n} messages, {} rounds, broker {servers}, {} cores, allocator {allocator}",
        args.rounds,
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    let otel_runs = want("otel") && otel::AVAILABLE;
    if want("otel") && !otel::AVAILABLE && args.only.is_some() {
        eprintln!("otel: skipped (build with --features otel)");
    }
    if want("consume") || want("pipeline") || want("eos") || otel_runs {
        preproduce(&kafka, &input_topic, n).await;
    }
    let io_n = (n / 5).max(100);
    if want("io") || want("batch") {
        concurrency::preproduce_keyed(&kafka, &io_topic, io_n).await;
    }
    // Per concurrency level of `io`; and `batch`: per record, batch, raw batch.
    let mut io: Vec<Vec<Figure>> = vec![Vec::new(); concurrency::LEVELS.len()];
    let mut batch: (Vec<Figure>, Vec<Figure>, Vec<Figure>) = Default::default();
    // Both exactly-once sides commit on the service's triggers, from the environment
    // (`STREAMKIT_COMMIT_EVERY`, `STREAMKIT_COMMIT_INTERVAL_MS`) or the defaults.
    let eos = {
        let config = eos_config(&kafka, &testing::unique_name("bench-eos"));
        Eos {
            every: config.commit_every,
            interval: config.commit_interval,
            instance: config.instance.expect("instance"),
            transactional_id: testing::unique_name("bench-raw-eos"),
        }
    };
    if want("eos") {
        eprintln!(
            "eos: a transaction every {} messages or {} ms (commit_every, commit_interval), \
             streamkit instance {}, raw transactional.id {}; figures up to every input committed",
            eos.every,
            eos.interval.as_millis(),
            eos.instance,
            eos.transactional_id
        );
    }

    type Pair = (Vec<Figure>, Vec<Figure>);
    let (mut produce, mut consume, mut pipeline, mut exactly): (Pair, Pair, Pair, Pair) =
        Default::default();
    // Per round: transactions each side took; and what each rejected.
    let mut eos_transactions: (Vec<u64>, Vec<u64>) = Default::default();
    let mut eos_rejected = (None, None);
    let sk_side = args.side.as_deref() != Some("raw");
    let raw_side = args.side.as_deref() != Some("streamkit");
    let mut rejected = (None, None);
    let report =
        |round: usize, name: &str, pair: &mut Pair, sk: Option<Figure>, raw: Option<Figure>| {
            let text = |f: &Option<Figure>| f.as_ref().map_or_else(|| "-".to_owned(), show);
            eprintln!(
                "round {round} {name:<9} streamkit {}   raw {}",
                text(&sk),
                text(&raw)
            );
            pair.0.extend(sk);
            pair.1.extend(raw);
        };
    for round in 1..=args.rounds {
        if want("produce") {
            let sk = match sk_side {
                true => Some(produce_streamkit(&kafka, &produce_topic, n).await),
                false => None,
            };
            let raw = match raw_side {
                true => Some(produce_raw(&servers, &produce_topic, n).await),
                false => None,
            };
            report(round, "produce", &mut produce, sk, raw);
        }
        if want("consume") {
            let sk = match sk_side {
                true => Some(consume_streamkit(&kafka, &input_topic, n).await),
                false => None,
            };
            let raw = match raw_side {
                true => {
                    let (servers, topic) = (servers.clone(), input_topic.clone());
                    let f = tokio::task::spawn_blocking(move || consume_raw(&servers, &topic, n));
                    Some(f.await.expect("raw consume"))
                }
                false => None,
            };
            report(round, "consume", &mut consume, sk, raw);
        }
        if want("pipeline") {
            let sk = match sk_side {
                true => {
                    let (f, r) = pipeline_streamkit(&kafka, &input_topic, &sk_out, n, false).await;
                    rejected.0 = Some(r);
                    Some(f)
                }
                false => None,
            };
            let raw = match raw_side {
                true => {
                    let (f, r) = pipeline_raw(&servers, &input_topic, &raw_out, n).await;
                    rejected.1 = Some(r);
                    Some(f)
                }
                false => None,
            };
            report(round, "pipeline", &mut pipeline, sk, raw);
        }
        if want("eos") {
            let sk = match sk_side {
                true => {
                    let r =
                        eos_streamkit(&kafka, &servers, &input_topic, &eos_sk_out, n, &eos).await;
                    eos_rejected.0 = Some(r.rejected);
                    eos_transactions.0.push(r.transactions);
                    Some(r.figure)
                }
                false => None,
            };
            let raw = match raw_side {
                true => {
                    let r = eos_raw(&servers, &input_topic, &eos_raw_out, n, &eos).await;
                    eos_rejected.1 = Some(r.rejected);
                    eos_transactions.1.push(r.transactions);
                    Some(r.figure)
                }
                false => None,
            };
            report(round, "eos", &mut exactly, sk, raw);
        }
    }
    for round in 1..=args.rounds {
        if want("io") {
            for (i, level) in concurrency::LEVELS.into_iter().enumerate() {
                let f =
                    concurrency::io_streamkit(&kafka, &io_topic, io_n, level, args.io_queue).await;
                eprintln!(
                    "round {round} io        concurrency {level:>2}: {} (ideal {:.0} msg/s)",
                    show(&f),
                    concurrency::ideal(level)
                );
                io[i].push(f);
            }
        }
        if want("batch") {
            let per_record =
                concurrency::io_streamkit(&kafka, &io_topic, io_n, 1, args.io_queue).await;
            let batched = concurrency::batch_streamkit(&kafka, &io_topic, io_n).await;
            let (servers, topic) = (servers.clone(), io_topic.clone());
            let raw =
                tokio::task::spawn_blocking(move || concurrency::batch_raw(&servers, &topic, io_n))
                    .await
                    .expect("raw batch");
            eprintln!(
                "round {round} batch     per record {}   batch {}   raw batch {}",
                show(&per_record),
                show(&batched),
                show(&raw)
            );
            batch.0.push(per_record);
            batch.1.push(batched);
            batch.2.push(raw);
        }
    }
    let service_figures = if want("service") {
        Some(service_rounds(&kafka, &servers, n * 4, &args).await)
    } else {
        None
    };
    let mut otel_pair: Pair = Default::default();
    if otel_runs {
        for round in 1..=args.rounds {
            otel::set(false);
            let (off, _) = pipeline_streamkit(&kafka, &input_topic, &otel_off_out, n, false).await;
            let quiet = otel::take_exported();
            otel::set(true);
            let (on, _) = pipeline_streamkit(&kafka, &input_topic, &otel_on_out, n, false).await;
            otel::set(false);
            let spans = otel::take_exported();
            eprintln!(
                "round {round} otel      off {}   on {} ({spans} spans exported on, {quiet} off)",
                show(&off),
                show(&on)
            );
            assert!(
                spans >= n && quiet == 0,
                "otel: {spans} spans on, {quiet} off"
            );
            otel_pair.0.push(off);
            otel_pair.1.push(on);
        }
    }
    if args.with_send {
        // Once, for the record: the same pipeline with the handler awaiting each send.
        let (f, _) = pipeline_streamkit(&kafka, &input_topic, &send_out, n, true).await;
        eprintln!(
            "pipeline with Context::send (handler awaits each ack): {}",
            show(&f)
        );
    }
    // What the pipelines wrote must add up: every accepted signal once per round, no more.
    for (out, rej, side) in [
        (&sk_out, rejected.0, "streamkit"),
        (&raw_out, rejected.1, "raw"),
    ] {
        if let Some(rej) = rej {
            let expect = (n as i64 - rej as i64) * args.rounds as i64;
            let got = records_in(&servers, out);
            eprintln!(
                "pipeline outputs ({side}): {got}, expected {expect} ({rej} of {n} rejected per round)"
            );
            assert_eq!(got, expect, "{side} pipeline outputs do not add up");
        }
    }
    // Exactly once: a read_committed reader finds every accepted signal's output once per round,
    // no more, and nothing is left in an open transaction.
    for (out, rej, transactions, side) in [
        (
            &eos_sk_out,
            eos_rejected.0,
            &eos_transactions.0,
            "streamkit",
        ),
        (&eos_raw_out, eos_rejected.1, &eos_transactions.1, "raw"),
    ] {
        let Some(rej) = rej else { continue };
        let accepted = n as i64 - rej as i64;
        let expect = accepted * args.rounds as i64;
        let o = eos_outputs(&servers, out);
        let once_per_round = o.per_cause.len() as i64 == accepted
            && o.per_cause.values().all(|c| *c == args.rounds as u64);
        eprintln!(
            "eos outputs ({side}): {} read_committed, expected {expect} ({rej} of {n} rejected per \
             round); {} inputs with an output, each once per round: {once_per_round}; {} records \
             in aborted transactions, {} transaction markers; transactions per round {transactions:?}",
            o.committed,
            o.per_cause.len(),
            o.uncommitted - o.committed,
            o.markers,
        );
        if o.markers == 0 {
            eprintln!(
                "eos outputs ({side}): no transaction markers: the output was not written in transactions"
            );
        }
        assert_eq!(o.committed, expect, "{side} eos outputs do not add up");
        assert!(
            once_per_round,
            "{side} eos: some input has not exactly one output per round"
        );
    }
    let lat = if want("latency") {
        let f = latency(
            &kafka,
            &servers,
            &latency_topic,
            args.rate,
            args.latency_seconds,
        )
        .await;
        eprintln!(
            "latency at {} msg/s for {} s, every other message from each producer:",
            args.rate, args.latency_seconds
        );
        for (who, l) in [
            ("streamkit -> streamkit", f.streamkit),
            ("raw -> raw", f.raw),
            ("ack, streamkit producer", f.streamkit_ack),
            ("ack, raw producer", f.raw_ack),
        ] {
            eprintln!(
                "latency {who:<23} p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms ({} samples after 1 s warm-up)",
                l.p50, l.p99, l.p999, l.samples
            );
        }
        Some(f)
    } else {
        None
    };
    delete_topics(&servers, &topics).await;

    let line = |name: &str, (sk, raw): &Pair, extra: &str| {
        if sk.is_empty() || raw.is_empty() {
            return;
        }
        let m =
            |v: &[Figure], f: fn(&Figure) -> f64| median(&mut v.iter().map(f).collect::<Vec<_>>());
        let sk_rate = m(sk, |f| f.msgs_per_s);
        let raw_rate = m(raw, |f| f.msgs_per_s);
        // The ratio is the median of each round's ratio: the two sides of a round ran back to
        // back, under the same background load.
        let mut ratios: Vec<f64> = sk
            .iter()
            .zip(raw)
            .map(|(a, b)| a.msgs_per_s / b.msgs_per_s)
            .collect();
        println!(
            "bench {name} streamkit_msgs_per_s={sk_rate:.0} raw_msgs_per_s={raw_rate:.0} ratio={:.3} cpu_s_per_million={:.2} raw_cpu_s_per_million={:.2}{extra}",
            median(&mut ratios),
            m(sk, |f| f.cpu_s_per_million),
            m(raw, |f| f.cpu_s_per_million),
        );
    };
    if !otel_pair.0.is_empty() {
        let m =
            |v: &[Figure], f: fn(&Figure) -> f64| median(&mut v.iter().map(f).collect::<Vec<_>>());
        let mut ratios: Vec<f64> = otel_pair
            .1
            .iter()
            .zip(&otel_pair.0)
            .map(|(on, off)| on.msgs_per_s / off.msgs_per_s)
            .collect();
        println!(
            "bench otel off_msgs_per_s={:.0} on_msgs_per_s={:.0} ratio={:.3} off_cpu_s_per_million={:.2} on_cpu_s_per_million={:.2}",
            m(&otel_pair.0, |f| f.msgs_per_s),
            m(&otel_pair.1, |f| f.msgs_per_s),
            median(&mut ratios),
            m(&otel_pair.0, |f| f.cpu_s_per_million),
            m(&otel_pair.1, |f| f.cpu_s_per_million),
        );
    }
    line("produce", &produce, "");
    line("consume", &consume, "");
    line("pipeline", &pipeline, "");
    line(
        "eos",
        &exactly,
        &format!(
            " commit_every={} commit_interval_ms={}",
            eos.every,
            eos.interval.as_millis()
        ),
    );
    let rate = |v: &[Figure]| median(&mut v.iter().map(|f| f.msgs_per_s).collect::<Vec<_>>());
    let cpu = |v: &[Figure]| median(&mut v.iter().map(|f| f.cpu_s_per_million).collect::<Vec<_>>());
    if io.iter().all(|v| !v.is_empty()) {
        let one = rate(&io[0]);
        for (level, figures) in concurrency::LEVELS.into_iter().zip(&io) {
            println!(
                "bench io concurrency={level} msgs_per_s={:.0} growth={:.2} ideal_msgs_per_s={:.0} cpu_s_per_million={:.2}",
                rate(figures),
                rate(figures) / one,
                concurrency::ideal(level),
                cpu(figures),
            );
        }
    }
    if !batch.0.is_empty() {
        let (per_record, batched, raw) = (rate(&batch.0), rate(&batch.1), rate(&batch.2));
        println!(
            "bench batch per_record_msgs_per_s={per_record:.0} batch_msgs_per_s={batched:.0} raw_batch_msgs_per_s={raw:.0} batch_over_per_record={:.1} ratio={:.3} cpu_s_per_million={:.2} per_record_cpu_s_per_million={:.2} raw_cpu_s_per_million={:.2}",
            batched / per_record,
            batched / raw,
            cpu(&batch.1),
            cpu(&batch.0),
            cpu(&batch.2),
        );
    }
    if let Some(f) = service_figures
        && !f.service.is_empty()
        && !f.plain.is_empty()
    {
        service_line(&f);
    }
    if let Some(f) = lat {
        let (l, r) = (f.streamkit, f.raw);
        println!(
            "bench latency p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} raw_p50_ms={:.3} raw_p99_ms={:.3} raw_p999_ms={:.3}",
            l.p50, l.p99, l.p999, r.p50, r.p99, r.p999
        );
    }
}

/// The `service` scenario's figures, a round each: the service's, the plain loop's, and the
/// loop's writing streamkit's headers too.
#[derive(Default)]
struct ServiceFigures {
    service: Vec<service::ProcessFigure>,
    plain: Vec<service::ProcessFigure>,
    headers: Vec<service::ProcessFigure>,
}

/// One side of the `service` scenario.
#[derive(Clone, Copy, PartialEq)]
enum ServiceSide {
    Service,
    Loop,
    LoopWithHeaders,
}

/// The `service` scenario's rounds: preload, then the service's process, the loop's, and the
/// loop's writing streamkit's headers, each round starting one further along that order, so
/// that none always meets the broker straight after the preload (`--side streamkit` keeps the
/// service, `--side raw` the loops).
async fn service_rounds(
    kafka: &KafkaConfig,
    servers: &str,
    n: usize,
    args: &Args,
) -> ServiceFigures {
    let (service_bin, loop_bin) = service::build_programs();
    testing::create_topics_on(kafka, &service::topics(), PARTITIONS).await;
    let wanted = |side: ServiceSide| match args.side.as_deref() {
        Some("streamkit") => side == ServiceSide::Service,
        Some("raw") => side != ServiceSide::Service,
        _ => true,
    };
    let order = [
        ServiceSide::Service,
        ServiceSide::Loop,
        ServiceSide::LoopWithHeaders,
    ];
    let mut figures = ServiceFigures::default();
    for round in 1..=args.rounds {
        service::reset_groups(servers);
        service::preload(servers, n).await;
        let mut sides = order;
        sides.rotate_left((round - 1) % order.len());
        let sides: Vec<ServiceSide> = sides.into_iter().filter(|s| wanted(*s)).collect();
        let (s, wrap) = (servers.to_owned(), args.wrap.clone());
        let (b, l) = (service_bin.clone(), loop_bin.clone());
        let ran = tokio::task::spawn_blocking(move || {
            let run = |side| match side {
                ServiceSide::Service => service::run_service(&s, &b, n, &wrap),
                ServiceSide::Loop => service::run_loop(&s, &l, n, &wrap, false),
                ServiceSide::LoopWithHeaders => service::run_loop(&s, &l, n, &wrap, true),
            };
            sides
                .into_iter()
                .map(|side| (side, run(side)))
                .collect::<Vec<_>>()
        })
        .await
        .expect("service round");
        let of = |side| ran.iter().find(|(s, _)| *s == side).map(|(_, f)| *f);
        let show = |f: Option<service::ProcessFigure>| match f {
            Some(f) => format!(
                "{:>8.0} msg/s, {:>5.2} CPU s/M ({:.2} CPU s before the first output)",
                f.msgs_per_s, f.cpu_s_per_million, f.startup_cpu_s
            ),
            None => "not run".to_owned(),
        };
        let first = match ran.first().map(|(s, _)| *s) {
            Some(ServiceSide::Service) => "service",
            Some(ServiceSide::Loop) => "loop",
            _ => "loop with headers",
        };
        eprintln!(
            "round {round} ({first} first) service   macros {}   loop {}   loop with headers {}",
            show(of(ServiceSide::Service)),
            show(of(ServiceSide::Loop)),
            show(of(ServiceSide::LoopWithHeaders)),
        );
        figures.service.extend(of(ServiceSide::Service));
        figures.plain.extend(of(ServiceSide::Loop));
        figures.headers.extend(of(ServiceSide::LoopWithHeaders));
    }
    delete_topics(servers, &service::topics()).await;
    figures
}

/// `bench service ...`: medians, and the medians of the rounds' own ratios: the service
/// against the plain loop (the bound), the loop writing streamkit's headers against the plain
/// loop (what the wire format costs), and the service against that loop (what is left).
fn service_line(f: &ServiceFigures) {
    let m = |v: &[service::ProcessFigure], g: fn(&service::ProcessFigure) -> f64| {
        median(&mut v.iter().map(g).collect::<Vec<_>>())
    };
    let ratios = |a: &[service::ProcessFigure],
                  b: &[service::ProcessFigure],
                  g: fn(&service::ProcessFigure) -> f64| {
        let mut r: Vec<f64> = a.iter().zip(b).map(|(a, b)| g(a) / g(b)).collect();
        if r.is_empty() {
            f64::NAN
        } else {
            median(&mut r)
        }
    };
    let cpu = |p: &service::ProcessFigure| p.cpu_s_per_million;
    let rate = |p: &service::ProcessFigure| p.msgs_per_s;
    let (sk, plain, headers) = (&f.service[..], &f.plain[..], &f.headers[..]);
    println!(
        "bench service streamkit_msgs_per_s={:.0} loop_msgs_per_s={:.0} ratio={:.3} cpu_s_per_million={:.2} loop_cpu_s_per_million={:.2} cpu_ratio={:.3} startup_cpu_s={:.2} loop_startup_cpu_s={:.2} headers_loop_cpu_s_per_million={:.2} headers_loop_cpu_ratio={:.3} cpu_ratio_vs_headers_loop={:.3}",
        m(sk, rate),
        m(plain, rate),
        ratios(sk, plain, rate),
        m(sk, cpu),
        m(plain, cpu),
        ratios(sk, plain, cpu),
        m(sk, |p| p.startup_cpu_s),
        m(plain, |p| p.startup_cpu_s),
        if headers.is_empty() {
            f64::NAN
        } else {
            m(headers, cpu)
        },
        ratios(headers, plain, cpu),
        ratios(sk, headers, cpu),
    );
}
