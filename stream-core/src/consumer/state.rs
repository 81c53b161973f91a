//! [`ConsumerState`]: what the poll thread and librdkafka's rebalance callbacks share, and how
//! partitions are released (on revoke and at shutdown).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use foldhash::HashMap;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use crate::consumer::commit_trigger::CommitTrigger;
use crate::consumer::options::ConsumerOptions;
use crate::consumer::partition::{AssignedPartition, PartitionControl, PartitionKey};
use crate::consumer::stats::ConsumerStats;
use crate::consumer::transaction::{CommitView, Transaction};
use crate::error::Error;
use crate::kafka::client_log::ClientLog;

pub(super) struct ConsumerState {
    pub(super) partitions: Mutex<HashMap<PartitionKey, AssignedPartition>>,
    /// The error that stopped the consumer, if one did.
    pub(super) fatal: Mutex<Option<KafkaError>>,
    /// When the next background commit is due by count.
    pub(super) commits: Arc<CommitTrigger>,
    /// Set when a background commit failed: the next one sends every committable offset.
    pub(super) recommit: AtomicBool,
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) stats: Arc<ConsumerStats>,
    pub(super) shutdown_timeout: Duration,
    pub(super) group: String,
    /// The open transaction, in exactly-once mode: commits go through it.
    pub(super) transaction: Option<Arc<Transaction>>,
    /// What librdkafka reported, each failure logged once.
    pub(super) log: ClientLog,
}

impl ConsumerState {
    /// The state of a consumer in `group` about to start, on the current tokio runtime.
    pub(super) fn new(group: &str, options: &ConsumerOptions, stats: Arc<ConsumerStats>) -> Self {
        Self {
            partitions: Mutex::new(HashMap::default()),
            fatal: Mutex::new(None),
            commits: Arc::new(CommitTrigger::new(options.commit_every)),
            recommit: AtomicBool::new(false),
            runtime: tokio::runtime::Handle::current(),
            stats,
            shutdown_timeout: options.shutdown_timeout,
            group: group.to_owned(),
            transaction: None,
            log: ClientLog::new(format!("group {group}")),
        }
    }

    /// Stops the workers of `keys`, waits for their in-flight message (within the shutdown
    /// timeout), and commits what they finished. Returns what was still running.
    pub(super) fn release_partitions<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        keys: &[PartitionKey],
    ) -> Vec<(String, i32, i64)> {
        let states: Vec<(PartitionKey, AssignedPartition)> = {
            let mut map = self.partitions.lock().expect("partitions");
            keys.iter()
                .filter_map(|k| map.remove(k).map(|s| (k.clone(), s)))
                .collect()
        };
        // Stop each worker after its current message: set the flag, and close its queue so a
        // worker waiting for work wakes up and ends.
        let states: Vec<(
            PartitionKey,
            Arc<PartitionControl>,
            tokio::task::JoinHandle<()>,
        )> = states
            .into_iter()
            .map(|(key, state)| {
                let AssignedPartition { control, task, .. } = state;
                control.request_stop();
                (key, control, task)
            })
            .collect();
        let deadline = Instant::now() + self.shutdown_timeout;
        let mut unfinished = Vec::new();
        let mut released = Vec::new();
        for ((topic, partition), control, mut task) in states {
            let left = deadline.saturating_duration_since(Instant::now());
            let finished = self
                .runtime
                .block_on(async { tokio::time::timeout(left, &mut task).await.is_ok() });
            if !finished {
                // Past the deadline: the message stays uncommitted and will be delivered again.
                task.abort();
            }
            let offsets = control.offsets.lock().expect("offsets");
            if !finished && let Some(offset) = offsets.first_unfinished() {
                unfinished.push((topic.to_string(), partition, offset));
            }
            // Everything finished, changed since the last commit or not: a background commit
            // of it may have failed.
            if let Some(next) = offsets.committable() {
                released.push(((topic, partition), next));
            }
        }
        if !unfinished.is_empty() {
            tracing::warn!(group = %self.group, ?unfinished, "handlers still running at the deadline; their messages will be delivered again");
        }
        self.commit_released(consumer, &released, !unfinished.is_empty());
        unfinished
    }

    /// What a transaction's commit reads of this state.
    pub(super) fn commit_view(&self) -> CommitView<'_> {
        CommitView {
            partitions: &self.partitions,
            runtime: &self.runtime,
            stats: &self.stats,
        }
    }

    /// Commits what the released partitions finished, synchronously: in the transaction in
    /// exactly-once mode (which a handler stopped at the deadline leaves unsafe to commit: it
    /// may have put part of its records in), otherwise as offsets.
    fn commit_released<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        released: &[(PartitionKey, i64)],
        cut_short: bool,
    ) {
        if let Some(transaction) = &self.transaction {
            if cut_short {
                transaction.poison(Error::Transaction {
                    group: self.group.clone(),
                    message: "a handler was still running at the shutdown deadline".into(),
                });
            }
            transaction.commit(consumer, &self.commit_view(), released);
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), next) in released {
            let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*next));
        }
        if tpl.count() == 0 {
            return;
        }
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => ConsumerStats::bump(&self.stats.commits),
            Err(error) => {
                ConsumerStats::bump(&self.stats.commit_failures);
                tracing::warn!(group = %self.group, %error, "commit of released partitions failed; their new owner starts from the last committed offsets")
            }
        }
    }
}
