//! [`ServiceHandle`] (stop a running service, read its health) and [`ServiceReport`] (how a run
//! ended).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::consumer::{ConsumerReport, ConsumerStats, ShutdownHandle, StatsSnapshot, now_ms};
use crate::kafka::producer::MessageProducer;

/// Stops a running service and reports its health; cheap to clone.
#[derive(Clone)]
pub struct ServiceHandle {
    pub(super) stop: ShutdownHandle,
    pub(super) consumers: Arc<Vec<ShutdownHandle>>,
    pub(super) stats: Arc<Vec<(String, Arc<ConsumerStats>)>>,
    /// The service's producer, whose connection readiness requires.
    pub(super) producer: Option<MessageProducer>,
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

    /// Ready: every consumer group has its assignment (it joined, and is not between a revoke
    /// and the next assignment; a member assigned no partition is ready, idle), the producer
    /// (if the service has one) has a connection to a broker, and no shutdown was asked for.
    pub fn is_ready(&self) -> bool {
        self.not_ready().is_none()
    }

    /// What `/health/ready` says: why the service is not ready, or `ready`.
    pub fn not_ready_reason(&self) -> String {
        match self.not_ready() {
            Some(reason) => format!("{reason}\n"),
            None => "ready\n".into(),
        }
    }

    fn not_ready(&self) -> Option<String> {
        if self.stop.is_requested() {
            return Some("shutting down".into());
        }
        for (group, s) in self.stats.iter() {
            if s.rebalances.load(Ordering::Relaxed) == 0 {
                return Some(format!("consumer group `{group}` has not joined yet"));
            }
            if s.rebalancing.load(Ordering::Relaxed) {
                return Some(format!("consumer group `{group}` is rebalancing"));
            }
        }
        match &self.producer {
            Some(p) if !p.is_connected() => Some(format!(
                "the producer ({}) has no connection to a broker",
                p.client_id()
            )),
            _ => None,
        }
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
