//! Background commits of finished offsets, from the poll thread (also while it waits on a full
//! partition queue). Only the poll thread commits: a commit from elsewhere could land after a
//! revoked partition's final commit and move its offset back.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::consumer::callbacks::ClientCallbacks;
use crate::consumer::state::ConsumerState;
use crate::consumer::stats::ConsumerStats;

/// Runs `wait` on the poll thread (a wait for room in a partition queue), committing meanwhile
/// whenever `commit_every` messages have finished: a poll thread held up by backpressure must
/// not hold commits back.
pub(super) fn block_on_committing<F: Future>(
    consumer: &BaseConsumer<ClientCallbacks>,
    state: &ConsumerState,
    wait: F,
) -> F::Output {
    state.runtime.block_on(async {
        let mut wait = std::pin::pin!(wait);
        loop {
            tokio::select! {
                biased;
                out = wait.as_mut() => return out,
                // A transaction commits from the poll loop: it waits on the workers itself.
                () = state.commits.due.notified(), if state.transaction.is_none() => {
                    if state.commits.count_due() {
                        state.commits.restart();
                        commit_finished(consumer, state, CommitMode::Async);
                    }
                }
            }
        }
    })
}

pub(super) fn commit_finished(
    consumer: &BaseConsumer<ClientCallbacks>,
    state: &ConsumerState,
    mode: CommitMode,
) {
    if let Some(transaction) = &state.transaction {
        transaction.commit(consumer, &state.commit_view(), &[]);
        return;
    }
    let mut tpl = TopicPartitionList::new();
    let mut marks = Vec::new();
    let again = state.recommit.swap(false, Ordering::Relaxed);
    {
        let map = state.partitions.lock().expect("partitions");
        for ((topic, partition), assigned) in map.iter() {
            let offsets = assigned.control.offsets.lock().expect("offsets");
            let next = if again {
                offsets.committable()
            } else {
                offsets.to_commit()
            };
            drop(offsets);
            if let Some(next) = next {
                let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(next));
                marks.push((Arc::clone(&assigned.control), next));
            }
        }
    }
    if tpl.count() == 0 {
        return;
    }
    match consumer.commit(&tpl, mode) {
        Ok(()) => {
            ConsumerStats::bump(&state.stats.commits);
            state.log.commit_succeeded();
            for (s, next) in marks {
                s.offsets.lock().expect("offsets").mark_committed(next);
            }
        }
        Err(error) => {
            ConsumerStats::bump(&state.stats.commit_failures);
            state.log.commit_failed(&error.to_string());
        }
    }
}
