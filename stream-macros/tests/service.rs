//! `#[stream_handler]` and the runtime behind `#[stream_service]`, on the real broker.
//!
//! Three handlers in two consumer groups, registered by the macro alone (no list written by hand):
//!
//! ```text
//! <broker>.macrotest.signals ──validate──► <broker>.macrotest.validated      group macrotest.risk
//! <broker>.macrotest.validated ──place───► <broker>.macrotest.orders         group macrotest.orders
//! <broker>.macrotest.orders ────audit────► <broker>.macrotest.audit          group macrotest.orders
//! ```
//!
//! The binary is its own service process: with `MACROTEST_CHILD` set, `main` is what
//! `#[stream_service(name = "macrotest")]` expands to, one call of
//! `streamkit::service::runtime::run_service` with this crate's `topics.toml` and a setup body that adds
//! state. Without it, `main` is the test: it starts that child, publishes signals for both trading
//! brokers, reads back what really landed in the topics, checks each output's broker and its
//! causation chain (`causation_id` = the input's id, `correlation_id` kept), then stops the child
//! with SIGTERM and checks it exits 0. The topic names are literals (they are checked against
//! `topics.toml` at compile time), so they are fixed: every run tags its events with a run id and
//! looks only at its own, so reruns on the same broker are independent.
//!
//! Also here, because they need a broker: `runtime::check_catalog` on topics that are missing, that
//! it creates, and that have fewer partitions than declared.
//!
//! Needs `KAFKA_BOOTSTRAP_SERVERS` (`scripts/test` sets it).

use std::collections::HashMap;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stream_core::testing;
use streamkit::kafka::producer::MessageProducer;
use streamkit::prelude::*;
use streamkit::service::runtime::{self, Setup};
use streamkit::topic::Catalog;
use uuid::Uuid;

streamkit::topics!();

const SERVICE: &str = "macrotest";
const BROKERS: [&str; 2] = ["paper", "zerodha"];
/// Signals per trading broker.
const SIGNALS: u32 = 6;
/// What `place` multiplies quantities by: the service's state, given through `Setup`.
const MULTIPLIER: u32 = 10;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
#[event(type = "macrotest_signal")]
struct Signal {
    run: String,
    seq: u32,
    qty: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
#[event(type = "macrotest_validated")]
struct Validated {
    run: String,
    seq: u32,
    qty: u32,
    /// What the `Broker` extractor gave `validate`.
    broker: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
#[event(type = "macrotest_order")]
struct Order {
    run: String,
    seq: u32,
    qty: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
#[event(type = "macrotest_audit")]
struct Audit {
    run: String,
    seq: u32,
    /// What `Key`, `Headers` and `Context` gave `audit`.
    key: Option<String>,
    event_type_header: Option<String>,
    topic: String,
}

#[derive(Clone)]
struct Multiplier(u32);

#[stream_handler(topics = "*.macrotest.signals", group = "macrotest.risk", retry = 2)]
async fn validate(
    Envelope(signal): Envelope<Signal>,
    broker: Broker,
    ctx: Context,
) -> Result<(), HandlerError> {
    let out = topics::macrotest_validated::on(&broker);
    let validated = Validated {
        run: signal.data.run,
        seq: signal.data.seq,
        qty: signal.data.qty,
        broker: broker.to_string(),
    };
    ctx.send(&out, &validated).await?;
    Ok(())
}

#[stream_handler(
    topics = "*.macrotest.validated",
    group = "macrotest.orders",
    dedup = false,
    concurrency = 2
)]
async fn place(
    Data(v): Data<Validated>,
    ctx: Context,
    State(m): State<Multiplier>,
) -> Result<(), HandlerError> {
    let order = Order {
        run: v.run,
        seq: v.seq,
        qty: v.qty * m.0,
    };
    ctx.send(&topics::macrotest_orders::on(ctx.broker()), &order)
        .await?;
    Ok(())
}

#[stream_handler(
    topics = ["paper.macrotest.orders", "zerodha.macrotest.orders"],
    group = "macrotest.orders",
    dedup = false,
    concurrency = 2
)]
async fn audit(
    order: Envelope<Order>,
    Key(key): Key,
    headers: Headers,
    ctx: Context,
) -> Result<(), HandlerError> {
    let audit = Audit {
        run: order.data.run.clone(),
        seq: order.data.seq,
        key,
        event_type_header: headers.get_str("event_type").map(str::to_owned),
        topic: ctx.topic().to_owned(),
    };
    ctx.send(&topics::macrotest_audit::on(ctx.broker()), &audit)
        .await?;
    Ok(())
}

