//! The topic grammar of streamkit.
//!
//! What a valid topic or pattern is, how `*` expands, how the trading broker is read from a topic,
//! and how the `topics.toml` catalog is parsed. This crate has no heavy dependencies so that the
//! proc-macro crate (at compile time, to put errors on the offending token) and the runtime (at
//! startup) share exactly one definition; a proc-macro crate cannot export functions, so the
//! grammar cannot live there (the way sqlx keeps `sqlx-macros-core` apart from `sqlx-macros`).
//!
//! - [`Topic`]: a concrete topic, `<broker>.<domain>.<event>` (at least two segments, the broker
//!   first), within Kafka's rules.
//! - [`TopicPattern`]: a topic in which `*` stands for exactly one whole segment; it becomes a
//!   librdkafka regex subscription ([`TopicPattern::to_kafka_regex`]).
//! - [`Broker`]: the trading-broker namespace, the first segment.
//! - [`Catalog`]: the parsed `topics.toml`, which declares the brokers and, for each topic name
//!   without broker, its event type, partition count and topic settings ([`TopicSpec`]:
//!   [`Retention`], [`CleanupPolicy`], replication); it checks topics and patterns against the
//!   declarations, with a "did you mean" when a declared name is close.
//! - [`TopicError`] and [`CatalogError`]: lowercase sentences that name the input and the fix.
//!
//! ```
//! use stream_topics::{Catalog, Topic, TopicPattern};
//!
//! let catalog = Catalog::parse(r#"
//!     brokers = ["paper", "zerodha"]
//!     [topics."signals.raw"]
//!     event = "trading_signal"
//!     partitions = 6
//!     [topics."signals.validated"]
//!     event = "validated_signal"
//!     partitions = 6
//! "#)?;
//!
//! let pattern = TopicPattern::parse("*.signals.raw")?;
//! assert_eq!(catalog.check_pattern(&pattern)?, ["paper.signals.raw", "zerodha.signals.raw"]);
//! assert_eq!(pattern.to_kafka_regex(), r"^[^.]+\.signals\.raw$");
//!
//! // a handler on zerodha.signals.raw answers on the same broker
//! let incoming = Topic::parse("zerodha.signals.raw")?;
//! let reply = incoming.sibling("signals.validated")?;
//! assert_eq!(catalog.event_type_of(&reply), Some("validated_signal"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod broker;
mod catalog;
mod error;
mod grammar;
mod pattern;
mod suggest;
mod topic;

pub use broker::Broker;
pub use catalog::{Catalog, CatalogError, CleanupPolicy, Retention, TopicSpec};
pub use error::{TopicError, TopicErrorKind};
pub use pattern::TopicPattern;
pub use topic::Topic;
