//! Dead-letter topics: where a message goes when it cannot be handled.
//!
//! A message goes to `<topic>.dlq` after its last retry, at once for a permanent error or a panic,
//! and at once when it cannot be decoded or breaks its topic's contract
//! ([`contract`](crate::reliability::contract)). The dead letter is the original record,
//! unchanged: same key, same value bytes (a tombstone stays a tombstone: null value), original
//! headers kept, plus headers that say what happened:
//!
//! | header | value |
//! |---|---|
//! | `dlq.original_topic` | the topic it was read from |
//! | `dlq.original_partition` | its partition, decimal |
//! | `dlq.original_offset` | its offset, decimal |
//! | `dlq.error` | the error text |
//! | `dlq.error_kind` | `retryable`, `permanent`, `decode`, `contract` or `panic` |
//! | `dlq.attempts` | handler attempts made (0 when it could not be decoded or broke the contract) |
//! | `dlq.first_failure` / `dlq.last_failure` | RFC 3339 UTC times |
//! | `dlq.service` / `dlq.group` | who gave up on it |
//!
//! **Reference dead letters.** A record can be too large to be written again with those
//! headers: over the producer's `message.max.bytes` (which counts key and headers), or over the
//! dead-letter topic's `max.message.bytes`. Then a *reference* is written instead: the same key
//! and `dlq.*` headers, `dlq.value_truncated = true`, `dlq.original_value_bytes` (the value's
//! size), `dlq.value_truncated_reason` (which limit refused it, its value, and the property to
//! raise), and the first [`REFERENCE_VALUE_BYTES`] bytes of the value; the original headers are
//! left out. The original stays readable at its topic, partition and offset for the topic's
//! retention.
//!
//! Only once the broker acknowledged the dead letter may the original offset be committed.
//! What the consumer does when a dead letter cannot be written is its failure policy
//! ([`ConsumerOptions::dlq_write_timeout`](crate::consumer::ConsumerOptions::dlq_write_timeout)).
//! Dead-letter topics are created on first use (streamkit never relies on broker
//! auto-creation), with as many partitions as the topic they serve, so that the dead letters of
//! different keys spread as the originals did.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::message::{Header, OwnedHeaders};

use crate::handler::ErrorKind;
use crate::kafka::admin::{Replication, TopicAdmin};
use crate::kafka::config::KafkaConfig;
use crate::kafka::producer::{MessageProducer, ProduceError};

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
    /// `true` on a reference dead letter: the value is cut to its first bytes.
    pub const VALUE_TRUNCATED: &str = "dlq.value_truncated";
    /// On a reference dead letter: the original value's size in bytes.
    pub const ORIGINAL_VALUE_BYTES: &str = "dlq.original_value_bytes";
    /// On a reference dead letter: which limit refused the whole record, and how to raise it.
    pub const VALUE_TRUNCATED_REASON: &str = "dlq.value_truncated_reason";
}

/// How many bytes of the value a reference dead letter keeps.
pub const REFERENCE_VALUE_BYTES: usize = 1024;

/// What [`DeadLetterWriter::write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The whole record.
    Whole,
    /// A reference dead letter, because the whole record did not fit (`reason` says which
    /// limit refused it).
    Reference {
        /// Which limit refused the whole record, its value, and the property to raise.
        reason: String,
    },
}

/// Why a dead letter could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError {
    /// Whether trying again may help (the broker unreachable, a timeout); a dead letter that does
    /// not fit even as a reference is not.
    pub retryable: bool,
    /// What went wrong, naming the limit that refused it if one did.
    pub reason: String,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for WriteError {}

fn too_large(error: &ProduceError) -> bool {
    matches!(
        error,
        ProduceError::MessageTooLarge { .. } | ProduceError::RefusedAsTooLarge { .. }
    )
}

