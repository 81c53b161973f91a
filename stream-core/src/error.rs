//! The crate's error type: one enum for everything the runtime can report to a user.

use thiserror::Error;

/// A result with streamkit's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the streamkit runtime.
///
/// ```
/// let err = stream_core::Error::Config { key: "acks".into(), message: "expected `all`, got `1`".into() };
/// assert_eq!(err.to_string(), "bad configuration `acks`: expected `all`, got `1`");
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration key has a value that cannot be used.
    #[error("bad configuration `{key}`: {message}")]
    Config {
        /// The key that was wrong.
        key: String,
        /// What was expected and what was found.
        message: String,
    },
    /// A service's handlers are wired wrong (found by `StreamServiceBuilder::build`).
    #[error("handler `{handler}` {message}")]
    Wiring {
        /// The handler (or service) at fault.
        handler: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A service was built or started without any handler.
    #[error(
        "service `{service}` has no handler: add one with .add_consumer_handler(..) or #[stream_handler]"
    )]
    NoHandlers {
        /// The service name.
        service: String,
    },
    /// A topic name or pattern is not valid.
    #[error(transparent)]
    Topic(#[from] stream_topics::TopicError),
    /// An envelope could not be encoded or decoded; the error names the field and why.
    #[error(transparent)]
    Codec(#[from] crate::envelope::codec::error::CodecError),
    /// Publishing a message failed.
    #[error(transparent)]
    Produce(#[from] crate::kafka::producer::error::ProduceError),
    /// The Kafka client reported an error.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The runtime could not do its own work: a thread or task would not start or ended without
    /// a result. Not the user's configuration (that is [`Error::Config`]).
    #[error("{what}: {message}")]
    Runtime {
        /// The part of the runtime that failed (`consumer of group `risk``, `health server`).
        what: String,
        /// What happened.
        message: String,
    },
    /// An exactly-once consumer's transaction could not commit (or was fenced by a newer
    /// instance with the same transactional id): it was aborted, so none of its records or
    /// offsets are visible, and the consumer stopped.
    #[error("transaction of group `{group}`: {message}")]
    Transaction {
        /// The consumer group.
        group: String,
        /// What failed.
        message: String,
    },
    /// A topic could not be created or read on the cluster.
    #[error("topic `{topic}`: {message}")]
    TopicAdmin {
        /// The topic.
        topic: String,
        /// What the cluster answered.
        message: String,
    },
    /// A message could not be dead-lettered, so its consumer stopped rather than skip it or
    /// wait forever; its offset and every later one of its partition stay uncommitted.
    #[error(
        "could not dead-letter `{topic}` partition {partition} offset {offset}, so the consumer \
         stopped (nothing from that offset on is committed): {reason}"
    )]
    DeadLetter {
        /// The message's topic.
        topic: String,
        /// Its partition.
        partition: i32,
        /// Its offset.
        offset: i64,
        /// Why the dead letter could not be written.
        reason: String,
    },
}
