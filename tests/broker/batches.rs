//! Batch handlers on the real broker: records of one partition come in batches, in offset
//! order; a batch that marks some records failed dead-letters exactly the permanent ones (with
//! the usual headers) and retries the retryable ones alone; a batch that fails as a whole is
//! retried whole, then each of its records is dead-lettered. Everything read is committed.
//!
//! Needs `KAFKA_BOOTSTRAP_SERVERS` (`scripts/test` sets it).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::message::Headers;
use serde::{Deserialize, Serialize};
use stream_core::consumer::{BatchOptions, ConsumerReport, MessageConsumer};
use stream_core::envelope::codec::RawEnvelope;
use stream_core::handler::{Batch, BatchResult, HandlerError, TypedBatch};
use stream_core::kafka::producer::MessageProducer;
use stream_core::reliability::dlq::{dlq_topic, headers};
use stream_core::reliability::retry::RetryPolicy;
use stream_core::{Event, testing};

#[derive(Debug, Serialize, Deserialize)]
struct Fill {
    seq: u64,
}

impl Event for Fill {
    const EVENT_TYPE: &'static str = "order_filled";
}

/// One call of a batch handler: the (partition, offset, seq) of its records, in order.
type Call = Vec<(i32, i64, u64)>;

async fn publish(producer: &MessageProducer, topic: &str, total: u64) {
    let mut pending = Vec::new();
    for seq in 0..total {
        let key = format!("k{}", seq % 7);
        pending.push(producer.enqueue(topic, &key, &Fill { seq }).await.unwrap());
    }
    for p in pending {
        p.await.unwrap();
    }
}

