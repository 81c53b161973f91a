//! [`EventEnvelope`]: the metadata every event travels with, and how a new one gets its id,
//! correlation and causation.
//!
//! An envelope carries its own identity (`id`, a UUIDv7 and the dedup key), its place in a chain
//! of events (`correlation_id`, shared by the whole chain, and `causation_id`, the id of the
//! event whose handler produced it), where it comes from (`broker`, `source`), what it is
//! (`event_type`) and when it was made (`timestamp`). [`Lineage`] is the part a new event
//! inherits from its cause. How an envelope is written on the wire is [`codec`](crate::envelope::codec)'s
//! business.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use stream_topics::Broker;
use uuid::Uuid;

use crate::envelope::event::{Event, EventType};
use crate::envelope::id::new_event_id;
use crate::envelope::service_name::ServiceName;

/// The envelope schema version this crate writes (the `version` field).
///
/// ```
/// assert_eq!(stream_core::envelope::ENVELOPE_VERSION, 1);
/// ```
pub const ENVELOPE_VERSION: u32 = 1;

/// An event and its metadata: one Kafka record's value.
///
/// The fields are in wire order. `timestamp` has microsecond precision, as on the wire:
/// [`EventEnvelope::new`], the builder and [`decode`](crate::envelope::codec::decode) truncate to it, so an
/// envelope decodes to what was encoded.
///
/// ```
/// use stream_core::{EventEnvelope, EventType};
/// use stream_topics::Broker;
///
/// #[derive(serde::Serialize, serde::Deserialize, stream_macros::Event)]
/// # #[event(crate = "stream_core")]
/// struct TradingSignal { symbol: String }
///
/// let signal = EventEnvelope::new(
///     Broker::new("paper").unwrap(),
///     "strategy-runner",
///     TradingSignal { symbol: "RELIANCE".into() },
/// );
/// assert_eq!(signal.event_type, EventType::TradingSignal);
/// assert_eq!(signal.correlation_id, signal.id);
/// assert_eq!(signal.causation_id, None);
///
/// // The handler of `signal` publishes an event it caused.
/// let validated = EventEnvelope::caused_by(
///     signal.lineage(),
///     Broker::new("paper").unwrap(),
///     "risk-manager",
///     TradingSignal { symbol: "RELIANCE".into() },
/// );
/// assert_eq!(validated.correlation_id, signal.correlation_id);
/// assert_eq!(validated.causation_id, Some(signal.id));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope<T> {
    /// This event's id: a UUIDv7 (time-ordered), the dedup key.
    pub id: Uuid,
    /// The id shared by every event of one chain: the first event's own id.
    pub correlation_id: Uuid,
    /// The id of the event whose handler produced this one; `None` for the first of a chain.
    #[serde(default)]
    pub causation_id: Option<Uuid>,
    /// The trading-broker namespace (`paper`, `zerodha`): the first segment of its topic.
    #[serde(serialize_with = "serialize_broker")]
    pub broker: Broker,
    /// The event's type name (`trading_signal`).
    pub event_type: EventType,
    /// The name of the service that produced it.
    pub source: ServiceName,
    /// When it was made, in UTC, to the microsecond.
    #[serde(with = "crate::envelope::timestamp")]
    pub timestamp: DateTime<Utc>,
    /// The envelope schema version ([`ENVELOPE_VERSION`]); 1 when absent on read.
    #[serde(default = "default_version")]
    pub version: u32,
    /// The payload.
    pub data: T,
}

/// Writes the broker's name without the copy that `Broker`'s own `#[serde(into = "String")]`
/// makes on every serialization.
fn serialize_broker<S: serde::Serializer>(
    broker: &Broker,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(broker.as_str())
}

fn default_version() -> u32 {
    ENVELOPE_VERSION
}

