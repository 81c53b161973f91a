//! Exactly-once mode on the real broker: a consumer whose handler publishes one output per input
//! and fails every seventh input's first attempt after publishing, plus undecodable records.
//! A `read_committed` reader sees exactly one output per good input and one dead letter per
//! undecodable record; a `read_uncommitted` reader sees no more than that either, because a
//! failed attempt's publishes never reach the transaction. The group's committed offsets are
//! at the end of every partition, committed through the transactions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::envelope::codec::RawEnvelope;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::reliability::dlq::dlq_topic;
use stream_core::reliability::retry::RetryPolicy;
use stream_core::{Event, KafkaConfig, testing};
use uuid::Uuid;

const MESSAGES: u64 = 3_000;
const UNDECODABLE: u64 = 6;
const PARTITIONS: i32 = 3;

#[derive(Debug, Serialize, Deserialize)]
struct Tick {
    seq: u64,
}

impl Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_and_dead_letters_commit_once_with_their_inputs() {
    let input = testing::unique_topic("paper", "eos", "ticks");
    let output = testing::unique_topic("paper", "eos", "copies");
    testing::create_topics(&[&input, &output, &dlq_topic(&input)], PARTITIONS).await;
    let config = testing::kafka_config();
    let inputs = produce_inputs(&config, &input).await;

    let group = testing::unique_name("eos");
    let consumer = MessageConsumer::new(&config, &[&input], &group)
        .unwrap()
        .service("eos-test")
        .instance(&testing::unique_name("eos-instance"))
        .commit_every(200)
        .commit_interval(Duration::from_millis(100))
        .retry(RetryPolicy::default().backoff(Duration::from_millis(5), Duration::from_millis(20)))
        .exactly_once(true);
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let attempts: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let seen = Arc::clone(&attempts);
    let out = output.clone();
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let (seen, out) = (Arc::clone(&seen), out.clone());
        async move { copy_once(&msg, &out, &seen).await }
    }));
    testing::wait_until(Duration::from_secs(90), "every input finished", || async {
        let s = stats.snapshot();
        s.handled + s.dead_lettered >= MESSAGES + UNDECODABLE
    })
    .await;
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.stats.handled, MESSAGES, "{:?}", report.stats);
    assert_eq!(
        report.stats.dead_lettered, UNDECODABLE,
        "{:?}",
        report.stats
    );
    assert!(report.stats.retried >= MESSAGES / 7, "{:?}", report.stats);

    let committed = read_outputs(&output, "read_committed").await;
    assert_eq!(committed.len() as u64, MESSAGES, "committed outputs");
    assert_one_output_each(&committed, &inputs);
    let uncommitted = read_outputs(&output, "read_uncommitted").await;
    assert_eq!(
        uncommitted.len() as u64,
        MESSAGES,
        "a failed attempt's publish reached the log"
    );
    // Transactional topics end in commit markers, so read up to the marker, not the watermark.
    let dlq = dlq_topic(&input);
    let dead = tokio::task::spawn_blocking(move || read_from_start(&testing::kafka_config(), &dlq))
        .await
        .unwrap();
    assert_eq!(dead.len() as u64, UNDECODABLE, "dead letters");
    assert_committed_at_end(&config, &group, &input).await;
}

/// Every input has exactly one output (by causation id).
fn assert_one_output_each(outputs: &[Uuid], inputs: &[Uuid]) {
    let mut causes: HashMap<Uuid, u32> = HashMap::new();
    for cause in outputs {
        *causes.entry(*cause).or_default() += 1;
    }
    assert!(causes.values().all(|n| *n == 1), "an output twice");
    assert!(
        inputs.iter().all(|id| causes.contains_key(id)),
        "an input without output"
    );
}

/// Publishes one copy of the input; every seventh input's first attempt publishes, then fails.
async fn copy_once(
    msg: &Incoming,
    output: &str,
    attempts: &Mutex<HashMap<u64, u32>>,
) -> Result<(), HandlerError> {
    let tick = msg.typed::<Tick>()?.data;
    let attempt = {
        let mut seen = attempts.lock().unwrap();
        let n = seen.entry(tick.seq).or_default();
        *n += 1;
        *n
    };
    let out = msg.reply_producer().expect("a producer");
    let key = msg.record.key_str().unwrap_or_default().to_owned();
    let delivery = out
        .enqueue(output, &key, &tick)
        .await
        .map_err(HandlerError::retryable)?;
    msg.defer(delivery);
    if tick.seq % 7 == 3 && attempt == 1 {
        return Err(HandlerError::retryable("fails once, after publishing"));
    }
    Ok(())
}

