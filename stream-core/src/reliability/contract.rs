//! The contract checks an envelope passes before its handler runs.
//!
//! A topic carries one event type for one trading broker (`paper.signals.raw`: `trading_signal`
//! envelopes of the `paper` broker). An envelope that says otherwise was written by a producer
//! with a bug, and handling it anyway would be wrong silently: a `market_tick` whose `data`
//! happens to decode as a `TradingSignal` would be traded on, a `zerodha` signal on a `paper`
//! topic counted as paper. So the consumer checks, right after decoding the envelope:
//!
//! - its `event_type` is one the handler reads ([`EventTypes`]: those of its `Envelope<T>` and
//!   `Data<T>` extractors, `T::EVENT_TYPE` and `T::ACCEPTS`, plus any it accepts explicitly with
//!   `HandlerSpec::accept` or `#[stream_handler(accept = [...])]`); a handler without a typed
//!   payload (`Envelope<serde_json::Value>`, a closure over [`Incoming`](crate::handler::Incoming))
//!   reads every type;
//! - its `broker` is the broker of the topic it was read from.
//!
//! An envelope that fails either is dead-lettered at once with `dlq.error_kind = contract` and a
//! reason naming both values; the handler never sees it.

use std::fmt;

use crate::envelope::codec::raw::RawEnvelope;
pub use crate::handler::event_types::EventTypes;
use crate::kafka::record::RecordMeta;

/// How an envelope breaks its topic's contract; its text is the dead letter's `dlq.error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The envelope's `event_type` is not one the handler reads.
    EventType {
        /// The envelope's event type.
        found: String,
        /// What the handler reads.
        expected: EventTypes,
    },
    /// The envelope's `broker` is not the broker of its topic.
    Broker {
        /// The envelope's broker.
        found: String,
        /// The topic it was read from.
        topic: String,
        /// That topic's broker.
        expected: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventType { found, expected } => write!(
                f,
                "event type `{found}` is not what this handler reads ({expected}); accept it \
                 explicitly (`accept = [\"{found}\"]`) if the handler is meant to read it"
            ),
            Self::Broker {
                found,
                topic,
                expected,
            } => write!(
                f,
                "envelope broker `{found}` is not `{expected}`, the broker of topic `{topic}`"
            ),
        }
    }
}

impl std::error::Error for Violation {}

/// Checks `envelope`, read from `record`, against its topic's broker and the event types its
/// handler reads there (`expected`: [`MessageHandler::event_types`](crate::handler::MessageHandler::event_types)).
pub fn check(
    envelope: &RawEnvelope,
    record: &RecordMeta,
    expected: &EventTypes,
) -> Result<(), Violation> {
    if envelope.broker.as_str() != record.broker.as_str() {
        return Err(Violation::Broker {
            found: envelope.broker.as_str().to_owned(),
            topic: record.topic.to_string(),
            expected: record.broker.as_str().to_owned(),
        });
    }
    let found = envelope.event_type.as_str();
    if !expected.allows(found) {
        return Err(Violation::EventType {
            found: found.to_owned(),
            expected: expected.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::extract::Requirement;

    #[test]
    fn requirements_without_a_payload_type_read_every_type() {
        assert_eq!(EventTypes::of(&[Requirement::Producer]), EventTypes::Any);
        let typed = EventTypes::of(&[
            Requirement::Producer,
            Requirement::EventType("trading_signal"),
        ]);
        assert!(typed.allows("trading_signal"));
        assert!(!typed.allows("market_tick"));
        assert_eq!(typed.and(&EventTypes::Any), EventTypes::Any);
    }

    #[test]
    fn violations_name_both_values() {
        let v = Violation::EventType {
            found: "market_tick".into(),
            expected: EventTypes::only(["trading_signal"]),
        };
        let text = v.to_string();
        assert!(
            text.contains("`market_tick`") && text.contains("`trading_signal`"),
            "{text}"
        );
        let v = Violation::Broker {
            found: "zerodha".into(),
            topic: "paper.signals.raw".into(),
            expected: "paper".into(),
        };
        assert_eq!(
            v.to_string(),
            "envelope broker `zerodha` is not `paper`, the broker of topic `paper.signals.raw`"
        );
    }
}