fn main() -> ExitCode {
    if std::env::var_os("MACROTEST_CHILD").is_some() {
        // What `#[stream_service(name = "macrotest")] async fn main(setup: Setup)` expands to.
        return runtime::run_service(
            SERVICE,
            Some(include_str!("../topics.toml")),
            |setup: Setup| async move {
                setup.with_state(Multiplier(MULTIPLIER));
                Ok(())
            },
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    handlers_are_registered_with_their_arguments();
    println!("test handlers_are_registered_with_their_arguments ... ok");
    rt.block_on(check_catalog_finds_missing_creates_and_counts_partitions());
    println!("test check_catalog_finds_missing_creates_and_counts_partitions ... ok");
    rt.block_on(three_handlers_in_two_groups_run_under_the_runtime());
    println!("test three_handlers_in_two_groups_run_under_the_runtime ... ok");
    a_config_file_without_servers_fails_instead_of_running_on_the_mock();
    println!("test a_config_file_without_servers_fails_instead_of_running_on_the_mock ... ok");
    println!("4 passed, 0 failed");
    ExitCode::SUCCESS
}

/// The registry holds exactly the three handlers of this binary, each with the subscription,
/// group and name its attribute gave.
fn handlers_are_registered_with_their_arguments() {
    let mut found: Vec<(String, String, String, Vec<String>)> =
        streamkit::service::registry::registered()
            .map(|entry| {
                let spec = (entry.make)();
                assert_eq!(spec.name(), entry.name);
                (
                    entry.name.to_owned(),
                    entry.module_path.to_owned(),
                    spec.group().to_owned(),
                    spec.topics().to_vec(),
                )
            })
            .collect();
    found.sort();
    let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        found,
        [
            (
                "audit".to_owned(),
                "service".to_owned(),
                "macrotest.orders".to_owned(),
                s(&["paper.macrotest.orders", "zerodha.macrotest.orders"])
            ),
            (
                "place".to_owned(),
                "service".to_owned(),
                "macrotest.orders".to_owned(),
                s(&["*.macrotest.validated"])
            ),
            (
                "validate".to_owned(),
                "service".to_owned(),
                "macrotest.risk".to_owned(),
                s(&["*.macrotest.signals"])
            ),
        ]
    );
}

/// A deployment configured by a `STREAMKIT_CONFIG` file and no `KAFKA_BOOTSTRAP_SERVERS` uses that
/// file; when it names no servers, the service fails and says so, rather than quietly running on
/// the in-process mock cluster (which is only for a run with nothing configured).
fn a_config_file_without_servers_fails_instead_of_running_on_the_mock() {
    let file = std::env::temp_dir().join(format!("{}.toml", testing::unique_name("config")));
    std::fs::write(&file, "[service]\nshutdown_timeout_ms = 1000\n").unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .env("MACROTEST_CHILD", "1")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env("STREAMKIT_CONFIG", &file)
        // Were it to start on the mock, it would check its wiring and exit 0 instead of running.
        .env(runtime::DRY_RUN_ENV, "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: bad configuration `KAFKA_BOOTSTRAP_SERVERS`"),
        "{stderr}"
    );
    assert!(!stderr.contains("mock cluster"), "{stderr}");
}