async fn produce_inputs(config: &KafkaConfig, topic: &str) -> Vec<Uuid> {
    let producer = MessageProducer::new(config, "eos-feeder").unwrap();
    let mut pending = Vec::new();
    for seq in 0..MESSAGES {
        let key = format!("k{}", seq % 11);
        pending.push(producer.enqueue(topic, &key, &Tick { seq }).await.unwrap());
        if seq % (MESSAGES / UNDECODABLE) == 1 {
            let raw = format!("not an envelope #{seq}");
            producer
                .send_record(topic, Some(b"junk"), raw.as_bytes(), Default::default())
                .await
                .unwrap();
        }
    }
    let mut ids = Vec::new();
    for p in pending {
        ids.push(p.await.unwrap());
    }
    ids
}

/// The causation ids of every record on `topic`, read with `isolation`.
async fn read_outputs(topic: &str, isolation: &str) -> Vec<Uuid> {
    let topic = topic.to_owned();
    let config = testing::kafka_config().set("isolation.level", isolation);
    let records = tokio::task::spawn_blocking(move || read_from_start(&config, &topic))
        .await
        .unwrap();
    records
        .iter()
        .map(|value| {
            let env = RawEnvelope::decode(value).expect("an envelope");
            env.causation_id.expect("a causation id")
        })
        .collect()
}

fn read_from_start(config: &KafkaConfig, topic: &str) -> Vec<Vec<u8>> {
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", testing::unique_name("eos-reader"))
        .set("enable.auto.commit", "false")
        .to_client_config()
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for p in 0..PARTITIONS {
        let (_, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(5))
            .unwrap();
        ends.insert(p, high);
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut values = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut at: HashMap<i32, i64> = HashMap::new();
    while std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            at.insert(m.partition(), m.offset() + 1);
            if let Some(v) = m.payload() {
                values.push(v.to_vec());
            }
        } else if ends
            .iter()
            .all(|(p, high)| at.get(p).copied().unwrap_or(0) >= *high - 1 || *high == 0)
        {
            break;
        }
    }
    values
}

/// Every partition's committed offset is past its last input (commit markers included).
async fn assert_committed_at_end(config: &KafkaConfig, group: &str, topic: &str) {
    let committed = testing::committed_offsets(group, topic).await;
    let reader: BaseConsumer = config.to_client_config().create().unwrap();
    for p in 0..PARTITIONS {
        let (_, high) = reader
            .fetch_watermarks(topic, p, Duration::from_secs(5))
            .unwrap();
        let at = committed.get(&p).copied().flatten().unwrap_or(0);
        assert!(at >= high - 1, "partition {p}: committed {at}, end {high}");
    }
}

/// Two instances with one name in one group: the second fences the first, which stops with an
/// error saying so instead of writing; the second finishes the work, and every input still has
/// exactly one committed output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_instance_stops_and_its_successor_finishes_once() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let input = testing::unique_topic("paper", "eos", "fenced");
    let output = testing::unique_topic("paper", "eos", "fenced-copies");
    testing::create_topics(&[&input, &output, &dlq_topic(&input)], PARTITIONS).await;
    let config = testing::kafka_config();
    let inputs = produce_inputs(&config, &input).await;
    let (group, instance) = (
        testing::unique_name("eos-fenced"),
        testing::unique_name("eos-twin"),
    );
    let attempts: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let start = |slow: bool| {
        let seen = Arc::clone(&attempts);
        let consumer = MessageConsumer::new(&config, &[&input], &group)
            .unwrap()
            .service("eos-test")
            .instance(&instance)
            .commit_every(100)
            .exactly_once(true);
        let stats = consumer.stats();
        let out = output.clone();
        let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
            let (out, seen) = (out.clone(), Arc::clone(&seen));
            async move {
                if slow {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                copy_once(&msg, &out, &seen).await
            }
        }));
        (stats, run)
    };
    let (first_stats, first) = start(true);
    testing::wait_until(
        Duration::from_secs(60),
        "the first instance at work",
        || async { first_stats.snapshot().handled > 200 },
    )
    .await;
    let (second_stats, second) = start(false);
    let fenced = tokio::time::timeout(Duration::from_secs(60), first)
        .await
        .expect("the first instance stops once fenced")
        .unwrap();
    let error = fenced
        .expect_err("a fenced instance's run fails")
        .to_string();
    assert!(error.to_lowercase().contains("fenced"), "{error}");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while read_outputs(&output, "read_committed").await.len() < inputs.len() {
        assert!(
            !second.is_finished(),
            "the successor stopped: {:?}",
            second.await
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the successor did not finish: {:?}",
            second_stats.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    second.abort();
    let committed = read_outputs(&output, "read_committed").await;
    assert_one_output_each(&committed, &inputs);
}
