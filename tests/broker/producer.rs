//! MessageProducer against the real broker: keyed envelopes read back once and in per-key order
//! with their headers; a shutdown right after non-blocking sends loses nothing; acknowledgements
//! arrive whichever runtime the producer was made on; documented
//! errors for a missing topic, an oversized message and a bad configuration.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::message::Headers;
use serde::{Deserialize, Serialize};
use stream_core::envelope::codec;
use stream_core::kafka::config::KafkaConfig;
use stream_core::kafka::producer::{MessageProducer, ProduceError};
use stream_core::{Error, Event, testing};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct TradingSignal {
    strategy: String,
    seq: u64,
    price: rust_decimal::Decimal,
}

impl Event for TradingSignal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

fn header<'a>(m: &'a rdkafka::message::OwnedMessage, name: &str) -> Option<&'a str> {
    m.headers()?
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| std::str::from_utf8(v).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_keyed_sends_are_read_back_once_in_key_order() {
    const N: u64 = 10_000;
    let topic = testing::unique_topic("zerodha", "producer", "signals");
    testing::create_topic(&topic, 6).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "producer-test").unwrap();
    let mut pending = Vec::new();
    for seq in 0..N {
        let key = format!("strategy-{}", seq % 40);
        let signal = TradingSignal {
            strategy: key.clone(),
            seq,
            price: rust_decimal::Decimal::new(245_055 + seq as i64, 2),
        };
        pending.push(producer.enqueue(&topic, &key, &signal).await.unwrap());
    }
    let mut ids = HashSet::new();
    for p in pending {
        ids.insert(p.await.unwrap());
    }
    assert_eq!(ids.len() as u64, N);

    let records = testing::read_all(&topic).await;
    assert_eq!(records.len() as u64, N, "every message exactly once");
    let mut per_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut partitions_of_key: HashMap<String, HashSet<i32>> = HashMap::new();
    let mut seen = HashSet::new();
    for r in &records {
        let env = codec::decode::<TradingSignal>(r.payload().unwrap()).unwrap();
        assert!(seen.insert(env.id), "duplicate id {}", env.id);
        assert!(ids.contains(&env.id));
        assert_eq!(env.broker.as_str(), "zerodha");
        assert_eq!(env.source, "producer-test");
        assert_eq!(env.event_type, "trading_signal");
        assert_eq!(env.version, 1);
        assert_eq!(
            env.correlation_id, env.id,
            "a new event starts its own chain"
        );
        assert_eq!(env.causation_id, None);
        assert_eq!(
            env.data.price,
            rust_decimal::Decimal::new(245_055 + env.data.seq as i64, 2)
        );
        let key = std::str::from_utf8(r.key().unwrap()).unwrap().to_owned();
        assert_eq!(key, env.data.strategy);
        assert_eq!(header(r, "event_type"), Some("trading_signal"));
        assert_eq!(header(r, "event_id"), Some(env.id.to_string().as_str()));
        assert_eq!(
            header(r, "correlation_id"),
            Some(env.correlation_id.to_string().as_str())
        );
        assert_eq!(header(r, "content-type"), Some("application/json"));
        partitions_of_key
            .entry(key.clone())
            .or_default()
            .insert(r.partition());
        per_key.entry(key).or_default().push(env.data.seq);
    }
    for (key, seqs) in &per_key {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{key} out of order");
        assert_eq!(
            partitions_of_key[key].len(),
            1,
            "{key} spread over partitions"
        );
    }
    let used: HashSet<i32> = records.iter().map(|r| r.partition()).collect();
    assert_eq!(used.len(), 6, "keys spread over all 6 partitions");
    assert!(producer.shutdown(Duration::from_secs(10)).await.is_clean());
}

