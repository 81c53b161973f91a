//! The reliability layer: what makes "nothing lost, nothing done twice" hold.
//!
//! - [`retry`]: how retryable handler errors are retried in place (backoff with jitter, bounded).
//! - [`dlq`]: dead-letter topics for what cannot be handled, with the reason in headers.
//! - [`dedup`]: the `DedupStore` that makes at-least-once delivery effectively-once for handlers.
//! - [`contract`]: the checks an envelope passes before its handler runs (event type, broker).
//!
//! The consumer ([`crate::consumer`]) drives all three for every message.

pub mod contract;
pub mod dedup;
pub mod dlq;
pub mod retry;
