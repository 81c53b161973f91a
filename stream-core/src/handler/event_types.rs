//! [`EventTypes`]: the event types a handler reads, checked against every envelope before the
//! handler runs ([`reliability::contract`](crate::reliability::contract)).

use std::borrow::Cow;
use std::fmt;

use crate::handler::extract::Requirement;

/// The event types a handler reads.
///
/// ```
/// use stream_core::handler::EventTypes;
/// let types = EventTypes::only(["trading_signal"]).and(&EventTypes::only(["market_tick"]));
/// assert!(types.allows("market_tick"));
/// assert!(!types.allows("order_filled"));
/// assert_eq!(types.to_string(), "`trading_signal` or `market_tick`");
/// assert!(EventTypes::ANY.allows("order_filled"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTypes {
    /// Every event type.
    Any,
    /// These event types only.
    Only(Vec<Cow<'static, str>>),
}

impl EventTypes {
    /// Every event type.
    pub const ANY: EventTypes = EventTypes::Any;

    /// Only `names`.
    pub fn only<N: Into<Cow<'static, str>>>(names: impl IntoIterator<Item = N>) -> Self {
        Self::Only(names.into_iter().map(Into::into).collect())
    }

    /// The event types a handler with these requirements reads: those its payload extractors
    /// name, or every type when none names one.
    pub fn of(requirements: &[Requirement]) -> Self {
        let names: Vec<Cow<'static, str>> = requirements
            .iter()
            .filter_map(|r| match r {
                Requirement::EventType(name) => Some(Cow::Borrowed(*name)),
                _ => None,
            })
            .collect();
        if names.is_empty() {
            Self::Any
        } else {
            Self::Only(names)
        }
    }

    /// The types of `self` and of `other`.
    #[must_use]
    pub fn and(&self, other: &EventTypes) -> EventTypes {
        match (self, other) {
            (Self::Only(a), Self::Only(b)) => {
                let mut all = a.clone();
                all.extend(b.iter().filter(|n| !a.contains(n)).cloned());
                Self::Only(all)
            }
            _ => Self::Any,
        }
    }

    /// Whether `event_type` is one of them.
    pub fn allows(&self, event_type: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(names) => names.iter().any(|n| n == event_type),
        }
    }
}

impl fmt::Display for EventTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any event type"),
            Self::Only(names) => {
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "`{n}`")?;
                }
                Ok(())
            }
        }
    }
}
