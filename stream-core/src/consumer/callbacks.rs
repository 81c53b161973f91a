//! librdkafka's callbacks into the consumer: its log (where refused background commits show),
//! and rebalances (revoked partitions are released, assigned ones resumed).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};

use crate::consumer::partition::PartitionKey;
use crate::consumer::state::ConsumerState;
use crate::consumer::stats::ConsumerStats;

pub(super) struct ClientCallbacks {
    pub(super) state: Arc<ConsumerState>,
}

impl ClientContext for ClientCallbacks {
    /// librdkafka's log, into `tracing` (target `librdkafka`). A background commit's result comes
    /// only this way (librdkafka reports an asynchronous commit that no callback took as a
    /// `COMMITFAIL` line): it is counted, and the next commit sends every committable offset
    /// again, changed or not.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        use RDKafkaLogLevel as L;
        if fac == "COMMITFAIL" {
            ConsumerStats::bump(&self.state.stats.commit_failures);
            self.state.recommit.store(true, Ordering::Relaxed);
            tracing::warn!(target: "librdkafka", group = %self.state.group, "offset commit failed; the offsets are committed again with the next commit: {log_message}");
            return;
        }
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                tracing::error!(target: "librdkafka", "{fac} {log_message}")
            }
            L::Warning => tracing::warn!(target: "librdkafka", "{fac} {log_message}"),
            L::Notice | L::Info => tracing::info!(target: "librdkafka", "{fac} {log_message}"),
            L::Debug => tracing::debug!(target: "librdkafka", "{fac} {log_message}"),
        }
    }
}

impl ConsumerContext for ClientCallbacks {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let keys: Vec<PartitionKey> = tpl
                .elements()
                .iter()
                .map(|e| (Arc::<str>::from(e.topic()), e.partition()))
                .collect();
            tracing::info!(group = %self.state.group, revoked = keys.len(), "partitions revoked");
            self.state.release_partitions(consumer, &keys);
            self.state
                .stats
                .assigned_partitions
                .fetch_sub(keys.len() as u64, Ordering::Relaxed);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            // A partition paused for backpressure, revoked, and assigned again would otherwise
            // stay paused: librdkafka keeps the application's pause across a revoke, and its
            // state here was dropped with the revoke.
            if let Err(error) = consumer.resume(tpl) {
                tracing::warn!(group = %self.state.group, %error, "could not resume assigned partitions");
            }
            tracing::info!(group = %self.state.group, assigned = tpl.count(), "partitions assigned");
            ConsumerStats::bump(&self.state.stats.rebalances);
            self.state
                .stats
                .assigned_partitions
                .fetch_add(tpl.count() as u64, Ordering::Relaxed);
        }
    }
}
