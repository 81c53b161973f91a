//! Exactly-once mode: the consumer's [`Transaction`], which commits what handlers published, their
//! dead letters and the input offsets together.
//!
//! One transactional producer per consumer group writes everything the group's handlers publish
//! (staged until an attempt succeeds: [`Outbox`](crate::kafka::producer::Outbox)) and its dead
//! letters. The poll thread commits the open transaction every `commit_every` finished messages or
//! `commit_interval`, on revoke and at shutdown: it closes the gate (no worker starts a message,
//! those running finish), adds the finished offsets to the transaction, commits it, opens the next
//! and opens the gate. A message is finished only once its records are in the transaction, so a
//! commit carries every finished message's records and offset, and nothing of a message that
//! is not.
//!
//! A transaction that cannot commit is aborted and the consumer stops with
//! [`Error::Transaction`]: its records and offsets are gone together, and a restarted consumer
//! starts again from the last committed transaction.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{RwLock, RwLockReadGuard};

use crate::consumer::partition::AssignedPartition;
use crate::consumer::partition::PartitionKey;
use crate::consumer::shutdown::ShutdownHandle;
use crate::consumer::stats::ConsumerStats;
use crate::error::Error;
use crate::kafka::producer::message_producer::MessageProducer;

/// What a commit reads of the consumer: its partitions' finished offsets, the runtime the
/// workers run on (to wait for the gate), and the counters.
pub(super) struct CommitView<'a> {
    pub(super) partitions: &'a Mutex<foldhash::HashMap<PartitionKey, AssignedPartition>>,
    pub(super) runtime: &'a tokio::runtime::Handle,
    pub(super) stats: &'a ConsumerStats,
}

/// How long one transaction call (init, offsets, commit, abort) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The open transaction of one consumer group, and the gate workers pass to handle a message.
pub(super) struct Transaction {
    producer: MessageProducer,
    gate: RwLock<()>,
    group: String,
    /// Why the transaction could not go on: the consumer stops with it.
    failure: Mutex<Option<Error>>,
    /// Set once the transaction was aborted: nothing more is written or committed.
    aborted: AtomicBool,
    stop: ShutdownHandle,
}

impl Transaction {
    pub(super) fn new(producer: MessageProducer, group: &str, stop: ShutdownHandle) -> Self {
        Self {
            producer,
            gate: RwLock::new(()),
            group: group.to_owned(),
            failure: Mutex::new(None),
            aborted: AtomicBool::new(false),
            stop,
        }
    }

    /// A worker could not put a finished message's records into the transaction: it cannot
    /// commit. The poll thread aborts it at its next commit, and the consumer stops.
    pub(super) fn poison(&self, error: Error) {
        let error = self.fatal_error().unwrap_or(error);
        tracing::error!(group = %self.group, %error, "a handled message's records could not join the transaction; stopping the consumer");
        self.keep(error);
        self.stop.shutdown();
    }

    /// The producer handlers publish through and dead letters are written with.
    pub(super) fn producer(&self) -> &MessageProducer {
        &self.producer
    }

    /// Waits until the gate is open; a message is handled while its permit is held.
    pub(super) async fn enter(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().await
    }

    /// Registers the transactional id (fencing a predecessor with it) and opens the first
    /// transaction; when it cannot, keeps why and stops the consumer. Blocking: on the poll
    /// thread, before the first poll.
    pub(super) fn start(&self) {
        let started = self
            .producer
            .init_transactions(CALL_TIMEOUT)
            .and_then(|()| self.producer.begin_transaction());
        if let Err(e) = started {
            let error = self.error("could not start the first transaction", &e);
            tracing::error!(group = %self.group, %error, "stopping the consumer");
            self.keep(error);
            self.stop.shutdown();
        }
    }

