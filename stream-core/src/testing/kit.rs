//! `TestKit`: test your own handlers without a broker (feature `testing`).
//!
//! The idea of FastStream's `TestKafkaBroker`: start an in-process Kafka, run your service on it,
//! publish an event to a topic, await what your handlers published, assert. The in-process Kafka
//! is **librdkafka's mock cluster**: it speaks the Kafka protocol, so your service runs its real
//! producer, consumer, commits, retries and dead letters, but it is not a real broker (no admin
//! API, no real transactions). Use it for fast handler tests; streamkit's own claims about Kafka
//! are tested against a real broker.
//!
//! ```no_run
//! use std::time::Duration;
//! use stream_core::service::config::ServiceConfig;
//! use stream_core::handler::extract::{Context, Data};
//! use stream_core::handler::HandlerError;
//! use stream_core::service::StreamServiceBuilder;
//! use stream_core::testing::kit::TestKit;
//! # #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)] struct Signal { qty: u32 }
//! # impl stream_core::Event for Signal { const EVENT_TYPE: &'static str = "trading_signal"; }
//!
//! async fn validate(Data(s): Data<Signal>, ctx: Context) -> Result<(), HandlerError> {
//!     if s.qty <= 100 {
//!         ctx.send(&ctx.topic_on_same_broker("signals.validated")?, &s).await?;
//!     }
//!     Ok(())
//! }
//!
//! # async fn test() -> stream_core::Result<()> {
//! let kit = TestKit::start(&["paper.signals.raw", "paper.signals.validated"]).await?;
//! let service = StreamServiceBuilder::new("risk", kit.service_config())
//!     .add_producer()
//!     .add_consumer_handler(&["paper.signals.raw"], "risk.signals", validate)
//!     .build()?;
//! let _running = kit.run(service);
//! let sent = kit.publish("paper.signals.raw", "s1", &Signal { qty: 10 }).await?;
//! let out = kit.next::<Signal>("paper.signals.validated", Duration::from_secs(10)).await?;
//! assert_eq!(out.data, Signal { qty: 10 });
//! assert_eq!(out.causation_id, Some(sent));
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::envelope::EventEnvelope;
use crate::envelope::codec;
use crate::envelope::event::Event;
use crate::error::{Error, Result};
use crate::kafka::config::KafkaConfig;
use crate::kafka::dev_cluster::DevCluster;
use crate::kafka::producer::MessageProducer;
use crate::service::config::ServiceConfig;
use crate::service::{ServiceHandle, StreamService};

/// Partitions of the topics a kit creates.
const PARTITIONS: i32 = 3;

/// An in-process Kafka (librdkafka's mock cluster) with helpers to publish and to await outputs.
///
/// Keep it in the test function (the mock cluster is `!Send`); it stops when dropped.
pub struct TestKit {
    cluster: DevCluster,
    producer: MessageProducer,
    readers: Mutex<HashMap<String, std::sync::Arc<StreamConsumer>>>,
}

impl std::fmt::Debug for TestKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKit")
            .field("bootstrap", &self.cluster.bootstrap_servers())
            .finish_non_exhaustive()
    }
}

/// A service running on a kit; stops it (gracefully) when dropped or on [`RunningService::stop`].
#[derive(Debug)]
#[must_use = "the service stops when this is dropped"]
pub struct RunningService {
    handle: ServiceHandle,
    task: Option<tokio::task::JoinHandle<Result<crate::service::ServiceReport>>>,
}

impl RunningService {
    /// The service's handle (readiness, stats).
    pub fn handle(&self) -> &ServiceHandle {
        &self.handle
    }

