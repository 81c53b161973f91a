//! Dead-letter topics: where a message goes when it cannot be handled.
//!
//! A message goes to `<topic>.dlq` after its last retry, at once for a permanent error or a panic,
//! and at once when it cannot be decoded. The dead letter is the original record, unchanged: same
//! key, same value bytes, original headers kept, plus headers that say what happened:
//!
//! | header | value |
//! |---|---|
//! | `dlq.original_topic` | the topic it was read from |
//! | `dlq.original_partition` | its partition, decimal |
//! | `dlq.original_offset` | its offset, decimal |
//! | `dlq.error` | the error text |
//! | `dlq.error_kind` | `retryable`, `permanent`, `decode` or `panic` |
//! | `dlq.attempts` | handler attempts made (0 when it could not be decoded) |
//! | `dlq.first_failure` / `dlq.last_failure` | RFC 3339 UTC times |
//! | `dlq.service` / `dlq.group` | who gave up on it |
//!
//! Only once the broker acknowledged the dead letter may the original offset be committed; if the
//! write fails the consumer keeps trying and the partition waits (nothing is skipped).
//! Dead-letter topics are created on first use (streamkit never relies on broker auto-creation).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::Producer;

use crate::config::KafkaConfig;
use crate::handler::ErrorKind;
use crate::producer::{MessageProducer, ProduceError};

/// Header names written on dead letters.
pub mod headers {
    /// The topic the message was read from.
    pub const ORIGINAL_TOPIC: &str = "dlq.original_topic";
    /// Its partition.
    pub const ORIGINAL_PARTITION: &str = "dlq.original_partition";
    /// Its offset.
    pub const ORIGINAL_OFFSET: &str = "dlq.original_offset";
    /// The error text.
    pub const ERROR: &str = "dlq.error";
    /// The error kind.
    pub const ERROR_KIND: &str = "dlq.error_kind";
    /// Handler attempts made.
    pub const ATTEMPTS: &str = "dlq.attempts";
    /// Time of the first failure.
    pub const FIRST_FAILURE: &str = "dlq.first_failure";
    /// Time of the last failure.
    pub const LAST_FAILURE: &str = "dlq.last_failure";
    /// The service that gave up.
    pub const SERVICE: &str = "dlq.service";
    /// The consumer group that gave up.
    pub const GROUP: &str = "dlq.group";
}

/// The dead-letter topic of `topic`.
///
/// ```
/// assert_eq!(stream_core::reliability::dlq::dlq_topic("paper.signals.raw"), "paper.signals.raw.dlq");
/// ```
pub fn dlq_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// One message that is given up on, with why.
#[derive(Debug, Clone)]
pub struct DeadLetter<'a> {
    /// Original topic.
    pub topic: &'a str,
    /// Original partition.
    pub partition: i32,
    /// Original offset.
    pub offset: i64,
    /// Original key.
    pub key: Option<&'a [u8]>,
    /// Original value bytes.
    pub value: Option<&'a [u8]>,
    /// Original headers.
    pub headers: &'a [(String, Vec<u8>)],
    /// The error text.
    pub error: String,
    /// The error kind.
    pub kind: ErrorKind,
    /// Handler attempts made.
    pub attempts: u32,
    /// First failure.
    pub first_failure: DateTime<Utc>,
    /// Last failure.
    pub last_failure: DateTime<Utc>,
}

/// Writes dead letters for one consumer group, creating dead-letter topics on first use.
pub struct DeadLetterWriter {
    producer: MessageProducer,
    admin: AdminClient<DefaultClientContext>,
    service: String,
    group: String,
    partitions: i32,
    known: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for DeadLetterWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterWriter")
            .field("service", &self.service)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl DeadLetterWriter {
    /// A writer sending through `producer`; `config` is used to create dead-letter topics with
    /// `partitions` partitions.
    pub fn new(
        config: &KafkaConfig,
        producer: MessageProducer,
        service: &str,
        group: &str,
        partitions: i32,
    ) -> crate::Result<Self> {
        Ok(Self {
            producer,
            admin: config.for_producer().to_client_config().create()?,
            service: service.to_owned(),
            group: group.to_owned(),
            partitions,
            known: Mutex::new(HashSet::new()),
        })
    }

    /// Writes `letter` to its dead-letter topic and waits for the broker's acknowledgement.
    pub async fn write(&self, letter: &DeadLetter<'_>) -> Result<(), ProduceError> {
        let topic = dlq_topic(letter.topic);
        self.ensure_topic(&topic).await;
        let mut headers = OwnedHeaders::new_with_capacity(letter.headers.len() + 10);
        for (k, v) in letter.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v.as_slice()),
            });
        }
        let partition = letter.partition.to_string();
        let offset = letter.offset.to_string();
        let attempts = letter.attempts.to_string();
        let first = letter
            .first_failure
            .to_rfc3339_opts(SecondsFormat::Micros, true);
        let last = letter
            .last_failure
            .to_rfc3339_opts(SecondsFormat::Micros, true);
        for (k, v) in [
            (headers::ORIGINAL_TOPIC, letter.topic),
            (headers::ORIGINAL_PARTITION, &partition),
            (headers::ORIGINAL_OFFSET, &offset),
            (headers::ERROR, &letter.error),
            (headers::ERROR_KIND, letter.kind.as_str()),
            (headers::ATTEMPTS, &attempts),
            (headers::FIRST_FAILURE, &first),
            (headers::LAST_FAILURE, &last),
            (headers::SERVICE, &self.service),
            (headers::GROUP, &self.group),
        ] {
            headers = headers.insert(Header {
                key: k,
                value: Some(v),
            });
        }
        self.producer
            .send_record(
                &topic,
                letter.key,
                letter.value.unwrap_or_default(),
                headers,
            )
            .await
    }

    async fn ensure_topic(&self, topic: &str) {
        if self.known.lock().expect("dlq topics").contains(topic) {
            return;
        }
        // -1: the cluster's default replication factor.
        // Most of the time the topic is there already: ask the metadata first (cheap, and
        // answered by every cluster, the mock one included), create it only when missing.
        let producer = self.producer.clone();
        let name = topic.to_owned();
        let exists = tokio::task::spawn_blocking(move || {
            producer
                .rdkafka()
                .client()
                .fetch_metadata(Some(&name), Duration::from_secs(5))
                .ok()
                .and_then(|m| {
                    m.topics()
                        .first()
                        .map(|t| t.error().is_none() && !t.partitions().is_empty())
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        if exists {
            self.known
                .lock()
                .expect("dlq topics")
                .insert(topic.to_owned());
            return;
        }
        let new = NewTopic::new(topic, self.partitions, TopicReplication::Fixed(-1));
        let opts = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(10)))
            .request_timeout(Some(Duration::from_secs(15)));
        match self.admin.create_topics([&new], &opts).await {
            Ok(results) => {
                let ok = results.iter().all(|r| match r {
                    Ok(_) => true,
                    Err((_, code)) => *code == rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists,
                });
                if ok {
                    self.known
                        .lock()
                        .expect("dlq topics")
                        .insert(topic.to_owned());
                } else {
                    tracing::warn!(topic, ?results, "could not create dead-letter topic");
                }
            }
            Err(error) => tracing::warn!(topic, %error, "could not create dead-letter topic"),
        }
    }
}
