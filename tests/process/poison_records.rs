//! Poison records among good ones, written as a Python service writes them (raw bytes from
//! aiokafka): every poison record ends in the dead-letter topic with the right kind and reason,
//! records too large to be dead-lettered whole as reference dead letters, and every good record
//! behind them is handled exactly once. Read back from the broker: the dead-letter topic, the
//! output topic, and the group's committed offsets.

#[path = "../support/python_producer.rs"]
mod python_producer;

use std::collections::HashMap;
use std::time::Duration;

use python_producer::{Raw, produce, signal_json};
use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stream_core::handler::HandlerError;
use stream_core::handler::extract::{Context, Envelope};
use stream_core::reliability::dlq::{REFERENCE_VALUE_BYTES, dlq_topic, headers};
use stream_core::service::StreamServiceBuilder;
use stream_core::service::config::ServiceConfig;
use stream_core::{Event, testing};

const PARTITIONS: i32 = 3;
const GOOD: usize = 200;

#[derive(Debug, Serialize, Deserialize)]
struct TradingSignal {
    symbol: String,
    quantity: Decimal,
    price: Decimal,
}

impl Event for TradingSignal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

/// What the handler publishes: the id of the signal it handled.
#[derive(Debug, Serialize, Deserialize)]
struct Handled {
    signal_id: String,
    broker: String,
}

impl Event for Handled {
    const EVENT_TYPE: &'static str = "signal_handled";
}

static OUTPUT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn validate(
    Envelope(signal): Envelope<TradingSignal>,
    ctx: Context,
) -> Result<(), HandlerError> {
    let out = Handled {
        signal_id: signal.id.to_string(),
        broker: signal.broker.as_str().to_owned(),
    };
    ctx.publish(OUTPUT.get().expect("output topic"), &out)
        .await?;
    Ok(())
}

/// A poison record and what its dead letter must say.
struct Poison {
    name: &'static str,
    record: Raw,
    kind: &'static str,
    /// Words the `dlq.error` must contain.
    reason: &'static [&'static str],
    /// The dead letter is a reference (value cut to its first bytes).
    reference: bool,
}