/// The current time as an envelope carries it: UTC, truncated to microseconds.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// What a new event inherits from the event that caused it: the chain's `correlation_id`, and
/// the cause's own id as its `causation_id`.
///
/// ```
/// use stream_core::Lineage;
/// use uuid::Uuid;
///
/// let cause = Lineage { correlation_id: Uuid::nil(), causation_id: Uuid::max() };
/// let copy = cause; // Copy: cheap to hand to every publish
/// assert_eq!(copy, cause);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lineage {
    /// The correlation id of the chain.
    pub correlation_id: Uuid,
    /// The id of the causing event: the new event's `causation_id`.
    pub causation_id: Uuid,
}

impl<T> EventEnvelope<T> {
    /// A new envelope that starts a chain: a new id, `correlation_id` equal to it, no
    /// causation, the payload's [`Event::EVENT_TYPE`], the current time, version 1.
    ///
    /// ```
    /// # use stream_core::EventEnvelope;
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Heartbeat {}
    /// # impl stream_core::Event for Heartbeat { const EVENT_TYPE: &'static str = "heartbeat"; }
    /// let env = EventEnvelope::new(stream_topics::Broker::new("paper").unwrap(), "clock", Heartbeat {});
    /// assert_eq!(env.event_type, "heartbeat");
    /// assert_eq!(env.source, "clock");
    /// assert_eq!(env.version, 1);
    /// ```
    pub fn new(broker: Broker, source: impl Into<ServiceName>, data: T) -> Self
    where
        T: Event,
    {
        let id = new_event_id();
        EventEnvelope {
            id,
            correlation_id: id,
            causation_id: None,
            broker,
            event_type: T::event_type(),
            source: source.into(),
            timestamp: now(),
            version: ENVELOPE_VERSION,
            data,
        }
    }

    /// A new envelope for an event caused by another: a new id, the cause's `correlation_id`,
    /// and the cause's id as `causation_id`.
    ///
    /// ```
    /// # use stream_core::{EventEnvelope, Lineage};
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Heartbeat {}
    /// # impl stream_core::Event for Heartbeat { const EVENT_TYPE: &'static str = "heartbeat"; }
    /// let cause = Lineage { correlation_id: uuid::Uuid::nil(), causation_id: uuid::Uuid::max() };
    /// let env = EventEnvelope::caused_by(cause, stream_topics::Broker::new("paper").unwrap(), "clock", Heartbeat {});
    /// assert_eq!(env.correlation_id, uuid::Uuid::nil());
    /// assert_eq!(env.causation_id, Some(uuid::Uuid::max()));
    /// assert_ne!(env.id, uuid::Uuid::max());
    /// ```
    pub fn caused_by(
        cause: Lineage,
        broker: Broker,
        source: impl Into<ServiceName>,
        data: T,
    ) -> Self
    where
        T: Event,
    {
        EventEnvelope {
            correlation_id: cause.correlation_id,
            causation_id: Some(cause.causation_id),
            ..Self::new(broker, source, data)
        }
    }

    /// A builder for an envelope of any payload and event type, with every field settable.
    /// `broker` and `source` must be set before [`EnvelopeBuilder::build`]; the rest default as
    /// in [`EventEnvelope::new`].
    ///
    /// ```
    /// use stream_core::EventEnvelope;
    /// use stream_topics::Broker;
    ///
    /// let id = uuid::Uuid::now_v7();
    /// let env = EventEnvelope::builder("margin_call", serde_json::json!({"account": "A1"}))
    ///     .broker(Broker::new("zerodha").unwrap())
    ///     .source("risk-manager")
    ///     .id(id)
    ///     .build();
    /// assert_eq!(env.id, id);
    /// assert_eq!(env.correlation_id, id);
    /// assert_eq!(env.event_type, "margin_call");
    /// ```
    ///
    /// Forgetting the broker is a compile error:
    ///
    /// ```compile_fail
    /// let env = stream_core::EventEnvelope::builder("heartbeat", ()).source("clock").build();
    /// ```
    pub fn builder(event_type: impl Into<EventType>, data: T) -> EnvelopeBuilder<T> {
        EnvelopeBuilder {
            event_type: event_type.into(),
            data,
            broker: NoBroker,
            source: NoSource,
            id: None,
            correlation_id: None,
            causation_id: None,
            timestamp: None,
            version: ENVELOPE_VERSION,
        }
    }

