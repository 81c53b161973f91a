//! [`ServiceHandle`] (stop a running service, read its health) and [`ServiceReport`] (how a run
//! ended).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::consumer::{ConsumerReport, ConsumerStats, ShutdownHandle, StatsSnapshot, now_ms};

/// Stops a running service and reports its health; cheap to clone.
#[derive(Clone)]
pub struct ServiceHandle {
    pub(super) stop: ShutdownHandle,
    pub(super) consumers: Arc<Vec<ShutdownHandle>>,
    pub(super) stats: Arc<Vec<(String, Arc<ConsumerStats>)>>,
}

impl std::fmt::Debug for ServiceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHandle")
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

impl ServiceHandle {
    /// Asks the service to stop gracefully.
    pub fn shutdown(&self) {
        self.stop.shutdown();
        for c in self.consumers.iter() {
            c.shutdown();
        }
    }

    /// Ready: every consumer group has joined and received its first assignment.
    pub fn is_ready(&self) -> bool {
        self.stats
            .iter()
            .all(|(_, s)| s.rebalances.load(Ordering::Relaxed) > 0)
            && !self.stop.is_requested()
    }

    /// Live: every consumer's poll loop ran within the last 10 seconds, and no consumer gave
    /// up on a message it could not dead-letter (that one stops, and so does the service).
    pub fn is_live(&self) -> bool {
        let now = now_ms();
        self.stats.iter().all(|(_, s)| {
            let last = s.last_poll_ms.load(Ordering::Relaxed);
            let polling = last == 0 || now.saturating_sub(last) < 10_000;
            polling && s.dead_letter_failures.load(Ordering::Relaxed) == 0
        })
    }

    /// Each group's counters.
    pub fn stats(&self) -> Vec<(String, StatsSnapshot)> {
        self.stats
            .iter()
            .map(|(g, s)| (g.clone(), s.snapshot()))
            .collect()
    }
}

/// How a service run ended.
#[derive(Debug, Default)]
pub struct ServiceReport {
    /// Each consumer group's report.
    pub groups: Vec<(String, ConsumerReport)>,
    /// Messages the producer could not deliver before its shutdown deadline.
    pub undelivered: usize,
}
