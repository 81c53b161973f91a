//! Topics, patterns and trading-broker namespaces, as the runtime sees them.
//!
//! A topic is `<broker>.<domain>.<event>` (`paper.signals.raw`); its first segment is the
//! [`Broker`] namespace. A [`TopicPattern`] has `*` for exactly one whole segment
//! (`*.signals.raw`) and becomes a Kafka regex subscription, so topics created later are picked
//! up. The [`Catalog`] is the parsed `topics.toml` that declares the brokers and topics.
//!
//! These types are defined in the small `stream-topics` crate and re-exported here. The grammar
//! (what a valid topic or pattern is, how `*` expands, how the broker is read, how the catalog
//! is parsed) must be one definition shared by the macros, which check topics at compile time,
//! and this runtime, which checks them at startup. A proc-macro crate cannot export functions and
//! must not pull in rdkafka or tokio, so the grammar lives in a crate of its own that both depend
//! on (as `sqlx-macros-core` sits apart from `sqlx-macros`).
//!
//! [`typed`] has the publish targets: a [`TypedTopic`](typed::TypedTopic) carries its catalog
//! event type, so a publish of another payload does not build.
//!
//! What a consumer hands to librdkafka is a [`Subscription`](crate::kafka::subscription::Subscription).
//!
//! ```
//! use stream_core::topic::Topic;
//!
//! let incoming = Topic::parse("zerodha.signals.raw")?;
//! assert_eq!(incoming.broker().as_str(), "zerodha");
//! assert_eq!(incoming.sibling("signals.validated")?.as_str(), "zerodha.signals.validated");
//! # Ok::<(), stream_core::topic::TopicError>(())
//! ```

pub mod typed;

pub use stream_topics::{
    Broker, Catalog, CatalogError, CleanupPolicy, Retention, Topic, TopicError, TopicErrorKind,
    TopicPattern, TopicSpec,
};

/// The broker namespace of a topic name: its first segment (`paper` for `paper.signals.raw`),
/// through [`broker_named`]. The producer and the consumer both read a topic's broker this way.
///
/// ```
/// let b = stream_core::topic::broker_of("zerodha.orders.filled")?;
/// assert_eq!(b.as_str(), "zerodha");
/// assert!(stream_core::topic::broker_of("").is_err());
/// # Ok::<(), stream_core::topic::TopicError>(())
/// ```
pub fn broker_of(topic: &str) -> Result<Broker, TopicError> {
    broker_named(topic.split('.').next().unwrap_or_default())
}

/// The [`Broker`] named `name`, shared with the last one made on this thread when it has the
/// same name: consecutive records nearly always carry the same broker, so decoding an envelope
/// or publishing to a topic costs a name comparison and a reference count, not a check and a
/// copy.
///
/// ```
/// let a = stream_core::topic::broker_named("paper")?;
/// let b = stream_core::topic::broker_named("paper")?;
/// assert_eq!(a, b);
/// assert!(stream_core::topic::broker_named("pa.per").is_err());
/// # Ok::<(), stream_core::topic::TopicError>(())
/// ```
pub fn broker_named(name: &str) -> Result<Broker, TopicError> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<Broker>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some(broker) if broker.as_str() == name => Ok(broker.clone()),
            _ => {
                let broker = Broker::new(name)?;
                *last = Some(broker.clone());
                Ok(broker)
            }
        }
    })
}