/// `check_catalog` against the real broker, on topics of a catalog made up for this run.
async fn check_catalog_finds_missing_creates_and_counts_partitions() {
    testing::bootstrap_servers();
    let kafka = testing::kafka_config();
    let name = testing::unique_name("catalogcheck");
    let text = format!(
        "brokers = [\"paper\"]\n[topics.\"{name}.events\"]\nevent = \"heartbeat\"\npartitions = 2\n\
         retention = \"2h\"\n"
    );
    let catalog = Catalog::parse(&text).unwrap();
    let topic = format!("paper.{name}.events");

    let err = runtime::check_catalog(&kafka, &catalog, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&topic), "{err}");
    assert!(err.contains(runtime::CREATE_MISSING_ENV), "{err}");

    runtime::check_catalog(&kafka, &catalog, true)
        .await
        .unwrap();
    testing::wait_until(
        Duration::from_secs(30),
        "the created topic to be checked fine",
        || {
            let (kafka, catalog) = (&kafka, &catalog);
            async move { runtime::check_catalog(kafka, catalog, false).await.is_ok() }
        },
    )
    .await;
    assert_eq!(partitions_of(&topic).await, 2);
    // created with the catalog's settings
    let admin = stream_core::kafka::admin::TopicAdmin::new(&kafka).unwrap();
    let retention = admin.topic_setting(&topic, "retention.ms").await;
    assert_eq!(retention.as_deref(), Some("7200000"));

    // A topic with fewer partitions than declared is an error that says both numbers.
    let short = testing::unique_name("catalogshort");
    let short_topic = format!("paper.{short}.events");
    testing::create_topic(&short_topic, 1).await;
    let text = format!(
        "brokers = [\"paper\"]\n[topics.\"{short}.events\"]\nevent = \"heartbeat\"\npartitions = 3\n"
    );
    let catalog = Catalog::parse(&text).unwrap();
    let err = runtime::check_catalog(&kafka, &catalog, true)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "topic `{short_topic}` has 1 partitions, topics.toml declares 3"
        )),
        "{err}"
    );
    testing::delete_topics(&[&topic, &short_topic]).await;
}

async fn partitions_of(topic: &str) -> usize {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let config = testing::kafka_config();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config.to_client_config().create().unwrap();
        let meta = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        meta.topics()[0].partitions().len()
    })
    .await
    .unwrap()
}

/// Kills the service child if the test fails before stopping it.
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One decoded record of a topic, with its key.
struct Record<T> {
    key: Option<String>,
    envelope: EventEnvelope<T>,
}

/// This run's records of `<broker>.<name>` for every trading broker, by (broker, seq).
async fn read_run<T: serde::de::DeserializeOwned>(
    name: &str,
    run: &str,
    run_of: impl Fn(&T) -> (&str, u32),
) -> HashMap<(String, u32), Vec<Record<T>>> {
    use rdkafka::Message;
    let mut out: HashMap<(String, u32), Vec<Record<T>>> = HashMap::new();
    for broker in BROKERS {
        for msg in testing::read_all(&format!("{broker}.{name}")).await {
            let Some(payload) = msg.payload() else {
                continue;
            };
            // Other runs, and other events, may share the topic: keep only this run's.
            let Ok(envelope) = streamkit::envelope::codec::decode::<T>(payload) else {
                continue;
            };
            let (r, seq) = run_of(&envelope.data);
            if r != run {
                continue;
            }
            let key = msg.key().map(|k| String::from_utf8_lossy(k).into_owned());
            out.entry((broker.to_owned(), seq))
                .or_default()
                .push(Record { key, envelope });
        }
    }
    out
}

