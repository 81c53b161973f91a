//! What an event is: the [`Event`] trait a payload type implements, and [`EventType`], the name
//! every envelope carries in its `event_type` field.
//!
//! The trait ties a Rust payload type to one event type name, so the runtime can fill in an
//! envelope's `event_type` from the type alone and the macros can check at compile time that a
//! handler's payload type matches what its topic carries. Derive it with `#[derive(Event)]`.
//! [`EventType`] names the event types of the trading pipeline as variants and keeps any other
//! name as [`EventType::Custom`], so a service reads event types it does not know.

use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A payload type that travels in an [`EventEnvelope`](crate::EventEnvelope): serializable,
/// owned, and named by one event type.
///
/// Derive it (the name defaults to the type's name in snake_case):
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use stream_core::Event;
///
/// #[derive(Serialize, Deserialize, stream_macros::Event)]
/// # #[event(crate = "stream_core")]
/// struct TradingSignal {
///     symbol: String,
/// }
/// assert_eq!(TradingSignal::EVENT_TYPE, "trading_signal");
///
/// #[derive(Serialize, Deserialize, stream_macros::Event)]
/// #[event(type = "order_placed")]
/// # #[event(crate = "stream_core")]
/// struct NewOrder {
///     symbol: String,
/// }
/// assert_eq!(NewOrder::EVENT_TYPE, "order_placed");
/// ```
///
/// or implement it by hand:
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Heartbeat {}
/// impl stream_core::Event for Heartbeat {
///     const EVENT_TYPE: &'static str = "heartbeat";
/// }
/// ```
///
/// A generic type cannot derive it: an event type names one concrete payload.
///
/// ```compile_fail
/// #[derive(serde::Serialize, serde::Deserialize, stream_macros::Event)]
/// #[event(crate = "stream_core")]
/// struct Wrapper<T> { inner: T }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an Event",
    label = "not an Event",
    note = "add `#[derive(Event)]` to `{Self}` (and `#[event(type = \"...\")]` to name its event type), or implement `Event` for it by hand"
)]
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The `event_type` written on every envelope of this payload, such as `"trading_signal"`.
    ///
    /// ```
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct PnlSnapshot {}
    /// impl stream_core::Event for PnlSnapshot {
    ///     const EVENT_TYPE: &'static str = "pnl_snapshot";
    /// }
    /// ```
    const EVENT_TYPE: &'static str;

    /// Other event types this payload type reads, besides [`Self::EVENT_TYPE`]: for a payload
    /// that decodes several events (an enum, untagged), so that handlers taking it are sent
    /// those envelopes too instead of having them dead-lettered as contract breaks (see
    /// [`reliability::contract`](crate::reliability::contract)). None by default.
    ///
    /// ```
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// #[serde(untagged)]
    /// enum MarketEvent {
    ///     Tick { symbol: String, price: rust_decimal::Decimal },
    ///     Halt { symbol: String, reason: String },
    /// }
    /// impl stream_core::Event for MarketEvent {
    ///     const EVENT_TYPE: &'static str = "market_tick";
    ///     const ACCEPTS: &'static [&'static str] = &["trading_halt"];
    /// }
    /// ```
    const ACCEPTS: &'static [&'static str] = &[];

    /// [`Self::EVENT_TYPE`] as an [`EventType`].
    ///
    /// ```
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Heartbeat {}
    /// # impl stream_core::Event for Heartbeat { const EVENT_TYPE: &'static str = "heartbeat"; }
    /// use stream_core::{Event, EventType};
    /// assert_eq!(Heartbeat::event_type(), EventType::Heartbeat);
    /// ```
    fn event_type() -> EventType {
        EventType::from(Self::EVENT_TYPE)
    }
}

macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The name of an event's type, as written in an envelope's `event_type` field.
        ///
        /// The event types of the trading pipeline are variants; any other name is kept as
        /// [`EventType::Custom`]. Converting a string never fails, and a known name always becomes
        /// its variant, so comparing with a string or another `EventType` compares the names.
        /// On the wire it is the plain string.
        ///
        /// ```
        /// use stream_core::EventType;
        ///
        /// let t = EventType::from("order_filled");
        /// assert_eq!(t, EventType::OrderFilled);
        /// assert_eq!(t, "order_filled");
        /// assert_eq!(t.to_string(), "order_filled");
        ///
        /// let custom = EventType::from(String::from("margin_call"));
        /// assert_eq!(custom, EventType::Custom("margin_call".into()));
        /// assert_eq!(serde_json::to_string(&custom).unwrap(), r#""margin_call""#);
        /// ```
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum EventType {
            $($(#[$doc])* $variant,)*
            /// Any other event type, by name.
            Custom(String),
            /// Any other event type, by a name that lives for the whole program (an
            /// [`Event::EVENT_TYPE`]): made per publish without an allocation. Equal to the
            /// `Custom` of the same name.
            Static(&'static str),
            /// Any other event type, by a shared name: what the decoder makes of a name it
            /// read on the record before, cloned per record without an allocation. Equal to
            /// the `Custom` of the same name.
            Shared(std::sync::Arc<str>),
        }

        impl EventType {
            /// The names of the known event types, in declaration order.
            ///
            /// ```
            /// assert!(stream_core::EventType::KNOWN.contains(&"trading_signal"));
            /// ```
            pub const KNOWN: &'static [&'static str] = &[$($name,)*];

            /// The name as written on the wire.
            ///
            /// ```
            /// use stream_core::EventType;
            /// assert_eq!(EventType::PnlSnapshot.as_str(), "pnl_snapshot");
            /// assert_eq!(EventType::from("margin_call").as_str(), "margin_call");
            /// ```
            pub fn as_str(&self) -> &str {
                match self {
                    $(EventType::$variant => $name,)*
                    EventType::Custom(name) => name,
                    EventType::Static(name) => name,
                    EventType::Shared(name) => name,
                }
            }

            /// The known variant of `name`, if it names one.
            fn known(name: &str) -> Option<EventType> {
                match name {
                    $($name => Some(EventType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    /// A market data tick (`market_tick`).
    MarketTick => "market_tick",
    /// A strategy's raw trading signal (`trading_signal`).
    TradingSignal => "trading_signal",
    /// A signal that passed risk checks (`validated_signal`).
    ValidatedSignal => "validated_signal",
    /// A signal that failed risk checks (`rejected_signal`).
    RejectedSignal => "rejected_signal",
    /// An order sent to the broker (`order_placed`).
    OrderPlaced => "order_placed",
    /// An order (partly) filled (`order_filled`).
    OrderFilled => "order_filled",
    /// An order the broker refused or that failed (`order_failed`).
    OrderFailed => "order_failed",
    /// An order cancelled (`order_cancelled`).
    OrderCancelled => "order_cancelled",
    /// A profit-and-loss snapshot (`pnl_snapshot`).
    PnlSnapshot => "pnl_snapshot",
    /// A service reporting an error (`system_error`).
    SystemError => "system_error",
    /// A liveness signal (`heartbeat`).
    Heartbeat => "heartbeat",
}

impl EventType {
    /// Whether this is one of the known variants rather than [`EventType::Custom`].
    ///
    /// ```
    /// use stream_core::EventType;
    /// assert!(EventType::from("heartbeat").is_known());
    /// assert!(!EventType::from("margin_call").is_known());
    /// ```
    pub fn is_known(&self) -> bool {
        !matches!(
            self,
            EventType::Custom(_) | EventType::Static(_) | EventType::Shared(_)
        )
    }

    /// The same event type, cheap to clone: a custom name becomes [`EventType::Shared`].
    ///
    /// ```
    /// use stream_core::EventType;
    /// let shared = EventType::from("margin_call").into_shared();
    /// assert!(matches!(shared, EventType::Shared(_)));
    /// assert_eq!(shared, EventType::from("margin_call"));
    /// ```
    pub fn into_shared(self) -> Self {
        match self {
            EventType::Custom(name) => EventType::Shared(name.into()),
            other => other,
        }
    }

    /// The event type named `name`, without copying the name.
    ///
    /// ```
    /// use stream_core::EventType;
    /// assert_eq!(EventType::of_static("margin_call"), EventType::from("margin_call"));
    /// assert_eq!(EventType::of_static("heartbeat"), EventType::Heartbeat);
    /// ```
    pub fn of_static(name: &'static str) -> Self {
        EventType::known(name).unwrap_or(EventType::Static(name))
    }
}

impl From<&str> for EventType {
    fn from(name: &str) -> Self {
        EventType::known(name).unwrap_or_else(|| EventType::Custom(name.to_owned()))
    }
}

impl From<String> for EventType {
    fn from(name: String) -> Self {
        EventType::known(&name).unwrap_or(EventType::Custom(name))
    }
}

impl From<&String> for EventType {
    fn from(name: &String) -> Self {
        EventType::from(name.as_str())
    }
}

impl From<Cow<'_, str>> for EventType {
    fn from(name: Cow<'_, str>) -> Self {
        match name {
            Cow::Borrowed(s) => EventType::from(s),
            Cow::Owned(s) => EventType::from(s),
        }
    }
}

impl From<&EventType> for EventType {
    fn from(t: &EventType) -> Self {
        t.clone()
    }
}

impl std::str::FromStr for EventType {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(EventType::from(s))
    }
}

impl AsRef<str> for EventType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// Equality and hashing go by name, so `Custom("heartbeat")` built by hand equals `Heartbeat`.
impl PartialEq for EventType {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for EventType {}

impl std::hash::Hash for EventType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for EventType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for EventType {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<EventType> for &str {
    fn eq(&self, other: &EventType) -> bool {
        *self == other.as_str()
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = EventType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event type name such as \"trading_signal\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EventType, E> {
                Ok(EventType::from(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<EventType, E> {
                Ok(EventType::from(v))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_maps_to_its_variant_and_back() {
        for name in EventType::KNOWN {
            let t = EventType::from(*name);
            assert!(t.is_known(), "{name}");
            assert_eq!(t.as_str(), *name);
            assert_eq!(EventType::from(name.to_string()), t);
        }
        assert_eq!(EventType::KNOWN.len(), 11);
    }

    #[test]
    fn custom_equals_known_by_name() {
        assert_eq!(EventType::Custom("heartbeat".into()), EventType::Heartbeat);
        let mut set = std::collections::HashSet::new();
        set.insert(EventType::Heartbeat);
        assert!(set.contains(&EventType::Custom("heartbeat".into())));
    }

    #[test]
    fn serde_is_the_plain_string() {
        let t: EventType = serde_json::from_str(r#""order_cancelled""#).unwrap();
        assert_eq!(t, EventType::OrderCancelled);
        let t: EventType = serde_json::from_str(r#""x\u0041""#).unwrap();
        assert_eq!(t, EventType::Custom("xA".into()));
        assert_eq!(
            serde_json::to_string(&EventType::MarketTick).unwrap(),
            r#""market_tick""#
        );
        assert!(serde_json::from_str::<EventType>("1").is_err());
    }
}
