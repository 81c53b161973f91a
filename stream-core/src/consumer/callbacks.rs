//! librdkafka's callbacks into the consumer: its log and errors (each failure once, see
//! [`ClientLog`](crate::kafka::client_log::ClientLog)), its statistics (consumer lag per
//! partition), and rebalances (revoked partitions are released, assigned ones resumed, the
//! service's [`RebalanceHooks`] called in order with both).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, TopicPartitionList};

use crate::consumer::partition::PartitionKey;
use crate::consumer::rebalance_hooks::{RebalanceHooks, TopicPartition};
use crate::consumer::state::ConsumerState;
use crate::consumer::stats::ConsumerStats;
use crate::metrics::families::families;

pub(super) struct ClientCallbacks {
    pub(super) state: Arc<ConsumerState>,
    pub(super) hooks: RebalanceHooks,
    /// The group, as the metrics label it.
    pub(super) group: Arc<str>,
    /// When the rebalance under way started (its first callback).
    pub(super) rebalance_started: Mutex<Option<Instant>>,
}

impl ClientCallbacks {
    pub(super) fn new(state: Arc<ConsumerState>, hooks: RebalanceHooks) -> Self {
        let group = Arc::from(state.group.as_str());
        Self {
            state,
            hooks,
            group,
            rebalance_started: Mutex::new(None),
        }
    }
}

impl ClientContext for ClientCallbacks {
    /// librdkafka's log, into `tracing` (target `librdkafka`). A background commit's result comes
    /// only this way (librdkafka reports an asynchronous commit that no callback took as a
    /// `COMMITFAIL` line): it is counted, and the next commit sends every committable offset
    /// again, changed or not.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if fac == "COMMITFAIL" {
            ConsumerStats::bump(&self.state.stats.commit_failures);
            self.state.recommit.store(true, Ordering::Relaxed);
            self.state.log.commit_failed(log_message);
            return;
        }
        self.state.log.line(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.state.log.error(&error, reason);
    }

    /// Every `statistics.interval.ms`: the lag of each assigned partition, and whether a broker
    /// is up.
    fn stats(&self, statistics: Statistics) {
        self.state.log.statistics(&statistics);
        let lag = &families().consumer_lag;
        for (name, topic) in &statistics.topics {
            let topic_label: Arc<str> = Arc::from(name.as_str());
            for (partition, p) in &topic.partitions {
                if *partition < 0 || p.consumer_lag < 0 {
                    continue;
                }
                let labels = (
                    [
                        ("group", Arc::clone(&self.group)),
                        ("topic", Arc::clone(&topic_label)),
                    ],
                    [("partition", *partition)],
                );
                lag.get_or_create(&labels).set(p.consumer_lag);
                #[cfg(feature = "otel")]
                crate::metrics::otlp::with(|i| {
                    let attributes = [
                        crate::metrics::otlp::label("group", &self.group),
                        crate::metrics::otlp::label("topic", &topic_label),
                        opentelemetry::KeyValue::new("partition", i64::from(*partition)),
                    ];
                    i.consumer_lag.record(p.consumer_lag, &attributes);
                });
            }
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition {
            topic: e.topic().to_owned(),
            partition: e.partition(),
        })
        .collect()
}

impl ConsumerContext for ClientCallbacks {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.rebalance_started
            .lock()
            .expect("rebalance start")
            .get_or_insert_with(Instant::now);
        if let Rebalance::Revoke(tpl) = rebalance {
            self.state.stats.rebalancing.store(true, Ordering::Relaxed);
            let keys: Vec<PartitionKey> = tpl
                .elements()
                .iter()
                .map(|e| (Arc::<str>::from(e.topic()), e.partition()))
                .collect();
            tracing::info!(group = %self.state.group, revoked = keys.len(), "partitions revoked");
            // Finish and commit first, then the service's hook, then librdkafka gives them up.
            self.state.release_partitions(consumer, &keys);
            self.hooks
                .revoked(&self.state.runtime, &self.group, partitions_of(tpl));
            self.forget_lag(&keys);
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
            // Before any record of theirs is dispatched: this runs inside the poll thread's poll.
            self.hooks
                .assigned(&self.state.runtime, &self.group, partitions_of(tpl));
            ConsumerStats::bump(&self.state.stats.rebalances);
            self.state
                .stats
                .assigned_partitions
                .fetch_add(tpl.count() as u64, Ordering::Relaxed);
            self.state.stats.rebalancing.store(false, Ordering::Relaxed);
            self.rebalance_done();
        }
    }
}

impl ClientCallbacks {
    /// A rebalance ended with its assignment: counted, and timed from its first callback.
    fn rebalance_done(&self) {
        let started = self
            .rebalance_started
            .lock()
            .expect("rebalance start")
            .take();
        let label = [("group", Arc::clone(&self.group))];
        let f = families();
        f.rebalances.get_or_create(&label).inc();
        let took = started.map(|s| s.elapsed().as_secs_f64());
        if let Some(took) = took {
            f.rebalance_duration.get_or_create(&label).set(took);
        }
        #[cfg(feature = "otel")]
        crate::metrics::otlp::with(|i| {
            let group = [crate::metrics::otlp::label("group", &self.group)];
            i.rebalances.add(1, &group);
            if let Some(took) = took {
                i.rebalance_duration.record(took, &group);
            }
        });
    }

    /// Revoked partitions have no lag here any more.
    fn forget_lag(&self, keys: &[PartitionKey]) {
        let lag = &families().consumer_lag;
        for (topic, partition) in keys {
            lag.remove(&(
                [
                    ("group", Arc::clone(&self.group)),
                    ("topic", Arc::clone(topic)),
                ],
                [("partition", *partition)],
            ));
        }
    }
}
