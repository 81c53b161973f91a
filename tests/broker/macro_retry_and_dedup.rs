//! What `#[stream_handler]`'s `retry` and `dedup` arguments do, observed on the real broker:
//!
//! - `retry = 4` (attempts in all, the first one included; the default is 3): a handler that
//!   always fails retryably runs exactly 4 times on a record, which then lands on `<topic>.dlq`
//!   with `dlq.attempts = 4`;
//! - `dedup = false`: the same envelope produced twice reaches the handler twice, while a handler
//!   with the default (dedup on) on the same topic, in another group, receives it once.
//!
//! Each test builds a service from the registry entries the macro emitted (`HandlerEntry::make`,
//! as `#[stream_service]` does), with only its own handlers. The macro fixes topics and groups,
//! so each test starts from recreated topics and deleted groups.

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stream_core::envelope::EventEnvelope;
use stream_core::envelope::codec::RawEnvelope;
use stream_core::kafka::producer::MessageProducer;
use stream_core::reliability::dlq::{dlq_topic, headers};
use stream_core::service::config::ServiceConfig;
use stream_core::service::{ServiceHandle, StreamService, StreamServiceBuilder};
use stream_core::testing;
use stream_core::topic::Broker;
use streamkit::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct ValidatedSignal {
    symbol: String,
    quantity: Decimal,
}

const RETRY_TOPIC: &str = "paper.servicetest.validated";
const RETRY_GROUP: &str = "optionstest.retry";
const DEDUP_TOPIC: &str = "zerodha.servicetest.validated";
const NO_DEDUP_GROUP: &str = "optionstest.nodedup";
const DEDUP_GROUP: &str = "optionstest.dedup";

/// Every call of a handler below: (handler, envelope id).
static CALLS: Mutex<Vec<(&'static str, uuid::Uuid)>> = Mutex::new(Vec::new());

fn called(handler: &'static str, id: uuid::Uuid) {
    CALLS.lock().unwrap().push((handler, id));
}

fn calls(handler: &str, id: uuid::Uuid) -> usize {
    CALLS
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, i)| *h == handler && *i == id)
        .count()
}

#[stream_handler(
    topics = "paper.servicetest.validated",
    group = "optionstest.retry",
    retry = 4
)]
async fn always_fails(signal: Envelope<ValidatedSignal>) -> Result<(), HandlerError> {
    called("always_fails", signal.id);
    Err(HandlerError::retryable(std::io::Error::other(
        "the exchange is down",
    )))
}

#[stream_handler(
    topics = "zerodha.servicetest.validated",
    group = "optionstest.nodedup",
    dedup = false
)]
async fn without_dedup(signal: Envelope<ValidatedSignal>) -> Result<(), HandlerError> {
    called("without_dedup", signal.id);
    Ok(())
}

#[stream_handler(topics = "zerodha.servicetest.validated", group = "optionstest.dedup")]
async fn with_dedup(signal: Envelope<ValidatedSignal>) -> Result<(), HandlerError> {
    called("with_dedup", signal.id);
    Ok(())
}

fn admin() -> AdminClient<DefaultClientContext> {
    testing::kafka_config().to_client_config().create().unwrap()
}

/// Deletes `topics` and waits until the broker no longer knows them, then creates them empty;
/// deletes `groups` (their committed offsets) too.
async fn fresh(topics: &[&str], partitions: i32, groups: &[&str]) {
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    // A group that does not exist yet is an error here, and fine.
    let _ = admin().delete_groups(groups, &opts).await;
    testing::delete_topics(topics).await;
    let names: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
    testing::wait_until(Duration::from_secs(30), "the topics to be deleted", || {
        let names = names.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let consumer: BaseConsumer =
                    testing::kafka_config().to_client_config().create().unwrap();
                let metadata = consumer
                    .fetch_metadata(None, Duration::from_secs(5))
                    .unwrap();
                metadata
                    .topics()
                    .iter()
                    .all(|t| !names.iter().any(|n| n == t.name()))
            })
            .await
            .unwrap()
        }
    })
    .await;
    testing::create_topics(topics, partitions).await;
}

/// A service with the registered handlers named `names`, and nothing else.
fn service_of(names: &[&str]) -> StreamService {
    let mut builder = StreamServiceBuilder::new(
        "optionstest",
        ServiceConfig::with_kafka(testing::kafka_config()),
    );
    let mut found = 0;
    for entry in streamkit::service::registry::registered().filter(|e| names.contains(&e.name)) {
        builder = builder.add_handler((entry.make)());
        found += 1;
    }
    assert_eq!(found, names.len(), "registered handlers named {names:?}");
    builder.build().unwrap()
}

