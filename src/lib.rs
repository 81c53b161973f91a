//! streamkit: typed, reliable, observable Kafka stream services.
//!
//! Write a handler as an `async fn` whose arguments are extractors, register it with
//! `#[stream_handler]`, and run the binary with `#[stream_service]`:
//!
//! ```no_run
//! use streamkit::prelude::*;
//!
//! #[derive(serde::Serialize, serde::Deserialize, Event)]
//! struct TradingSignal { symbol: String, quantity: rust_decimal::Decimal }
//!
//! #[stream_handler(topics = "*.signals.raw", group = "risk-manager.signals")]
//! async fn validate(signal: Envelope<TradingSignal>, ctx: Context) -> Result<(), HandlerError> {
//!     println!("{} on {}", signal.data.symbol, ctx.broker());
//!     Ok(())
//! }
//!
//! #[stream_service(name = "risk-manager")]
//! async fn main() -> streamkit::Result<()> { Ok(()) }
//! ```
//!
//! This facade re-exports the runtime (`stream-core`: envelopes, producer, consumer, reliability,
//! service) and the macros (`stream-macros`). Everything the macros do is available by hand: see
//! [`service::StreamServiceBuilder`]. The guide is `docs/guide.md`.

pub use stream_core::*;
pub use stream_macros::{Event, stream_handler, stream_service, topics};

pub use stream_core::service::runtime::Setup;

/// The items almost every service uses.
pub mod prelude {
    pub use stream_core::handler::extract::{Context, Data, Envelope, Headers, Key, State};
    pub use stream_core::handler::{Batch, BatchResult, HandlerError};
    pub use stream_core::service::runtime::Setup;
    pub use stream_core::{Broker, Error, Event, EventEnvelope, Result};
    pub use stream_macros::{Event, stream_handler, stream_service};
}