/// The seq of each dead letter on `topic`'s dead-letter topic, with its error kind and attempts.
async fn dead_letters(topic: &str) -> Vec<(u64, String, String)> {
    let header = |m: &rdkafka::message::OwnedMessage, name: &str| {
        m.headers()
            .and_then(|h| h.iter().find(|h| h.key == name))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    testing::read_all(&dlq_topic(topic))
        .await
        .iter()
        .map(|m| {
            let fill = RawEnvelope::decode(m.payload().unwrap())
                .unwrap()
                .into_typed::<Fill>()
                .unwrap()
                .data;
            (
                fill.seq,
                header(m, headers::ERROR_KIND),
                header(m, headers::ATTEMPTS),
            )
        })
        .collect()
}

async fn stop_once_committed(
    group: &str,
    topic: &str,
    total: u64,
    stop: stream_core::consumer::ShutdownHandle,
    run: tokio::task::JoinHandle<stream_core::Result<ConsumerReport>>,
) -> ConsumerReport {
    testing::wait_until(Duration::from_secs(90), "everything committed", || {
        let (group, topic) = (group.to_owned(), topic.to_owned());
        async move {
            let committed = testing::committed_offsets(&group, &topic).await;
            committed.values().map(|o| o.unwrap_or(0)).sum::<i64>() as u64 == total
        }
    })
    .await;
    stop.shutdown();
    run.await.unwrap().unwrap()
}

fn consumer(topic: &str, group: &str, producer: &MessageProducer) -> MessageConsumer {
    MessageConsumer::new(&testing::kafka_config(), &[topic], group)
        .unwrap()
        .service("conc-batch-test")
        .producer(producer.clone())
        .retry(
            RetryPolicy::default()
                .max_attempts(3)
                .backoff(Duration::from_millis(20), Duration::from_millis(20)),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_failure_dead_letters_exactly_the_failing_records() {
    const TOTAL: u64 = 300;
    let topic = testing::unique_topic("paper", "conc-batch", "fills");
    testing::create_topics(&[&topic, &dlq_topic(&topic)], 2).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "conc-batch-test").unwrap();
    publish(&producer, &topic, TOTAL).await;

    let group = testing::unique_name("conc-batch");
    let consumer = consumer(&topic, &group, &producer);
    let stop = consumer.shutdown_handle();
    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    let c = Arc::clone(&calls);
    let handler = move |fills: Batch<Fill>| {
        let calls = Arc::clone(&c);
        async move {
            let seen: Vec<(i32, i64, u64)> = fills
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let r = fills.record(i).unwrap();
                    (r.partition, r.offset, f.data.seq)
                })
                .collect();
            let alone = seen.len() == 1;
            calls.lock().unwrap().push(seen);
            let mut result = BatchResult::all_ok();
            for (i, fill) in fills.iter().enumerate() {
                let seq = fill.data.seq;
                if seq % 10 == 3 {
                    result = result.permanent(i, "rejected by the ledger");
                } else if seq % 25 == 7 && !alone {
                    // Fails in its batch, succeeds alone.
                    result = result.retryable(i, "row lock timeout");
                }
            }
            result
        }
    };
    let batch = BatchOptions {
        max: 40,
        linger: Duration::from_millis(30),
    };
    let handler = TypedBatch::new(
        handler,
        &stream_core::handler::EventTypes::only(["order_filled"]),
    );
    let run = tokio::spawn(consumer.run_batch(handler, batch));
    let report = stop_once_committed(&group, &topic, TOTAL, stop, run).await;

    let permanent: BTreeSet<u64> = (0..TOTAL).filter(|s| s % 10 == 3).collect();
    let letters = dead_letters(&topic).await;
    let dead: BTreeSet<u64> = letters.iter().map(|l| l.0).collect();
    assert_eq!(dead, permanent, "exactly the failing records dead-lettered");
    assert_eq!(letters.len(), permanent.len(), "each once");
    for (seq, kind, attempts) in &letters {
        assert_eq!(
            (kind.as_str(), attempts.as_str()),
            ("permanent", "1"),
            "seq {seq}"
        );
    }
    assert_eq!(report.stats.handled, TOTAL - permanent.len() as u64);
    assert_eq!(report.stats.dead_lettered, permanent.len() as u64);
    let calls = calls.lock().unwrap().clone();
    assert!(
        calls.iter().any(|c| c.len() > 1),
        "records came in batches: {:?}",
        calls.iter().map(Vec::len).collect::<Vec<_>>()
    );
    for call in &calls {
        assert!(call.len() <= 40, "a batch over max: {}", call.len());
        assert!(
            call.windows(2).all(|w| w[0].0 == w[1].0 && w[0].1 < w[1].1),
            "one partition, in offset order: {call:?}"
        );
    }
    // A record marked retryable in a batch ran once more, alone, and succeeded; every other
    // record ran once.
    let mut retried_alone = 0;
    for seq in 0..TOTAL {
        let runs: Vec<usize> = calls
            .iter()
            .filter(|c| c.iter().any(|r| r.2 == seq))
            .map(Vec::len)
            .collect();
        if seq % 25 == 7 && runs[0] > 1 {
            assert_eq!(runs[1..], [1], "seq {seq} retried alone, once: {runs:?}");
            retried_alone += 1;
        } else {
            assert_eq!(runs.len(), 1, "seq {seq} ran once: {runs:?}");
        }
    }
    assert!(
        retried_alone > 0,
        "no record failed retryably inside a batch"
    );
    println!(
        "batch sizes: {:?}",
        calls.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_batch_is_retried_whole_then_each_record_dead_lettered() {
    const TOTAL: u64 = 30;
    let topic = testing::unique_topic("paper", "conc-batch-err", "fills");
    testing::create_topics(&[&topic, &dlq_topic(&topic)], 1).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "conc-batch-test").unwrap();
    publish(&producer, &topic, TOTAL).await;

    let group = testing::unique_name("conc-batch-err");
    let consumer = consumer(&topic, &group, &producer);
    let stop = consumer.shutdown_handle();
    let calls: Arc<Mutex<Vec<Vec<u64>>>> = Arc::default();
    let c = Arc::clone(&calls);
    let handler = move |fills: Batch<Fill>| {
        let calls = Arc::clone(&c);
        async move {
            calls
                .lock()
                .unwrap()
                .push(fills.iter().map(|f| f.data.seq).collect());
            Err::<(), _>(HandlerError::retryable("the database is down"))
        }
    };
    let batch = BatchOptions {
        max: 100,
        linger: Duration::from_millis(200),
    };
    let handler = TypedBatch::new(
        handler,
        &stream_core::handler::EventTypes::only(["order_filled"]),
    );
    let run = tokio::spawn(consumer.run_batch(handler, batch));
    let report = stop_once_committed(&group, &topic, TOTAL, stop, run).await;

    let letters = dead_letters(&topic).await;
    let dead: Vec<u64> = letters.iter().map(|l| l.0).collect();
    assert_eq!(
        dead,
        (0..TOTAL).collect::<Vec<_>>(),
        "each record, in order"
    );
    for (seq, kind, attempts) in &letters {
        assert_eq!(
            (kind.as_str(), attempts.as_str()),
            ("retryable", "3"),
            "seq {seq}"
        );
    }
    assert_eq!(report.stats.handled, 0);
    // Each batch three times, whole: the same records each time.
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len() % 3, 0, "{calls:?}");
    for attempts in calls.chunks(3) {
        assert!(attempts.iter().all(|a| a == &attempts[0]), "{calls:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_runs_a_batch_handler_spec() {
    use stream_core::service::config::ServiceConfig;
    use stream_core::service::{HandlerSpec, StreamServiceBuilder};
    const TOTAL: u64 = 100;
    let topic = testing::unique_topic("paper", "conc-batch-svc", "fills");
    testing::create_topics(&[&topic, &dlq_topic(&topic)], 2).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "conc-batch-test").unwrap();
    publish(&producer, &topic, TOTAL).await;

    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let s = Arc::clone(&sizes);
    let handler = move |fills: Batch<Fill>| {
        let sizes = Arc::clone(&s);
        async move {
            sizes.lock().unwrap().push(fills.len());
            let mut result = BatchResult::all_ok();
            for (i, fill) in fills.iter().enumerate() {
                if fill.data.seq % 10 == 3 {
                    result = result.permanent(i, "rejected by the ledger");
                }
            }
            Ok::<_, HandlerError>(result)
        }
    };
    let group = testing::unique_name("conc-batch-svc");
    let spec = HandlerSpec::batch("insert_fills", &[&topic], &group, handler)
        .batch_max(25)
        .batch_linger(Duration::from_millis(20));
    let service = StreamServiceBuilder::new(
        "conc-batch-test",
        ServiceConfig::with_kafka(testing::kafka_config()),
    )
    .add_handler(spec)
    .build()
    .unwrap();
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());
    testing::wait_until(Duration::from_secs(90), "everything committed", || {
        let (group, topic) = (group.clone(), topic.clone());
        async move {
            let committed = testing::committed_offsets(&group, &topic).await;
            committed.values().map(|o| o.unwrap_or(0)).sum::<i64>() as u64 == TOTAL
        }
    })
    .await;
    handle.shutdown();
    running.await.unwrap().unwrap();

    let dead: BTreeSet<u64> = dead_letters(&topic).await.iter().map(|l| l.0).collect();
    assert_eq!(
        dead,
        (0..TOTAL).filter(|s| s % 10 == 3).collect::<BTreeSet<_>>()
    );
    let sizes = sizes.lock().unwrap().clone();
    assert_eq!(sizes.iter().sum::<usize>() as u64, TOTAL, "{sizes:?}");
    assert!(
        sizes.iter().all(|n| *n <= 25) && sizes.iter().any(|n| *n > 1),
        "{sizes:?}"
    );
}