    /// Stops the service and returns its report.
    pub async fn stop(mut self) -> Result<crate::service::ServiceReport> {
        self.handle.shutdown();
        let task = self.task.take().expect("running service task");
        task.await.map_err(|e| Error::Runtime {
            what: "test kit".into(),
            message: format!("the service task failed: {e}"),
        })?
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

impl TestKit {
    /// Starts a mock cluster and creates `topics` on it (3 partitions each).
    pub async fn start(topics: &[&str]) -> Result<Self> {
        let cluster = DevCluster::mock()?;
        cluster.create_topics(topics, PARTITIONS).await?;
        let producer = MessageProducer::new(&cluster.config(), "testkit")?;
        Ok(Self {
            cluster,
            producer,
            readers: Mutex::new(HashMap::new()),
        })
    }

    /// Creates more topics.
    pub async fn create_topics(&self, topics: &[&str]) -> Result<()> {
        self.cluster.create_topics(topics, PARTITIONS).await
    }

    /// Client properties for this kit's cluster.
    pub fn kafka_config(&self) -> KafkaConfig {
        self.cluster.config()
    }

    /// A service configuration for this kit's cluster (short commit interval and shutdown).
    pub fn service_config(&self) -> ServiceConfig {
        let mut cfg = ServiceConfig::with_kafka(self.cluster.config());
        cfg.commit_interval = Duration::from_millis(100);
        cfg.shutdown_timeout = Duration::from_secs(5);
        cfg
    }

    /// Runs `service` in the background until the returned guard is stopped or dropped.
    pub fn run(&self, service: StreamService) -> RunningService {
        let handle = service.handle();
        RunningService {
            handle,
            task: Some(tokio::spawn(service.run_until_stopped())),
        }
    }

    /// Publishes `event` to `topic` as a new envelope (source `testkit`) and returns its id.
    pub async fn publish<T: Event>(&self, topic: &str, key: &str, event: &T) -> Result<Uuid> {
        Ok(self.producer.send(topic, key, event).await?)
    }

    /// Publishes an envelope built by hand (e.g. to replay a duplicate).
    pub async fn publish_envelope<T: serde::Serialize>(
        &self,
        topic: &str,
        key: &str,
        envelope: &EventEnvelope<T>,
    ) -> Result<Uuid> {
        Ok(self.producer.send_envelope(topic, key, envelope).await?)
    }

    /// Publishes raw bytes (e.g. a malformed record).
    pub async fn publish_raw(&self, topic: &str, key: &str, value: &[u8]) -> Result<()> {
        Ok(self
            .producer
            .send_record(topic, Some(key.as_bytes()), value, Default::default())
            .await?)
    }

    fn reader(&self, topic: &str) -> Result<std::sync::Arc<StreamConsumer>> {
        let mut readers = self.readers.lock().expect("testkit readers");
        if let Some(r) = readers.get(topic) {
            return Ok(std::sync::Arc::clone(r));
        }
        let consumer: StreamConsumer = self
            .cluster
            .config()
            .set("group.id", format!("testkit-reader-{}", Uuid::now_v7()))
            .set("enable.auto.commit", "false")
            .to_client_config()
            .create()?;
        let mut tpl = TopicPartitionList::new();
        for p in 0..PARTITIONS {
            tpl.add_partition_offset(topic, p, Offset::Beginning)?;
        }
        consumer.assign(&tpl)?;
        let consumer = std::sync::Arc::new(consumer);
        readers.insert(topic.to_owned(), std::sync::Arc::clone(&consumer));
        Ok(consumer)
    }

    /// The next record on `topic` not returned before, decoded as an envelope of `T`; fails when
    /// none arrives within `timeout`. Reads from the start of the topic on first use.
    pub async fn next<T: DeserializeOwned>(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<EventEnvelope<T>> {
        let msg = self.next_raw(topic, timeout).await?;
        Ok(codec::decode(msg.payload().unwrap_or_default())?)
    }

    /// The next raw record on `topic` (key, value and headers), e.g. from a dead-letter topic.
    pub async fn next_raw(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<rdkafka::message::OwnedMessage> {
        let reader = self.reader(topic)?;
        let msg = tokio::time::timeout(timeout, reader.recv())
            .await
            .map_err(|_| Error::Runtime {
                what: "test kit".into(),
                message: format!("nothing arrived on `{topic}` within {timeout:?}"),
            })??;
        Ok(msg.detach())
    }

    /// Succeeds when nothing (new) arrives on `topic` within `wait`.
    pub async fn expect_nothing(&self, topic: &str, wait: Duration) -> Result<()> {
        let reader = self.reader(topic)?;
        match tokio::time::timeout(wait, reader.recv()).await {
            Err(_) => Ok(()),
            Ok(msg) => {
                let msg = msg?;
                Err(Error::Runtime {
                    what: "test kit".into(),
                    message: format!(
                        "expected nothing on `{topic}`, got a record at offset {}",
                        msg.offset()
                    ),
                })
            }
        }
    }
}