    /// What an event caused by this one inherits: this chain's `correlation_id`, and this
    /// event's `id` as the new `causation_id`.
    ///
    /// ```
    /// # use stream_core::EventEnvelope;
    /// # let env = EventEnvelope::builder("heartbeat", ()).broker(stream_topics::Broker::new("paper").unwrap()).source("clock").build();
    /// let lineage = env.lineage();
    /// assert_eq!(lineage.correlation_id, env.correlation_id);
    /// assert_eq!(lineage.causation_id, env.id);
    /// ```
    pub fn lineage(&self) -> Lineage {
        Lineage {
            correlation_id: self.correlation_id,
            causation_id: self.id,
        }
    }

    /// The same envelope around a payload made from this one's; the metadata is kept as it is.
    ///
    /// ```
    /// # use stream_core::EventEnvelope;
    /// # let env = EventEnvelope::builder("heartbeat", 41).broker(stream_topics::Broker::new("paper").unwrap()).source("clock").build();
    /// let id = env.id;
    /// let next = env.map(|n| n + 1);
    /// assert_eq!((next.id, next.data), (id, 42));
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> EventEnvelope<U> {
        EventEnvelope {
            id: self.id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            broker: self.broker,
            event_type: self.event_type,
            source: self.source,
            timestamp: self.timestamp,
            version: self.version,
            data: f(self.data),
        }
    }

    /// The envelope with its payload borrowed, to encode or inspect it without moving it.
    ///
    /// ```
    /// # use stream_core::EventEnvelope;
    /// # let env = EventEnvelope::builder("heartbeat", String::from("x")).broker(stream_topics::Broker::new("paper").unwrap()).source("clock").build();
    /// let borrowed: EventEnvelope<&String> = env.as_ref();
    /// assert_eq!(borrowed.data, "x");
    /// ```
    pub fn as_ref(&self) -> EventEnvelope<&T> {
        EventEnvelope {
            id: self.id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            broker: self.broker.clone(),
            event_type: self.event_type.clone(),
            source: self.source.clone(),
            timestamp: self.timestamp,
            version: self.version,
            data: &self.data,
        }
    }
}

/// The builder state before [`EnvelopeBuilder::broker`] is called: `build` is not available yet.
///
/// ```
/// use stream_core::envelope::{EnvelopeBuilder, NoBroker, NoSource};
/// let b: EnvelopeBuilder<(), NoBroker, NoSource> = stream_core::EventEnvelope::builder("heartbeat", ());
/// # let _ = b;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NoBroker;

/// The builder state before [`EnvelopeBuilder::source`] is called: `build` is not available yet.
///
/// ```
/// use stream_core::envelope::{EnvelopeBuilder, NoSource};
/// use stream_topics::Broker;
/// let b: EnvelopeBuilder<(), Broker, NoSource> =
///     stream_core::EventEnvelope::builder("heartbeat", ()).broker(Broker::new("paper").unwrap());
/// # let _ = b;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NoSource;

/// Builds an [`EventEnvelope`] field by field; made by [`EventEnvelope::builder`].
///
/// The type parameters `B` and `S` record whether the broker and source are set, so that
/// [`build`](EnvelopeBuilder::build) only compiles once they are; the other fields default as
/// in [`EventEnvelope::new`] (a new id, `correlation_id` = id, no causation, now, version 1).
///
/// ```
/// use stream_core::{EventEnvelope, Lineage};
/// use stream_topics::Broker;
/// use uuid::Uuid;
///
/// let cause = Lineage { correlation_id: Uuid::nil(), causation_id: Uuid::max() };
/// let env = EventEnvelope::builder("order_filled", ())
///     .source("broker-gateway")
///     .broker(Broker::new("paper").unwrap())
///     .lineage(cause)
///     .timestamp("2026-11-26T19:28:45.123456789Z".parse().unwrap())
///     .version(2)
///     .build();
/// assert_eq!(env.causation_id, Some(Uuid::max()));
/// assert_eq!(env.timestamp.to_rfc3339(), "2026-11-26T19:28:45.123456+00:00");
/// assert_eq!(env.version, 2);
/// ```
#[derive(Debug, Clone)]
#[must_use = "an envelope builder does nothing until `.build()`"]
pub struct EnvelopeBuilder<T, B = NoBroker, S = NoSource> {
    event_type: EventType,
    data: T,
    broker: B,
    source: S,
    id: Option<Uuid>,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    timestamp: Option<DateTime<Utc>>,
    version: u32,
}

