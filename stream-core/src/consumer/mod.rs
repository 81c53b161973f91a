//! [`MessageConsumer`]: subscription, fetch, per-partition dispatch, commits.
//!
//! A message's way through this folder, file by file:
//!
//! 1. `poll.rs`: one dedicated thread polls librdkafka (so rebalance callbacks, `callbacks.rs`,
//!    can block safely) and hands each record to `dispatch.rs`, which queues it to its
//!    partition's worker, in order. A worker that falls behind gets its partition paused instead
//!    of stalling the others (`partition.rs` holds what the poll thread keeps per partition).
//! 2. `worker.rs`: one tokio task per partition takes its records one by one through
//!    `message.rs`, one message's life: decode and check the envelope (undecodable: straight to
//!    the dead-letter topic), claim its event id in the [`DedupStore`] (`claim.rs`; a done id is
//!    skipped and counted), call the handler, retry retryable errors in place per the
//!    [`RetryPolicy`], and dead-letter what still fails (`dead_letter.rs`). A panic in a handler
//!    is caught and treated as an error. A handler that publishes with
//!    [`Context::publish`](crate::handler::extract::Context::publish) does not wait for the
//!    broker: the worker awaits those deliveries, in order, alongside the next messages
//!    (`settle.rs`), and the message is finished once they are acknowledged, or dead-lettered
//!    if one fails. With `concurrency` above 1, `concurrent.rs` runs up to that many of the
//!    partition's records at once instead, in the order `key_order.rs` keeps (per key, or none),
//!    never two deliveries of one event id at once (`running.rs`); with a batch handler,
//!    `batch.rs` hands it the partition's records in batches.
//! 3. `offsets.rs`: an offset is committable only when it and everything before it in its
//!    partition is finished. `commit.rs` commits in the background once `commit_every` messages
//!    have finished or `commit_interval` has passed, whichever comes first; `state.rs` commits
//!    synchronously when partitions are revoked and at shutdown. What a crash replays is bounded
//!    by those two settings.
//!
//! `enable.auto.commit` is always off. Delivery is at-least-once; with dedup on, handlers run
//! effectively once.
//!
//! [`DedupStore`]: crate::reliability::dedup::DedupStore
//! [`RetryPolicy`]: crate::reliability::retry::RetryPolicy

mod batch;
mod callbacks;
mod claim;
mod commit;
mod commit_trigger;
mod concurrent;
mod dead_letter;
mod dispatch;
mod key_order;
mod message;
mod message_consumer;
mod observe;
pub mod offsets;
mod options;
mod order;
mod partition;
mod pipeline;
mod poll;
pub mod rebalance_hooks;
mod running;
mod settle;
mod shutdown;
mod state;
mod stats;
#[cfg(test)]
mod tests;
mod transaction;
mod worker;

pub use message_consumer::MessageConsumer;
pub use options::{BatchOptions, ConsumerOptions, DEFAULT_COMMIT_EVERY};
pub use order::Order;
pub use rebalance_hooks::{HookResult, RebalanceHooks, TopicPartition};
pub use shutdown::ShutdownHandle;
pub use stats::{ConsumerReport, ConsumerStats, StatsSnapshot, now_ms};
pub use worker::MESSAGE_SPAN_TARGET;