    /// Commits the open transaction with every finished offset and opens the next, the gate
    /// closed meanwhile. False when it failed: the transaction is aborted, the failure kept for
    /// [`Transaction::take_failure`], and the consumer must stop.
    pub(super) fn commit<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        state: &CommitView<'_>,
        extra: &[(PartitionKey, i64)],
    ) -> bool {
        let _closed = state.runtime.block_on(self.gate.write());
        if self.failure.lock().expect("transaction failure").is_some() {
            self.abort();
            return false;
        }
        let (tpl, marks) = finished_offsets(state, extra);
        if tpl.count() == 0 {
            return true;
        }
        let Some(group) = consumer.group_metadata() else {
            return self.fail(state, "the consumer has no group metadata", None);
        };
        match self
            .producer
            .commit_transaction_with(&tpl, &group, CALL_TIMEOUT)
        {
            Ok(()) => {
                ConsumerStats::bump(&state.stats.commits);
                for (control, next) in marks {
                    control
                        .offsets
                        .lock()
                        .expect("offsets")
                        .mark_committed(next);
                }
            }
            Err(e) => return self.fail(state, "could not commit the transaction", Some(&e)),
        }
        match self.producer.begin_transaction() {
            Ok(()) => true,
            Err(e) => self.fail(state, "could not open the next transaction", Some(&e)),
        }
    }

    /// Aborts the open transaction, keeps why, and counts the failure.
    fn fail(&self, state: &CommitView<'_>, what: &str, cause: Option<&KafkaError>) -> bool {
        ConsumerStats::bump(&state.stats.commit_failures);
        let error = match cause {
            Some(e) => self.error(what, e),
            None => Error::Transaction {
                group: self.group.clone(),
                message: what.to_owned(),
            },
        };
        tracing::error!(group = %self.group, %error, "transaction failed; aborting it and stopping the consumer (its records and offsets are discarded together)");
        self.keep(error);
        self.abort();
        false
    }

    /// Aborts the open transaction (once: the consumer stops after it) and stops the consumer.
    fn abort(&self) {
        self.stop.shutdown();
        if self.aborted.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Err(e) = self.producer.abort_transaction(CALL_TIMEOUT) {
            tracing::warn!(group = %self.group, error = %e, "could not abort the transaction; the broker aborts it at transaction.timeout.ms");
        }
    }

    /// The producer's fatal error, if it has one (fenced, most often), in the words of
    /// [`Transaction::error`].
    fn fatal_error(&self) -> Option<Error> {
        let (code, reason) = self.producer.rdkafka().client().fatal_error()?;
        Some(self.error_with_code("the transactional producer failed", Some(code), &reason))
    }

    fn error(&self, what: &str, cause: &KafkaError) -> Error {
        self.error_with_code(what, cause.rdkafka_error_code(), &cause.to_string())
    }

    fn error_with_code(
        &self,
        what: &str,
        code: Option<rdkafka::types::RDKafkaErrorCode>,
        cause: &str,
    ) -> Error {
        let fenced = matches!(
            code,
            Some(
                rdkafka::types::RDKafkaErrorCode::Fenced
                    | rdkafka::types::RDKafkaErrorCode::ProducerFenced
                    | rdkafka::types::RDKafkaErrorCode::InvalidProducerEpoch
            )
        );
        let message = if fenced {
            format!(
                "{what}: fenced by a newer producer with the same transactional id (another instance with this instance name?): {cause}"
            )
        } else {
            format!("{what}: {cause}")
        };
        Error::Transaction {
            group: self.group.clone(),
            message,
        }
    }

    /// Keeps the first reason the transaction cannot go on.
    fn keep(&self, error: Error) {
        self.failure
            .lock()
            .expect("transaction failure")
            .get_or_insert(error);
    }

    /// Why the transaction stopped the consumer, if it did.
    pub(super) fn take_failure(&self) -> Option<Error> {
        self.failure.lock().expect("transaction failure").take()
    }
}

/// Every assigned partition's finished offset that is not committed yet, plus `extra` (released
/// partitions, already out of the map), and the marks to set once committed.
#[allow(clippy::type_complexity)]
fn finished_offsets(
    state: &CommitView<'_>,
    extra: &[(PartitionKey, i64)],
) -> (
    TopicPartitionList,
    Vec<(
        std::sync::Arc<crate::consumer::partition::PartitionControl>,
        i64,
    )>,
) {
    let mut tpl = TopicPartitionList::new();
    let mut marks = Vec::new();
    let map = state.partitions.lock().expect("partitions");
    for ((topic, partition), assigned) in map.iter() {
        let next = assigned
            .control
            .offsets
            .lock()
            .expect("offsets")
            .to_commit();
        if let Some(next) = next {
            let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(next));
            marks.push((std::sync::Arc::clone(&assigned.control), next));
        }
    }
    for ((topic, partition), next) in extra {
        let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*next));
    }
    (tpl, marks)
}
