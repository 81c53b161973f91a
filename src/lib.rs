//! streamkit: typed, reliable, observable Kafka stream services.
//!
//! This facade re-exports the runtime ([`stream_core`]) and the macros ([`stream_macros`]).

pub use stream_core::*;
pub use stream_macros::*;

/// The items almost every service uses.
pub mod prelude {
    pub use stream_core::{Error, Result};
}