impl<T, B, S> EnvelopeBuilder<T, B, S> {
    /// Sets the trading-broker namespace (required).
    ///
    /// ```
    /// # let b = stream_core::EventEnvelope::builder("heartbeat", ()).source("clock");
    /// let env = b.broker(stream_topics::Broker::new("zerodha").unwrap()).build();
    /// assert_eq!(env.broker.as_str(), "zerodha");
    /// ```
    pub fn broker(self, broker: Broker) -> EnvelopeBuilder<T, Broker, S> {
        EnvelopeBuilder {
            event_type: self.event_type,
            data: self.data,
            broker,
            source: self.source,
            id: self.id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            timestamp: self.timestamp,
            version: self.version,
        }
    }

    /// Sets the producing service's name (required).
    ///
    /// ```
    /// # let b = stream_core::EventEnvelope::builder("heartbeat", ()).broker(stream_topics::Broker::new("paper").unwrap());
    /// assert_eq!(b.source("clock").build().source, "clock");
    /// ```
    pub fn source(self, source: impl Into<ServiceName>) -> EnvelopeBuilder<T, B, ServiceName> {
        EnvelopeBuilder {
            event_type: self.event_type,
            data: self.data,
            broker: self.broker,
            source: source.into(),
            id: self.id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            timestamp: self.timestamp,
            version: self.version,
        }
    }

    /// Makes the envelope an event caused by `cause`: sets `correlation_id` and `causation_id`.
    ///
    /// ```
    /// # use stream_core::{EventEnvelope, Lineage};
    /// # let cause = Lineage { correlation_id: uuid::Uuid::nil(), causation_id: uuid::Uuid::max() };
    /// let env = EventEnvelope::builder("heartbeat", ()).lineage(cause)
    ///     .broker(stream_topics::Broker::new("paper").unwrap()).source("clock").build();
    /// assert_eq!(env.lineage().correlation_id, uuid::Uuid::nil());
    /// ```
    pub fn lineage(mut self, cause: Lineage) -> Self {
        self.correlation_id = Some(cause.correlation_id);
        self.causation_id = Some(cause.causation_id);
        self
    }

    /// Sets the id (default: a new UUIDv7 from [`new_event_id`]).
    ///
    /// ```
    /// # let b = stream_core::EventEnvelope::builder("heartbeat", ()).broker(stream_topics::Broker::new("paper").unwrap()).source("clock");
    /// assert_eq!(b.id(uuid::Uuid::nil()).build().id, uuid::Uuid::nil());
    /// ```
    pub fn id(mut self, id: Uuid) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the correlation id (default: the envelope's own id).
    ///
    /// ```
    /// # let b = stream_core::EventEnvelope::builder("heartbeat", ()).broker(stream_topics::Broker::new("paper").unwrap()).source("clock");
    /// assert_eq!(b.correlation_id(uuid::Uuid::nil()).build().correlation_id, uuid::Uuid::nil());
    /// ```
    pub fn correlation_id(mut self, correlation_id: Uuid) -> Self {
        self.correlation_id = Some(correlation_id);
        self
    }

    /// Sets the causation id (default: none).
    ///
    /// ```
    /// # let b = stream_core::EventEnvelope::builder("heartbeat", ()).broker(stream_topics::Broker::new("paper").unwrap()).source("clock");
    /// assert_eq!(b.causation_id(uuid::Uuid::nil()).build().causation_id, Some(uuid::Uuid::nil()));
    /// ```
    pub fn causation_id(mut self, causation_id: impl Into<Option<Uuid>>) -> Self {
        self.causation_id = causation_id.into();
        self
    }

    /// Sets the timestamp, truncated to microseconds (default: now).
    ///
    /// ```
    /// # let b = stream_core::EventEnvelope::builder("heartbeat", ()).broker(stream_topics::Broker::new("paper").unwrap()).source("clock");
    /// let env = b.timestamp(chrono::DateTime::UNIX_EPOCH).build();
    /// assert_eq!(env.timestamp.timestamp(), 0);
    /// ```
    pub fn timestamp(mut self, timestamp: DateTime<Utc>) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Sets the envelope schema version (default: [`ENVELOPE_VERSION`]).
    ///
    /// ```
    /// # let b = stream_core::EventEnvelope::builder("heartbeat", ()).broker(stream_topics::Broker::new("paper").unwrap()).source("clock");
    /// assert_eq!(b.version(2).build().version, 2);
    /// ```
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }
}

