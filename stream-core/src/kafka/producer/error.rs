//! [`ProduceError`]: why a send failed, with the record it could not deliver.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use thiserror::Error;

use crate::envelope::codec::error::CodecError;

/// Why a send failed. Every variant that had an encoded record gives its bytes back
/// ([`ProduceError::into_payload`]), so nothing is lost in the caller's hands.
///
/// ```
/// use stream_core::kafka::producer::ProduceError;
/// let err = ProduceError::MessageTooLarge { size: 2_000_000, limit: 1_000_000, payload: vec![] };
/// assert_eq!(
///     err.to_string(),
///     "message of 2000000 bytes (its value; key and headers count too) is larger than the \
///      producer's limit of 1000000 bytes; raise the producer's `message.max.bytes`"
/// );
/// ```
#[derive(Error)]
#[non_exhaustive]
pub enum ProduceError {
    /// The topic does not exist on the cluster (streamkit never relies on auto-creation).
    #[error("topic `{topic}` does not exist; create it first (topics are never auto-created)")]
    TopicNotFound {
        /// The topic named in the send.
        topic: String,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// The record (value, key and headers, as librdkafka counts it) is larger than the
    /// producer's `message.max.bytes`: librdkafka refused it before sending.
    #[error(
        "message of {size} bytes (its value; key and headers count too) is larger than the \
         producer's limit of {limit} bytes; raise the producer's `message.max.bytes`"
    )]
    MessageTooLarge {
        /// Size of the encoded value.
        size: usize,
        /// The producer's configured limit.
        limit: usize,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// The broker refused the record as too large, although it is within the producer's limit:
    /// the topic's `max.message.bytes` (or the broker's `message.max.bytes`) is lower.
    /// Only the broker's answer gives this error; librdkafka's own check gives
    /// [`ProduceError::MessageTooLarge`].
    ///
    /// ```
    /// use stream_core::kafka::producer::ProduceError;
    /// let err = ProduceError::RefusedAsTooLarge {
    ///     topic: "paper.orders.archive".into(),
    ///     size: 2_100,
    ///     payload: vec![],
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "the broker refused a message of 2100 bytes to `paper.orders.archive` as too large: \
    ///      the topic's `max.message.bytes` (or the broker's `message.max.bytes`) is lower; \
    ///      raise `max.message.bytes` on the topic"
    /// );
    /// ```
    #[error(
        "the broker refused a message of {size} bytes to `{topic}` as too large: the topic's \
         `max.message.bytes` (or the broker's `message.max.bytes`) is lower; raise \
         `max.message.bytes` on the topic"
    )]
    RefusedAsTooLarge {
        /// The topic of the send.
        topic: String,
        /// Size of the encoded value.
        size: usize,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// The broker did not acknowledge within `message.timeout.ms`.
    #[error("no acknowledgement from the broker within `message.timeout.ms`")]
    Timeout {
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// No broker could be reached.
    #[error("broker unreachable: {reason}")]
    BrokerUnreachable {
        /// librdkafka's reason.
        reason: String,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// librdkafka's queue stayed full for longer than the configured deadline.
    #[error(
        "producer queue full for {waited:?} (`queue.buffering.max.messages`); slow down or raise it"
    )]
    QueueFull {
        /// How long the send waited for room.
        waited: Duration,
        /// The encoded record value.
        payload: Vec<u8>,
    },
    /// The payload could not be encoded (nothing was sent).
    #[error("could not encode the envelope: {0}")]
    Serialization(#[from] CodecError),
    /// The topic name is not a valid streamkit topic.
    #[error(transparent)]
    Topic(#[from] stream_topics::TopicError),
    /// Any other error librdkafka reported.
    #[error("kafka: {error}")]
    Kafka {
        /// The client error.
        error: KafkaError,
        /// The encoded record value.
        payload: Vec<u8>,
    },
}

impl std::fmt::Debug for ProduceError {
    /// Shows the error and the size of the payload it carries, not the payload itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ProduceError");
        d.field("error", &self.to_string());
        if let Some(p) = self.payload() {
            d.field("payload_bytes", &p.len());
        }
        d.finish()
    }
}

impl ProduceError {
    /// The encoded record value that was not delivered, if one was built.
    pub fn payload(&self) -> Option<&[u8]> {
        match self {
            Self::TopicNotFound { payload, .. }
            | Self::MessageTooLarge { payload, .. }
            | Self::RefusedAsTooLarge { payload, .. }
            | Self::Timeout { payload }
            | Self::BrokerUnreachable { payload, .. }
            | Self::QueueFull { payload, .. }
            | Self::Kafka { payload, .. } => Some(payload),
            Self::Serialization(_) | Self::Topic(_) => None,
        }
    }

    /// Takes the undelivered record value back.
    pub fn into_payload(self) -> Option<Vec<u8>> {
        match self {
            Self::TopicNotFound { payload, .. }
            | Self::MessageTooLarge { payload, .. }
            | Self::RefusedAsTooLarge { payload, .. }
            | Self::Timeout { payload }
            | Self::BrokerUnreachable { payload, .. }
            | Self::QueueFull { payload, .. }
            | Self::Kafka { payload, .. } => Some(payload),
            Self::Serialization(_) | Self::Topic(_) => None,
        }
    }

    /// `error` as reported at `stage`: librdkafka's own size check and the broker's refusal
    /// share one error code, and only the stage tells which limit refused the record.
    pub(super) fn from_kafka(
        error: KafkaError,
        topic: &str,
        payload: Vec<u8>,
        stage: Stage,
    ) -> Self {
        use RDKafkaErrorCode as C;
        let code = match &error {
            KafkaError::MessageProduction(code) => Some(*code),
            _ => error.rdkafka_error_code(),
        };
        match code {
            Some(C::UnknownTopic | C::UnknownTopicOrPartition) => Self::TopicNotFound {
                topic: topic.to_owned(),
                payload,
            },
            Some(C::MessageSizeTooLarge) => match stage {
                Stage::HandOver { limit } => Self::MessageTooLarge {
                    size: payload.len(),
                    limit,
                    payload,
                },
                Stage::Delivery => Self::RefusedAsTooLarge {
                    topic: topic.to_owned(),
                    size: payload.len(),
                    payload,
                },
            },
            Some(C::MessageTimedOut) => Self::Timeout { payload },
            Some(C::AllBrokersDown | C::BrokerTransportFailure | C::Resolve) => {
                Self::BrokerUnreachable {
                    reason: error.to_string(),
                    payload,
                }
            }
            _ => Self::Kafka { error, payload },
        }
    }
}

/// Where a send failed: handing the record to librdkafka (its checks, against the producer's
/// `limit`) or in the delivery report (the broker's answer).
#[derive(Debug, Clone, Copy)]
pub(super) enum Stage {
    HandOver { limit: usize },
    Delivery,
}