fn write_error(error: ProduceError) -> WriteError {
    let retryable = !matches!(
        error,
        ProduceError::Serialization(_) | ProduceError::Topic(_)
    );
    WriteError {
        retryable,
        reason: error.to_string(),
    }
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
    /// Original value bytes (`None`: a tombstone).
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
    admin: TopicAdmin,
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
    /// A writer sending through `producer`; `config` is used to create dead-letter topics, with
    /// the partitions of the topic they serve (`partitions` when those cannot be read).
    pub fn new(
        config: &KafkaConfig,
        producer: MessageProducer,
        service: &str,
        group: &str,
        partitions: i32,
    ) -> crate::Result<Self> {
        Ok(Self {
            producer,
            admin: TopicAdmin::new(config)?,
            service: service.to_owned(),
            group: group.to_owned(),
            partitions,
            known: Mutex::new(HashSet::new()),
        })
    }

    /// Writes `letter` to its dead-letter topic and waits for the broker's acknowledgement: the
    /// whole record, or a reference dead letter when the whole record does not fit.
    pub async fn write(&self, letter: &DeadLetter<'_>) -> Result<Written, WriteError> {
        let topic = dlq_topic(letter.topic);
        self.ensure_topic(&topic, letter.topic).await;
        let whole = self.headers(letter, letter.headers, &[]);
        let refused = match self
            .producer
            .send_raw(&topic, letter.key, letter.value, whole)
            .await
        {
            Ok(()) => return Ok(Written::Whole),
            Err(error) if too_large(&error) => error,
            Err(error) => return Err(write_error(error)),
        };
        let reason = self.too_large_reason(&topic, &refused).await;
        let value = letter.value;
        let size = value.map_or(0, <[u8]>::len).to_string();
        let extra = [
            (headers::VALUE_TRUNCATED, "true"),
            (headers::ORIGINAL_VALUE_BYTES, size.as_str()),
            (headers::VALUE_TRUNCATED_REASON, reason.as_str()),
        ];
        let reference = self.headers(letter, &[], &extra);
        let prefix = value.map(|v| &v[..v.len().min(REFERENCE_VALUE_BYTES)]);
        match self
            .producer
            .send_raw(&topic, letter.key, prefix, reference)
            .await
        {
            Ok(()) => Ok(Written::Reference { reason }),
            Err(error) if too_large(&error) => Err(WriteError {
                retryable: false,
                reason: format!(
                    "not even a reference dead letter fits: {}",
                    self.too_large_reason(&topic, &error).await
                ),
            }),
            Err(error) => Err(write_error(error)),
        }
    }

    /// The original `kept` headers and the `dlq.*` headers of `letter`, then `extra`.
    fn headers(
        &self,
        letter: &DeadLetter<'_>,
        kept: &[(String, Vec<u8>)],
        extra: &[(&str, &str)],
    ) -> OwnedHeaders {
        let mut out = OwnedHeaders::new_with_capacity(kept.len() + 10 + extra.len());
        for (k, v) in kept {
            out = out.insert(Header {
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
        let own = [
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
        ];
        for (k, v) in own.iter().chain(extra) {
            out = out.insert(Header {
                key: k,
                value: Some(*v),
            });
        }
        out
    }

    /// Which limit refused a record to `topic` (`error` is too large), with its value and the
    /// property to raise.
    async fn too_large_reason(&self, topic: &str, error: &ProduceError) -> String {
        match error {
            ProduceError::MessageTooLarge { size, limit, .. } => format!(
                "the record ({size} bytes of value, plus its key and headers) is over the \
                 producer's limit of {limit} bytes; raise the service's `message.max.bytes` \
                 to dead-letter such records whole"
            ),
            ProduceError::RefusedAsTooLarge { size, .. } => {
                let limit = match self.topic_limit(topic).await {
                    Some(v) => format!("`max.message.bytes` of {v} bytes"),
                    None => "`max.message.bytes` (or the broker's `message.max.bytes`)".into(),
                };
                format!(
                    "the broker refused the record ({size} bytes of value, plus its key and \
                     headers) as over the {limit} of `{topic}`; raise `max.message.bytes` on \
                     `{topic}` to dead-letter such records whole"
                )
            }
            other => other.to_string(),
        }
    }

    /// The topic's `max.message.bytes`, if the cluster says.
    async fn topic_limit(&self, topic: &str) -> Option<String> {
        self.admin.topic_setting(topic, "max.message.bytes").await
    }

    /// The partition count of `topic`, if the cluster says.
    async fn partitions_of(&self, topic: &str) -> Option<i32> {
        let topics = [topic.to_owned()];
        let found = self.admin.partitions(&topics, Duration::from_secs(5)).await;
        found.ok()?.into_iter().next().flatten()
    }

    async fn ensure_topic(&self, topic: &str, source: &str) {
        if self.known.lock().expect("dlq topics").contains(topic) {
            return;
        }
        // Most of the time the topic is there already: ask the metadata first (cheap, and
        // answered by every cluster, the mock one included), create it only when missing.
        if self.partitions_of(topic).await.is_some() {
            self.known
                .lock()
                .expect("dlq topics")
                .insert(topic.to_owned());
            return;
        }
        let partitions = self.partitions_of(source).await.unwrap_or(self.partitions);
        let created = self
            .admin
            .create(
                &[(topic, partitions)],
                Replication::ClusterDefault,
                Duration::from_secs(10),
            )
            .await;
        match created {
            Ok(()) => {
                self.known
                    .lock()
                    .expect("dlq topics")
                    .insert(topic.to_owned());
            }
            Err(error) => tracing::warn!(topic, %error, "could not create dead-letter topic"),
        }
    }
}