async fn three_handlers_in_two_groups_run_under_the_runtime() {
    testing::bootstrap_servers();
    let run = testing::unique_name("run");
    let mut all = Vec::new();
    for broker in BROKERS {
        for name in ["signals", "validated", "orders", "audit"] {
            all.push(format!("{broker}.macrotest.{name}"));
        }
    }
    // The child would create them too (STREAMKIT_CREATE_MISSING_TOPICS=1), but the signals are
    // published before it is up.
    for broker in BROKERS {
        for (name, partitions) in [
            ("signals", topics::macrotest_signals::PARTITIONS),
            ("validated", topics::macrotest_validated::PARTITIONS),
            ("orders", topics::macrotest_orders::PARTITIONS),
            ("audit", topics::macrotest_audit::PARTITIONS),
        ] {
            testing::create_topic(&format!("{broker}.macrotest.{name}"), partitions).await;
        }
    }

    let log = std::env::temp_dir().join(format!("{run}.log"));
    let child = Command::new(std::env::current_exe().unwrap())
        .env("MACROTEST_CHILD", "1")
        .env(runtime::CREATE_MISSING_ENV, "1")
        .env("STREAMKIT_SHUTDOWN_TIMEOUT_MS", "10000")
        .env("STREAMKIT_COMMIT_INTERVAL_MS", "200")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut guard = ChildGuard(Some(child));
    let show_log = || std::fs::read_to_string(&log).unwrap_or_default();

    // Publish: each signal starts a chain (correlation id = its own id).
    let producer = MessageProducer::new(&testing::kafka_config(), "macrotest-driver").unwrap();
    let mut sent: HashMap<(String, u32), (Uuid, String, u32)> = HashMap::new();
    for broker in BROKERS {
        for seq in 0..SIGNALS {
            let key = format!("strategy-{}", seq % 3);
            let qty = 10 + seq;
            let signal = Signal {
                run: run.clone(),
                seq,
                qty,
            };
            let id = producer
                .send(&topics::macrotest_signals::on(&broker), &key, &signal)
                .await
                .unwrap();
            sent.insert((broker.to_owned(), seq), (id, key, qty));
        }
    }
    let expected = sent.len();

    // Wait until every chain reached the audit topic.
    let started = Instant::now();
    loop {
        let audits =
            read_run::<Audit>(topics::macrotest_audit::NAME, &run, |a| (&a.run, a.seq)).await;
        if audits.len() == expected {
            break;
        }
        if let Some(status) = guard.0.as_mut().unwrap().try_wait().unwrap() {
            panic!(
                "the service exited early with {status}; its log:\n{}",
                show_log()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "after 120 s only {} of {expected} chains reached the audit topic; the service's log:\n{}",
            audits.len(),
            show_log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let validated =
        read_run::<Validated>(topics::macrotest_validated::NAME, &run, |v| (&v.run, v.seq)).await;
    let orders = read_run::<Order>(topics::macrotest_orders::NAME, &run, |o| (&o.run, o.seq)).await;
    let audits = read_run::<Audit>(topics::macrotest_audit::NAME, &run, |a| (&a.run, a.seq)).await;
    let one = |what: &str, n: usize, at: &(String, u32)| {
        assert_eq!(n, 1, "{what} of {at:?}: expected exactly one, found {n}");
    };
    for (at, (signal_id, key, qty)) in &sent {
        let broker = &at.0;
        let v = &validated[at];
        one("validated", v.len(), at);
        let v = &v[0];
        assert_eq!(v.envelope.causation_id, Some(*signal_id), "{at:?}");
        assert_eq!(v.envelope.correlation_id, *signal_id, "{at:?}");
        assert_eq!(v.envelope.broker.as_str(), broker, "{at:?}");
        assert_eq!(
            &v.envelope.data.broker, broker,
            "the Broker extractor, {at:?}"
        );
        assert_eq!(v.envelope.source, SERVICE);
        assert_eq!(v.envelope.event_type.as_str(), "macrotest_validated");
        assert_eq!(v.key.as_ref(), Some(key), "the key is kept, {at:?}");

        let o = &orders[at];
        one("order", o.len(), at);
        let o = &o[0];
        assert_eq!(o.envelope.causation_id, Some(v.envelope.id), "{at:?}");
        assert_eq!(o.envelope.correlation_id, *signal_id, "{at:?}");
        assert_eq!(o.envelope.broker.as_str(), broker, "{at:?}");
        assert_eq!(
            o.envelope.data.qty,
            qty * MULTIPLIER,
            "the state from Setup, {at:?}"
        );

        let a = &audits[at];
        one("audit", a.len(), at);
        let a = &a[0];
        assert_eq!(a.envelope.causation_id, Some(o.envelope.id), "{at:?}");
        assert_eq!(a.envelope.correlation_id, *signal_id, "{at:?}");
        assert_eq!(a.envelope.broker.as_str(), broker, "{at:?}");
        assert_eq!(
            a.envelope.data.key.as_ref(),
            Some(key),
            "the Key extractor, {at:?}"
        );
        assert_eq!(
            a.envelope.data.event_type_header.as_deref(),
            Some("macrotest_order"),
            "the Headers extractor, {at:?}"
        );
        assert_eq!(a.envelope.data.topic, format!("{broker}.macrotest.orders"));
    }

    // SIGTERM: the service stops gracefully and exits 0.
    let mut child = guard.0.take().unwrap();
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if stopping.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!(
                "the service did not stop within 60 s of SIGTERM; its log:\n{}",
                show_log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = show_log();
    assert!(
        status.success(),
        "the service exited with {status}; its log:\n{text}"
    );
    assert!(text.contains("service stopped"), "{text}");
    let _ = producer.shutdown(Duration::from_secs(10)).await;
    let _ = std::fs::remove_file(&log);
}
