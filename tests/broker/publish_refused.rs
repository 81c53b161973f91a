//! A record a handler published and the broker refused: its input is dead-lettered, once, with
//! the reason, and everything else goes through. Real broker: the output topic's own
//! `max.message.bytes` (1,000) is below the producer's limit (1 MB), so librdkafka takes the
//! record and the broker refuses it, which only a delivery report can tell.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::Headers;
use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::envelope::codec;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::reliability::dlq::{dlq_topic, headers};
use stream_core::{Event, testing};

const INPUTS: u64 = 40;

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    seq: u64,
    /// 2,000 characters for every fifth order: too large for the output topic.
    note: String,
}

impl Event for Order {
    const EVENT_TYPE: &'static str = "order_placed";
}

fn is_large(seq: u64) -> bool {
    seq % 5 == 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_record_the_broker_refuses_dead_letters_its_input() {
    let input = testing::unique_topic("paper", "refused", "orders");
    let small_out = testing::unique_topic("paper", "refused", "accepted");
    let large_out = testing::unique_topic("paper", "refused", "archive");
    testing::create_topics(&[&input, &small_out], 3).await;
    let admin: AdminClient<DefaultClientContext> =
        testing::kafka_config().to_client_config().create().unwrap();
    let limited =
        NewTopic::new(&large_out, 1, TopicReplication::Fixed(1)).set("max.message.bytes", "1000");
    for r in admin
        .create_topics(&[limited], &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap();
    }
    testing::create_topics(&[&large_out], 1).await; // waits for its leader

    let config = testing::kafka_config();
    let producer = MessageProducer::new(&config, "refused-test").unwrap();
    for seq in 0..INPUTS {
        let note = if is_large(seq) {
            "x".repeat(2_000)
        } else {
            String::new()
        };
        producer
            .send(&input, &format!("k{}", seq % 4), &Order { seq, note })
            .await
            .unwrap();
    }

    let group = testing::unique_name("refused");
    let consumer = MessageConsumer::new(&config, &[&input], &group)
        .unwrap()
        .service("refused-test")
        .producer(producer.clone())
        .commit_interval(Duration::from_millis(100));
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let outs = Arc::new((small_out.clone(), large_out.clone()));
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let outs = Arc::clone(&outs);
        async move {
            // What `Context::publish` does: hand the record over, leave its delivery to the
            // consumer.
            let order = msg.typed::<Order>()?.data;
            let out = if order.note.is_empty() {
                &outs.0
            } else {
                &outs.1
            };
            let key = msg.record.key_str().unwrap_or_default().to_owned();
            let pending = msg
                .reply_producer()
                .expect("a producer")
                .enqueue(out, &key, &order)
                .await
                .map_err(HandlerError::retryable)?;
            msg.defer(pending);
            Ok::<(), HandlerError>(())
        }
    }));
    testing::wait_until(Duration::from_secs(60), "every input finished", || {
        let s = stats.snapshot();
        async move { s.handled + s.dead_lettered >= INPUTS }
    })
    .await;
    stop.shutdown();
    let report = run.await.unwrap().unwrap();
    assert!(report.unfinished.is_empty(), "{:?}", report.unfinished);

    let large: BTreeSet<u64> = (0..INPUTS).filter(|s| is_large(*s)).collect();
    let small: BTreeSet<u64> = (0..INPUTS).filter(|s| !is_large(*s)).collect();
    assert_eq!(
        report.stats.dead_lettered,
        large.len() as u64,
        "{:?}",
        report.stats
    );
    assert_eq!(
        report.stats.handled,
        small.len() as u64,
        "{:?}",
        report.stats
    );

    // Every small order's output is there once; no large one got through.
    let seqs = |records: Vec<rdkafka::message::OwnedMessage>| -> Vec<u64> {
        records
            .iter()
            .map(|m| {
                codec::decode::<Order>(m.payload().unwrap())
                    .unwrap()
                    .data
                    .seq
            })
            .collect()
    };
    let mut accepted = seqs(testing::read_all(&small_out).await);
    accepted.sort_unstable();
    assert_eq!(accepted, small.iter().copied().collect::<Vec<_>>());
    assert!(testing::read_all(&large_out).await.is_empty());

    // Each large order's input is in the dead-letter topic once, unchanged, with the reason.
    let dead = testing::read_all(&dlq_topic(&input)).await;
    let mut dead_seqs = Vec::new();
    for m in &dead {
        let get = |name: &str| -> String {
            m.headers()
                .expect("dead letters carry headers")
                .iter()
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_else(|| panic!("missing header {name}"))
        };
        assert_eq!(get(headers::ORIGINAL_TOPIC), input);
        assert_eq!(get(headers::ERROR_KIND), "permanent");
        let error = get(headers::ERROR);
        assert!(
            error.contains("not delivered")
                && error.contains("refused a message")
                && error.contains(&large_out),
            "{error}"
        );
        dead_seqs.push(
            codec::decode::<Order>(m.payload().unwrap())
                .unwrap()
                .data
                .seq,
        );
    }
    dead_seqs.sort_unstable();
    assert_eq!(dead_seqs, large.iter().copied().collect::<Vec<_>>());

    // And the group committed everything: nothing is handled again after a restart.
    let committed = testing::committed_offsets(&group, &input).await;
    let total: i64 = committed.values().map(|o| o.unwrap_or(0)).sum();
    assert_eq!(total as u64, INPUTS);
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}