/// A producer serves its acknowledgements on the runtime it was made on: one made on a runtime
/// that has ended since, and one made outside any runtime, still see theirs.
#[test]
fn acknowledgements_arrive_after_the_runtime_the_producer_was_made_on_ended() {
    let topic = testing::unique_topic("paper", "producer", "runtimes");
    let current_thread = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = current_thread();
    first.block_on(testing::create_topic(&topic, 1));
    let made_on_first =
        first.block_on(async { MessageProducer::new(&testing::kafka_config(), "rt-1").unwrap() });
    drop(first);
    let made_outside = MessageProducer::new(&testing::kafka_config(), "rt-none").unwrap();
    current_thread().block_on(async {
        for (seq, producer) in [&made_on_first, &made_outside].into_iter().enumerate() {
            let signal = TradingSignal {
                strategy: "s".into(),
                seq: seq as u64,
                price: rust_decimal::Decimal::new(1, 0),
            };
            let sent =
                tokio::time::timeout(Duration::from_secs(30), producer.send(&topic, "s", &signal))
                    .await;
            assert!(matches!(sent, Ok(Ok(_))), "producer {seq}: {sent:?}");
        }
        assert_eq!(testing::read_all(&topic).await.len(), 2);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_right_after_non_blocking_sends_delivers_all() {
    const N: u64 = 5_000;
    let topic = testing::unique_topic("paper", "producer", "flush");
    testing::create_topic(&topic, 3).await;
    let producer = MessageProducer::new(
        &testing::kafka_config().set("linger.ms", "50"),
        "producer-test",
    )
    .unwrap();
    for seq in 0..N {
        let signal = TradingSignal {
            strategy: "s".into(),
            seq,
            price: rust_decimal::Decimal::ONE,
        };
        // Enqueue and drop the pending delivery: only shutdown's flush stands between these
        // messages and the broker.
        drop(
            producer
                .enqueue(&topic, &format!("k{}", seq % 7), &signal)
                .await
                .unwrap(),
        );
    }
    assert!(producer.in_flight() > 0, "sends should still be in flight");
    let report = producer.shutdown(Duration::from_secs(30)).await;
    assert!(report.is_clean(), "{report:?}");
    let records = testing::read_all(&topic).await;
    assert_eq!(records.len() as u64, N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_topic_is_topic_not_found_with_the_payload_back() {
    let producer = MessageProducer::new(
        &testing::kafka_config().set("message.timeout.ms", "5000"),
        "producer-test",
    )
    .unwrap();
    let topic = testing::unique_topic("paper", "producer", "missing");
    let signal = TradingSignal {
        strategy: "s".into(),
        seq: 1,
        price: rust_decimal::Decimal::ONE,
    };
    let err = producer.send(&topic, "k", &signal).await.unwrap_err();
    assert!(matches!(err, ProduceError::TopicNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("topic `{topic}` does not exist; create it first (topics are never auto-created)")
    );
    let payload = err.into_payload().unwrap();
    let env = codec::decode::<TradingSignal>(&payload).unwrap();
    assert_eq!(env.data, signal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_message_names_its_size_and_the_limit() {
    let topic = testing::unique_topic("paper", "producer", "large");
    testing::create_topic(&topic, 1).await;
    let producer = MessageProducer::new(
        &testing::kafka_config().set("message.max.bytes", "10000"),
        "producer-test",
    )
    .unwrap();
    let signal = TradingSignal {
        strategy: "x".repeat(20_000),
        seq: 1,
        price: rust_decimal::Decimal::ONE,
    };
    let err = producer.send(&topic, "k", &signal).await.unwrap_err();
    match &err {
        ProduceError::MessageTooLarge {
            size,
            limit,
            payload,
        } => {
            assert!(*size > 20_000);
            assert_eq!(*limit, 10_000);
            assert_eq!(payload.len(), *size);
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert!(
        err.to_string()
            .ends_with("producer's limit of 10000 bytes; raise the producer's `message.max.bytes`")
    );
}

#[test]
fn bad_configuration_names_the_key() {
    let err =
        MessageProducer::new(&KafkaConfig::new("127.0.0.1:1").set("acks", "0"), "svc").unwrap_err();
    assert!(
        matches!(err, Error::Config { ref key, .. } if key == "acks"),
        "{err}"
    );
    let err = MessageProducer::new(
        &KafkaConfig::new("127.0.0.1:1").set("compression.type", "zip"),
        "svc",
    )
    .unwrap_err();
    assert!(err.to_string().contains("`compression.type`"), "{err}");
    let err = MessageProducer::new(
        &KafkaConfig::new("127.0.0.1:1").set("message.max.bytes", "big"),
        "svc",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad configuration `message.max.bytes`: expected a whole number, found `big`"
    );
}

/// librdkafka's queue holds 5 messages here, so nearly every one of 500 enqueues finds it full
/// and waits for room (the producer's back-off path) instead of failing; every message still
/// arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_makes_sends_wait_for_room_and_nothing_is_lost() {
    const N: u64 = 500;
    let topic = testing::unique_topic("paper", "producer", "full-queue");
    testing::create_topic(&topic, 3).await;
    let config = testing::kafka_config().set("queue.buffering.max.messages", "5");
    let producer = MessageProducer::new(&config, "producer-test").unwrap();
    let mut pending = Vec::new();
    for seq in 0..N {
        let signal = TradingSignal {
            strategy: "s1".into(),
            seq,
            price: rust_decimal::Decimal::new(100, 0),
        };
        pending.push(producer.enqueue(&topic, "s1", &signal).await.unwrap());
    }
    for p in pending {
        p.await.unwrap();
    }
    let records = testing::read_all(&topic).await;
    let seqs: Vec<u64> = records
        .iter()
        .map(|m| {
            codec::decode::<TradingSignal>(m.payload().unwrap())
                .unwrap()
                .data
                .seq
        })
        .collect();
    assert_eq!(seqs, (0..N).collect::<Vec<_>>(), "all, once, in order");
}
