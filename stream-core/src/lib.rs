#![warn(missing_docs)]
//! The runtime of streamkit.
//!
//! Everything a stream service does at run time lives here, usable by hand without the macros:
//! the [`EventEnvelope`] and its JSON wire format ([`codec`]), topics and
//! trading-broker namespaces ([`topic`]), the idempotent [`MessageProducer`](producer::MessageProducer),
//! configuration ([`config`]), and [`dev_cluster`], the zero-setup cluster of the examples. The `stream-macros` crate expands into calls of this crate only.

pub mod codec;
pub mod config;
pub mod consumer;
pub mod dev_cluster;
pub mod envelope;
pub mod error;
pub mod event;
pub mod extract;
pub mod handler;
pub mod health;
pub mod id;
pub mod offsets;
pub mod producer;
pub mod record;
pub mod registry;
pub mod reliability;
pub mod runtime;
pub mod service;
pub mod service_name;
pub mod topic;

#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "testing")]
pub mod testkit;

pub use envelope::{EventEnvelope, Lineage};
pub use error::{Error, Result};
pub use event::{Event, EventType};
pub use service_name::ServiceName;
pub use topic::{Broker, Topic, TopicPattern};

/// Re-exports for generated code. Not public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::HANDLERS;
    pub use linkme;

    /// String equality usable in constants (the macros' event-type assertions).
    pub const fn str_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    pub use serde;
    pub use serde_json;
    pub use tokio;
}
