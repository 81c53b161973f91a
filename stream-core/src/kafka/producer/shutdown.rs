//! [`MessageProducer::shutdown`] and its [`ShutdownReport`].

use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::Producer;

use crate::kafka::producer::message_producer::MessageProducer;

/// How a [`MessageProducer::shutdown`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct ShutdownReport {
    /// Messages still not acknowledged when the deadline passed (0 on a clean shutdown).
    pub undelivered: usize,
}

impl ShutdownReport {
    /// Whether every message was delivered.
    pub fn is_clean(&self) -> bool {
        self.undelivered == 0
    }
}

impl MessageProducer {
    /// Flushes everything in flight, waiting at most `timeout`, and reports what did not make it.
    pub async fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let inner = Arc::clone(&self.inner);
        let undelivered = tokio::task::spawn_blocking(move || {
            let _ = inner.producer().flush(timeout);
            inner.producer().in_flight_count() as usize
        })
        .await
        .unwrap_or_else(|_| self.in_flight());
        if undelivered > 0 {
            tracing::warn!(client_id = %self.inner.client_id, undelivered, "producer shut down with undelivered messages");
        }
        ShutdownReport { undelivered }
    }
}