fn stats_of(handle: &ServiceHandle, group: &str) -> stream_core::consumer::StatsSnapshot {
    handle
        .stats()
        .into_iter()
        .find(|(g, _)| g == group)
        .unwrap_or_else(|| panic!("no consumer group `{group}`"))
        .1
}

fn signal(symbol: &str) -> ValidatedSignal {
    ValidatedSignal {
        symbol: symbol.into(),
        quantity: Decimal::from(7),
    }
}

/// Stops the service and fails the test if its run failed or does not end.
async fn stop(
    handle: ServiceHandle,
    running: tokio::task::JoinHandle<stream_core::Result<stream_core::service::ServiceReport>>,
) {
    handle.shutdown();
    tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the service did not stop within 60 s")
        .expect("the service task panicked")
        .expect("the service run failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_4_means_four_attempts_then_the_dead_letter_topic() {
    let dlq = dlq_topic(RETRY_TOPIC);
    fresh(&[RETRY_TOPIC, &dlq], 2, &[RETRY_GROUP]).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "optionstest").unwrap();
    let id = producer
        .send(RETRY_TOPIC, "SYM-R", &signal("SYM-R"))
        .await
        .unwrap();

    let service = service_of(&["always_fails"]);
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());
    let letters_of = |dlq: String| async move {
        testing::read_all(&dlq)
            .await
            .into_iter()
            .filter(|m| {
                m.payload()
                    .and_then(|p| RawEnvelope::decode(p).ok())
                    .is_some_and(|e| e.id == id)
            })
            .collect::<Vec<_>>()
    };
    testing::wait_until(Duration::from_secs(60), "the dead letter", || {
        let letters = letters_of(dlq.clone());
        async move { !letters.await.is_empty() }
    })
    .await;
    // Once dead-lettered, the record is done: no attempt comes after the dead letter.
    testing::wait_until(
        Duration::from_secs(30),
        "the dead letter to be counted",
        || {
            let s = stats_of(&handle, RETRY_GROUP);
            async move { s.dead_lettered == 1 }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = stats_of(&handle, RETRY_GROUP);
    stop(handle, running).await;
    let letters = letters_of(dlq.clone()).await;

    assert_eq!(calls("always_fails", id), 4, "attempts of the handler");
    assert_eq!(
        stats.retried, 3,
        "retries (attempts after the first): {stats:?}"
    );
    assert_eq!(stats.handled, 0, "{stats:?}");
    assert_eq!(letters.len(), 1, "one dead letter");
    let header = |key: &str| {
        letters[0]
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == key))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(header(headers::ATTEMPTS).as_deref(), Some("4"));
    assert_eq!(
        header(headers::ORIGINAL_TOPIC).as_deref(),
        Some(RETRY_TOPIC)
    );
    assert_eq!(header(headers::GROUP).as_deref(), Some(RETRY_GROUP));
    assert!(
        header(headers::ERROR).is_some_and(|e| e.contains("the exchange is down")),
        "{:?}",
        header(headers::ERROR)
    );
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_false_receives_a_duplicate_and_the_default_does_not() {
    fresh(&[DEDUP_TOPIC], 2, &[NO_DEDUP_GROUP, DEDUP_GROUP]).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "optionstest").unwrap();
    let envelope = EventEnvelope::new(
        Broker::new("zerodha").unwrap(),
        "optionstest",
        signal("SYM-D"),
    );
    // The same envelope (same id) produced twice, as a producer retry without idempotence would.
    for _ in 0..2 {
        producer
            .send_envelope(DEDUP_TOPIC, "SYM-D", &envelope)
            .await
            .unwrap();
    }

    let service = service_of(&["without_dedup", "with_dedup"]);
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());
    // Both groups went past both copies: handled, or (dedup on) skipped as a duplicate.
    testing::wait_until(
        Duration::from_secs(60),
        "both groups to consume both copies",
        || {
            let off = stats_of(&handle, NO_DEDUP_GROUP);
            let on = stats_of(&handle, DEDUP_GROUP);
            async move { off.handled >= 2 && on.handled + on.deduplicated >= 2 }
        },
    )
    .await;
    let (off, on) = (
        stats_of(&handle, NO_DEDUP_GROUP),
        stats_of(&handle, DEDUP_GROUP),
    );
    stop(handle, running).await;

    assert_eq!(
        calls("without_dedup", envelope.id),
        2,
        "dedup = false: {off:?}"
    );
    assert_eq!(off.deduplicated, 0, "{off:?}");
    assert_eq!(calls("with_dedup", envelope.id), 1, "dedup on: {on:?}");
    assert_eq!((on.handled, on.deduplicated), (1, 1), "{on:?}");
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}
