//! A dead-letter topic that refuses every write (its `max.message.bytes` is 100, smaller than
//! the `dlq.*` headers alone): the consumer neither skips the poison record nor waits forever.
//! It stops with an error naming the record and the refusing limit, liveness answers 503, the
//! `dead_letter_failures` counter says why, and nothing from the record on is committed or
//! handled. Records written as a Python service writes them.

#[path = "../support/python_producer.rs"]
mod python_producer;

use std::io::{Read, Write};
use std::time::Duration;

use python_producer::{Raw, produce, signal_json};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use serde::{Deserialize, Serialize};
use stream_core::handler::HandlerError;
use stream_core::handler::extract::Envelope;
use stream_core::reliability::dlq::dlq_topic;
use stream_core::service::StreamServiceBuilder;
use stream_core::service::config::ServiceConfig;
use stream_core::{Error, Event, testing};

#[derive(Debug, Serialize, Deserialize)]
struct TradingSignal {
    symbol: String,
    quantity: rust_decimal::Decimal,
}

impl Event for TradingSignal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

static HANDLED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

async fn record(Envelope(signal): Envelope<TradingSignal>) -> Result<(), HandlerError> {
    HANDLED.lock().unwrap().push(signal.id.to_string());
    Ok(())
}

/// The dead-letter topic, created before the service with a limit no dead letter fits in.
async fn refusing_dlq(topic: &str) {
    let admin: AdminClient<DefaultClientContext> =
        testing::kafka_config().to_client_config().create().unwrap();
    let dlq = dlq_topic(topic);
    let new = NewTopic::new(&dlq, 1, TopicReplication::Fixed(1)).set("max.message.bytes", "100");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for r in admin.create_topics([&new], &opts).await.unwrap() {
        r.unwrap();
    }
    testing::create_topics(&[&dlq], 1).await; // waits for its leader
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_status(port: u16, path: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_topic_that_refuses_writes_stops_the_service_loudly() {
    let topic = testing::unique_topic("paper", "dlq-refuses", "raw");
    testing::create_topic(&topic, 1).await;
    refusing_dlq(&topic).await;
    let ids: Vec<String> = (0..4).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let good = |i: usize| {
        let value = signal_json(&ids[i], "paper", "trading_signal", "\"1\"");
        Raw::text(&topic, &format!("good-{i}"), 0, Some(&value))
    };
    let poison = Raw::text(&topic, "poison", 0, Some("not an envelope"));
    produce(vec![good(0), good(1), poison, good(2), good(3)]).await;

    let group = testing::unique_name("dlq-refuses");
    let mut config = ServiceConfig::with_kafka(testing::kafka_config());
    config.dlq_write_timeout = Duration::from_secs(5);
    let service = StreamServiceBuilder::new("dlq-refuses", config)
        .add_consumer_handler(&[&topic], &group, record)
        .build()
        .unwrap();
    let handle = service.handle();
    let result = tokio::time::timeout(Duration::from_secs(60), service.run_until_stopped())
        .await
        .expect("the service stops by itself");

    match result {
        Err(Error::DeadLetter {
            topic: t,
            partition,
            offset,
            reason,
        }) => {
            assert_eq!((t.as_str(), partition, offset), (topic.as_str(), 0, 2));
            assert!(
                reason.contains("`max.message.bytes` of 100 bytes"),
                "the refusing limit is not named: {reason}"
            );
        }
        other => panic!("expected a dead-letter error, got {other:?}"),
    }
    assert!(!handle.is_live());
    let stats = handle.stats()[0].1;
    assert_eq!(stats.dead_letter_failures, 1, "{stats:?}");
    assert_eq!(stats.dead_lettered, 0, "{stats:?}");
    let metrics = stream_core::service::health::metrics_text(&handle);
    assert!(
        metrics.contains(&format!(
            "streamkit_dead_letter_failures_total{{group=\"{group}\"}} 1"
        )),
        "{metrics}"
    );
    let port = free_port();
    let _health = stream_core::service::health::serve(port, handle.clone()).unwrap();
    let status = tokio::task::spawn_blocking(move || http_status(port, "/health/live"))
        .await
        .unwrap();
    assert_eq!(status, 503);

    // Handled up to the poison record, nothing after it; committed up to it, not past it.
    assert_eq!(*HANDLED.lock().unwrap(), ids[..2].to_vec());
    let committed = testing::committed_offsets(&group, &topic).await;
    assert_eq!(committed.get(&0), Some(&Some(2)), "{committed:?}");
    assert!(testing::read_all(&dlq_topic(&topic)).await.is_empty());
}