fn poisons(topic: &str) -> Vec<Poison> {
    let id = "0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11";
    let no_id = signal_json(id, "paper", "trading_signal", "\"1\"")
        .replace(&format!(r#""id":"{id}","#), "");
    let bad_time = signal_json(id, "paper", "trading_signal", "\"1\"")
        .replace("2026-11-26T19:28:45.123456+00:00", "yesterday at noon");
    let text = |name, value: &str, kind, reason| Poison {
        name,
        record: Raw::text(topic, name, 0, Some(value)),
        kind,
        reason,
        reference: false,
    };
    vec![
        text("not-json", "this is not json", "decode", &[]),
        text("array", "[1, 2, 3]", "decode", &[]),
        text("number", "42", "decode", &[]),
        text("no-id", &no_id, "decode", &["id"]),
        text(
            "bad-quantity",
            &signal_json(id, "paper", "trading_signal", "\"abc\""),
            "decode",
            &["data.quantity"],
        ),
        text("bad-timestamp", &bad_time, "decode", &["timestamp"]),
        text("empty", "", "decode", &[]),
        Poison {
            name: "tombstone",
            record: Raw::text(topic, "tombstone", 0, None),
            kind: "decode",
            reason: &["tombstone"],
            reference: false,
        },
        text(
            "market-tick",
            &signal_json(id, "paper", "market_tick", "\"1\""),
            "contract",
            &["`market_tick`", "`trading_signal`"],
        ),
        text(
            "zerodha",
            &signal_json(id, "zerodha", "trading_signal", "\"1\""),
            "contract",
            &["`zerodha`", "`paper`"],
        ),
        Poison {
            name: "large-999950",
            record: Raw::repeated(topic, "large-999950", 0, "x", 999_950),
            kind: "decode",
            reason: &[],
            reference: true,
        },
        Poison {
            name: "large-1048000",
            record: Raw::repeated(topic, "large-1048000", 0, "y", 1_048_000),
            kind: "decode",
            reason: &[],
            reference: true,
        },
    ]
}

fn header(m: &OwnedMessage, name: &str) -> Option<String> {
    let hs = m.headers()?;
    hs.iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// 200 good signals with the poison records interleaved, over three partitions: each poison
/// record has good ones behind it on its partition.
fn interleaved(topic: &str, poisons: &mut [Poison]) -> (Vec<Raw>, Vec<String>) {
    let mut records = Vec::new();
    let mut good_ids = Vec::new();
    let mut poison_at = 0;
    for i in 0..GOOD {
        let partition = (i % PARTITIONS as usize) as i32;
        let id = uuid::Uuid::now_v7().to_string();
        let value = signal_json(&id, "paper", "trading_signal", "\"1\"");
        let key = format!("good-{i}");
        records.push(Raw::text(topic, &key, partition, Some(&value)).header("kind", "good"));
        good_ids.push(id);
        if i % 16 == 7 && poison_at < poisons.len() {
            let p = &mut poisons[poison_at];
            let mut record = std::mem::replace(&mut p.record, Raw::text(topic, "", 0, None));
            record.partition = partition;
            records.push(record.header("kind", p.name));
            poison_at += 1;
        }
    }
    assert_eq!(poison_at, poisons.len(), "every poison record placed");
    (records, good_ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_are_dead_lettered_and_the_good_ones_behind_them_handled_once() {
    let topic = testing::unique_topic("paper", "poison", "raw");
    let output = testing::unique_topic("paper", "poison-out", "handled");
    testing::create_topics(&[&topic, &output], PARTITIONS).await;
    OUTPUT.set(output.clone()).unwrap();
    let mut poisons = poisons(&topic);
    let (records, good_ids) = interleaved(&topic, &mut poisons);
    produce(records).await;

    let group = testing::unique_name("poison");
    let service = StreamServiceBuilder::new(
        "poison-test",
        ServiceConfig::with_kafka(testing::kafka_config()),
    )
    .add_producer()
    .add_consumer_handler(&[&topic], &group, validate)
    .build()
    .unwrap();
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());
    let total = (GOOD + poisons.len()) as u64;
    testing::wait_until(Duration::from_secs(120), "every record finished", || {
        let s = handle.stats()[0].1;
        async move { s.handled + s.dead_lettered >= total }
    })
    .await;
    assert!(handle.is_live());
    handle.shutdown();
    let report = running.await.unwrap().unwrap();
    let stats = report.groups[0].1.stats;
    assert_eq!(stats.handled, GOOD as u64, "{stats:?}");
    assert_eq!(stats.dead_lettered, poisons.len() as u64, "{stats:?}");
    assert_eq!(stats.dead_letter_failures, 0, "{stats:?}");

    check_outputs(&output, &good_ids).await;
    check_dead_letters(&topic, &poisons).await;
    let committed = testing::committed_offsets(&group, &topic).await;
    let per_partition: i64 = committed.values().map(|o| o.unwrap_or(0)).sum();
    assert_eq!(per_partition, total as i64, "committed {committed:?}");
}

/// Every good signal was handled exactly once, as paper.
async fn check_outputs(output: &str, good_ids: &[String]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in testing::read_all(output).await {
        let env: stream_core::envelope::EventEnvelope<Handled> =
            stream_core::envelope::codec::decode(m.payload().unwrap()).unwrap();
        assert_eq!(env.data.broker, "paper");
        *seen.entry(env.data.signal_id).or_default() += 1;
    }
    for id in good_ids {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "good signal {id} handled {:?} times",
            seen.get(id)
        );
    }
    assert_eq!(
        seen.len(),
        good_ids.len(),
        "only good signals produce outputs"
    );
}

async fn check_dead_letters(topic: &str, poisons: &[Poison]) {
    let dead = testing::read_all(&dlq_topic(topic)).await;
    assert_eq!(dead.len(), poisons.len());
    let dlq_partitions: std::collections::HashSet<i32> =
        dead.iter().map(|m| m.partition()).collect();
    assert!(
        dlq_partitions.len() > 1,
        "dead letters all on one partition: {dlq_partitions:?}"
    );
    let by_key: HashMap<String, &OwnedMessage> = dead
        .iter()
        .map(|m| (String::from_utf8_lossy(m.key().unwrap()).into_owned(), m))
        .collect();
    for p in poisons {
        let m = by_key
            .get(p.name)
            .unwrap_or_else(|| panic!("no dead letter for {}", p.name));
        let get = |h: &str| header(m, h).unwrap_or_else(|| panic!("{}: no {h} header", p.name));
        assert_eq!(
            get(headers::ERROR_KIND),
            p.kind,
            "{}: {}",
            p.name,
            get(headers::ERROR)
        );
        assert_eq!(get(headers::ORIGINAL_TOPIC), topic);
        assert_eq!(get(headers::ATTEMPTS), "0", "{}", p.name);
        let error = get(headers::ERROR);
        assert!(
            !error.starts_with("decode error:"),
            "{}: doubled prefix in {error}",
            p.name
        );
        for word in p.reason {
            assert!(error.contains(word), "{}: `{word}` not in {error}", p.name);
        }
        if p.reference {
            check_reference(p.name, m, &get);
        } else {
            assert_eq!(header(m, headers::VALUE_TRUNCATED), None, "{}", p.name);
            assert_eq!(
                header(m, "kind").as_deref(),
                Some(p.name),
                "original headers kept"
            );
        }
    }
    let value = |name: &str| by_key[name].payload().map(<[u8]>::to_vec);
    assert_eq!(value("tombstone"), None, "a tombstone stays a tombstone");
    assert_eq!(
        value("empty"),
        Some(Vec::new()),
        "an empty value stays empty"
    );
    assert_eq!(value("not-json").as_deref(), Some(&b"this is not json"[..]));
}

fn check_reference(name: &str, m: &OwnedMessage, get: &dyn Fn(&str) -> String) {
    let size: usize = name.trim_start_matches("large-").parse().unwrap();
    assert_eq!(get(headers::VALUE_TRUNCATED), "true", "{name}");
    assert_eq!(
        get(headers::ORIGINAL_VALUE_BYTES),
        size.to_string(),
        "{name}"
    );
    let reason = get(headers::VALUE_TRUNCATED_REASON);
    assert!(
        reason.contains("`message.max.bytes`") && reason.contains("1000000"),
        "{name}: the refusing limit is not named: {reason}"
    );
    assert_eq!(
        m.payload().map(<[u8]>::len),
        Some(REFERENCE_VALUE_BYTES),
        "{name}"
    );
    let offset: i64 = get(headers::ORIGINAL_OFFSET).parse().unwrap();
    assert!(offset >= 0);
}
