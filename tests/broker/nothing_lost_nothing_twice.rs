//! Nothing lost, nothing done twice: 20,000 envelopes over 6 partitions plus 50 undecodable
//! records, with a handler that fails 5% of messages retryably (once), a few always, and 1%
//! permanently. Every input is either handled exactly once or in the dead-letter topic with the
//! right headers; the counts add up; per-key order of handled messages is preserved.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::message::Headers;
use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::reliability::dlq::{dlq_topic, headers};
use stream_core::reliability::retry::RetryPolicy;
use stream_core::{Event, testing};

const MESSAGES: u64 = 20_000;
const UNDECODABLE: u64 = 50;
const KEYS: u64 = 64;

#[derive(Debug, Serialize, Deserialize)]
struct Tick {
    seq: u64,
    key: u64,
}

impl Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

/// 1% permanent, 0.1% retryable on every attempt (exhausts retries), 5% retryable once.
fn planned(seq: u64) -> (&'static str, u32) {
    if seq % 100 == 1 {
        ("permanent", 1)
    } else if seq % 1000 == 7 {
        ("retryable", 3)
    } else {
        ("ok", 0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_is_handled_once_or_dead_lettered() {
    let topic = testing::unique_topic("paper", "reliability", "ticks");
    testing::create_topic(&topic, 6).await;
    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "reliability-test").unwrap();

    // Publish 20,000 envelopes (keyed, 64 keys) with 50 raw undecodable records mixed in.
    let mut pending = Vec::new();
    let mut garbage_at = Vec::new();
    for seq in 0..MESSAGES {
        let key = seq % KEYS;
        pending.push(
            producer
                .enqueue(&topic, &format!("k{key}"), &Tick { seq, key })
                .await
                .unwrap(),
        );
        if seq % (MESSAGES / UNDECODABLE) == 0 {
            let raw = format!("not an envelope #{seq}");
            producer
                .send_record(&topic, Some(b"garbage"), raw.as_bytes(), Default::default())
                .await
                .unwrap();
            garbage_at.push(raw);
        }
    }
    for p in pending {
        p.await.unwrap();
    }
    assert_eq!(garbage_at.len() as u64, UNDECODABLE);

    // The handler: a ledger of successes, and attempt counts per seq.
    let handled: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let attempts: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let group = testing::unique_name("reliability");
    let consumer = MessageConsumer::new(&config, &[&topic], &group)
        .unwrap()
        .service("reliability-test")
        .producer(producer.clone())
        .retry(
            RetryPolicy::default()
                .max_attempts(3)
                .backoff(Duration::from_millis(1), Duration::from_millis(5)),
        );
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let (h, a) = (Arc::clone(&handled), Arc::clone(&attempts));
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let (handled, attempts) = (Arc::clone(&h), Arc::clone(&a));
        async move {
            let tick = msg.typed::<Tick>()?.data;
            let n = {
                let mut a = attempts.lock().unwrap();
                let n = a.entry(tick.seq).or_default();
                *n += 1;
                *n
            };
            match planned(tick.seq) {
                ("permanent", _) => return Err(HandlerError::permanent("rejected by rule")),
                ("retryable", _) => return Err(HandlerError::retryable("venue timeout")),
                _ => {}
            }
            if tick.seq % 20 == 3 && n == 1 {
                return Err(HandlerError::retryable("transient"));
            }
            handled.lock().unwrap().push((tick.key, tick.seq));
            Ok(())
        }
    }));

    let expected_dlq = (0..MESSAGES).filter(|s| planned(*s).0 != "ok").count() as u64 + UNDECODABLE;
    let expected_ok = MESSAGES + UNDECODABLE - expected_dlq;
    testing::wait_until(Duration::from_secs(240), "all messages finished", || {
        let s = stats.snapshot();
        async move { s.handled + s.dead_lettered >= MESSAGES + UNDECODABLE }
    })
    .await;
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert!(report.unfinished.is_empty(), "{:?}", report.unfinished);

    // Exactly once for handled messages, and per-key order preserved.
    let handled = handled.lock().unwrap().clone();
    assert_eq!(handled.len() as u64, expected_ok);
    let mut per_key: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (key, seq) in &handled {
        per_key.entry(*key).or_default().push(*seq);
    }
    for (key, seqs) in &per_key {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "key {key} out of order"
        );
    }
    let distinct: std::collections::HashSet<u64> = handled.iter().map(|(_, s)| *s).collect();
    assert_eq!(distinct.len(), handled.len(), "a message was handled twice");

    // The dead-letter topic holds exactly the failed and undecodable inputs, with headers.
    let dead = testing::read_all(&dlq_topic(&topic)).await;
    assert_eq!(dead.len() as u64, expected_dlq);
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for m in &dead {
        let hs = m.headers().expect("dead letters carry headers");
        let get = |name: &str| -> String {
            hs.iter()
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_else(|| panic!("missing header {name}"))
        };
        assert_eq!(get(headers::ORIGINAL_TOPIC), topic);
        assert_eq!(get(headers::GROUP), group);
        assert_eq!(get(headers::SERVICE), "reliability-test");
        let partition: i32 = get(headers::ORIGINAL_PARTITION).parse().unwrap();
        let offset: i64 = get(headers::ORIGINAL_OFFSET).parse().unwrap();
        assert!((0..6).contains(&partition) && offset >= 0);
        let kind = get(headers::ERROR_KIND);
        let attempts: u32 = get(headers::ATTEMPTS).parse().unwrap();
        match kind.as_str() {
            "decode" => {
                assert_eq!(attempts, 0);
                assert_eq!(m.key(), Some(&b"garbage"[..]));
                let v = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
                assert!(garbage_at.contains(&v), "dead letter value changed: {v}");
            }
            "permanent" => {
                assert_eq!(attempts, 1);
                assert!(get(headers::ERROR).contains("rejected by rule"));
            }
            "retryable" => assert_eq!(attempts, 3),
            other => panic!("unexpected kind {other}"),
        }
        assert!(!get(headers::FIRST_FAILURE).is_empty() && !get(headers::LAST_FAILURE).is_empty());
        *kinds.entry(kind).or_default() += 1;
    }
    assert_eq!(kinds["decode"], UNDECODABLE);
    assert_eq!(kinds["permanent"], MESSAGES / 100);
    assert_eq!(kinds["retryable"], MESSAGES / 1000);

    let s = report.stats;
    assert_eq!(s.handled, expected_ok);
    assert_eq!(s.dead_lettered, expected_dlq);
    assert_eq!(s.deduplicated, 0);
    assert!(s.retried >= MESSAGES / 20, "retries counted: {}", s.retried);
    // Everything is committed: the group's offsets reach each partition's end.
    let committed = testing::committed_offsets(&group, &topic).await;
    let total: i64 = committed.values().map(|o| o.unwrap_or(0)).sum();
    assert_eq!(total as u64, MESSAGES + UNDECODABLE);
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}