impl<T> EnvelopeBuilder<T, Broker, ServiceName> {
    /// The envelope. Compiles once `broker` and `source` are set.
    ///
    /// ```
    /// # let b = stream_core::EventEnvelope::builder("heartbeat", ()).broker(stream_topics::Broker::new("paper").unwrap()).source("clock");
    /// let env = b.build();
    /// assert_eq!(env.id.get_version_num(), 7);
    /// ```
    pub fn build(self) -> EventEnvelope<T> {
        let id = self.id.unwrap_or_else(new_event_id);
        EventEnvelope {
            id,
            correlation_id: self.correlation_id.unwrap_or(id),
            causation_id: self.causation_id,
            broker: self.broker,
            event_type: self.event_type,
            source: self.source,
            timestamp: self.timestamp.map_or_else(now, |t| t.trunc_subsecs(6)),
            version: self.version,
            data: self.data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper() -> Broker {
        Broker::new("paper").unwrap()
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ping {
        n: u32,
    }
    impl Event for Ping {
        const EVENT_TYPE: &'static str = "ping";
    }

    #[test]
    fn new_starts_a_chain() {
        let env = EventEnvelope::new(paper(), "svc", Ping { n: 1 });
        assert_eq!(env.correlation_id, env.id);
        assert_eq!(env.causation_id, None);
        assert_eq!(env.event_type, EventType::Custom("ping".into()));
        assert_eq!(env.version, 1);
        assert_eq!(env.timestamp.timestamp_subsec_nanos() % 1_000, 0);
    }

    #[test]
    fn a_chain_of_three_shares_its_correlation_id() {
        let a = EventEnvelope::new(paper(), "a", Ping { n: 1 });
        let b = EventEnvelope::caused_by(a.lineage(), paper(), "b", Ping { n: 2 });
        let c = EventEnvelope::caused_by(b.lineage(), paper(), "c", Ping { n: 3 });
        assert_eq!(c.correlation_id, a.id);
        assert_eq!(b.causation_id, Some(a.id));
        assert_eq!(c.causation_id, Some(b.id));
        assert!(a.id < b.id && b.id < c.id);
    }

    #[test]
    fn builder_defaults_match_new() {
        let env = EventEnvelope::builder("ping", Ping { n: 1 })
            .broker(paper())
            .source("svc")
            .build();
        assert_eq!(env.correlation_id, env.id);
        assert_eq!(env.causation_id, None);
        assert_eq!(env.version, ENVELOPE_VERSION);
    }

    #[test]
    fn builder_correlation_id_after_lineage_wins() {
        let cause = Lineage {
            correlation_id: Uuid::nil(),
            causation_id: Uuid::max(),
        };
        let env = EventEnvelope::builder("ping", ())
            .lineage(cause)
            .correlation_id(Uuid::from_u128(7))
            .causation_id(None)
            .broker(paper())
            .source("svc")
            .build();
        assert_eq!(env.correlation_id, Uuid::from_u128(7));
        assert_eq!(env.causation_id, None);
    }
}
