//! The JSON wire format of envelopes: [`encode`](fn@encode), [`decode`](fn@decode), [`RawEnvelope`] for the dispatch
//! path, and [`CodecError`], which says which field failed and why.
//!
//! This module is the contract with every other service, Python ones included; the full text is
//! `docs/wire-format.md`, and `docs/envelope.schema.json` is its JSON Schema. [`decode`](fn@decode) reads the
//! metadata with a reader of its own (`codec/scan.rs`) and hands only the payload to serde_json;
//! the derived `Deserialize` of [`EventEnvelope`](crate::envelope::EventEnvelope) remains the authority for anything that reader
//! does not take, and for every error. The rules:
//!
//! - **Field order** on write is `id, correlation_id, causation_id, broker, event_type, source,
//!   timestamp, version, data`; `causation_id` is written as `null` when there is none.
//! - **Unknown fields are ignored** on read, so older services read newer envelopes. A missing
//!   `causation_id` reads as none, a missing `version` as 1.
//! - **Timestamps** are written RFC 3339 in UTC with `Z` and exactly six fraction digits
//!   (`2026-11-26T19:28:45.123456Z`). They are read with `Z`, with any offset (converted to UTC),
//!   or with none (a naive time, as Python's `datetime.isoformat()` writes it, is UTC), with zero
//!   to nine fraction digits; the envelope keeps microseconds. See [`timestamp`](crate::envelope::timestamp).
//! - **Decimals** (`rust_decimal::Decimal` fields in payloads) are written as JSON strings
//!   (`"2450.55"`) and read from strings or numbers with no `f64` step in between: a plain
//!   `Decimal` field needs no attribute. This holds because the workspace enables
//!   `rust_decimal/serde-with-arbitrary-precision` (and with it `serde_json/arbitrary_precision`).
//!   That feature has one known cost, documented in `docs/wire-format.md`: an `f64` field inside a
//!   `#[serde(flatten)]`, internally or adjacently tagged, or untagged type cannot read a JSON
//!   number with a fraction (serde-rs/json#721, #1046, #1108); use `Decimal` there.
//!
//! ```
//! use rust_decimal::Decimal;
//! use serde::{Deserialize, Serialize};
//! use stream_core::{envelope::codec, Event, EventEnvelope};
//! use stream_topics::Broker;
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize, stream_macros::Event)]
//! # #[event(crate = "stream_core")]
//! struct TradingSignal { symbol: String, price: Decimal }
//!
//! let env = EventEnvelope::new(
//!     Broker::new("paper")?,
//!     "strategy-runner",
//!     TradingSignal { symbol: "RELIANCE".into(), price: "2450.55".parse()? },
//! );
//! let bytes = codec::encode(&env)?;
//! assert!(std::str::from_utf8(&bytes)?.ends_with(r#""data":{"symbol":"RELIANCE","price":"2450.55"}}"#));
//! assert_eq!(codec::decode::<TradingSignal>(&bytes)?, env);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod error;
mod hex;
pub(crate) mod raw;
mod scan;

pub use decode::{decode, is_envelope};
pub use encode::{encode, encode_into};
pub use error::CodecError;
pub use raw::RawEnvelope;
