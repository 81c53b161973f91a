//! [`ClientLog`]: how a librdkafka client's reports reach the log, each failure once.
//!
//! librdkafka reports one broker outage many times over: a `FAIL` log line per connection
//! attempt, an error event for the same failure, and a poll error on the consumer. The first
//! report of a lost connection is logged at WARN with the client it belongs to; the repeats go to
//! DEBUG until the client's statistics show a broker up again, which is logged once at INFO with
//! how many reports were folded. The same holds for commits that keep failing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;

/// A run of failures of one kind: the first is the one to log.
#[derive(Debug, Default)]
pub(crate) struct FailureStreak {
    count: AtomicU64,
}

impl FailureStreak {
    /// Counts a failure; true for the first of a run.
    pub(crate) fn fail(&self) -> bool {
        self.count.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// Ends the run; the failures it had.
    pub(crate) fn recover(&self) -> u64 {
        self.count.swap(0, Ordering::Relaxed)
    }
}

/// One client's log state: which failures were already reported, and whether a broker is up.
#[derive(Debug)]
pub(crate) struct ClientLog {
    /// Who the lines are about: `group <name>` or `producer <client.id>`.
    client: String,
    connection: FailureStreak,
    commits: FailureStreak,
    /// Whether the last statistics showed a broker up (true until told otherwise).
    connected: AtomicBool,
}

impl ClientLog {
    /// The log of the client `client` (`group <name>`, `producer <client.id>`).
    pub(crate) fn new(client: String) -> Self {
        Self {
            client,
            connection: FailureStreak::default(),
            commits: FailureStreak::default(),
            connected: AtomicBool::new(true),
        }
    }

    /// Whether the client has a connection to a broker, as far as it knows.
    pub(crate) fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// A librdkafka log line.
    pub(crate) fn line(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        use RDKafkaLogLevel as L;
        if fac == "FAIL" {
            return self.connection_failed(message);
        }
        let client = &self.client;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                tracing::error!(target: "librdkafka", %client, "{fac} {message}")
            }
            L::Warning => tracing::warn!(target: "librdkafka", %client, "{fac} {message}"),
            L::Notice | L::Info => tracing::info!(target: "librdkafka", %client, "{fac} {message}"),
            L::Debug => tracing::debug!(target: "librdkafka", %client, "{fac} {message}"),
        }
    }

    /// An error librdkafka raised (its error callback, or a poll that returned one).
    pub(crate) fn error(&self, error: &KafkaError, reason: &str) {
        if is_transport(error) {
            return self.connection_failed(&format!("{error}: {reason}"));
        }
        tracing::error!(target: "librdkafka", client = %self.client, %error, "{reason}");
    }

    /// A poll error of a consumer: connection failures are folded like the log lines; others are
    /// logged at WARN.
    pub(crate) fn poll_error(&self, error: &KafkaError) {
        if is_transport(error) {
            return self.connection_failed(&error.to_string());
        }
        tracing::warn!(client = %self.client, %error, "consumer error");
    }

    /// A commit that failed: WARN for the first of a run, DEBUG for the repeats.
    pub(crate) fn commit_failed(&self, message: &str) {
        if self.commits.fail() {
            tracing::warn!(client = %self.client, "offset commit failed; the offsets are committed again with the next commit (repeats are logged at DEBUG until one succeeds): {message}");
        } else {
            tracing::debug!(client = %self.client, "offset commit failed again: {message}");
        }
    }

    /// A commit that succeeded: ends a run of failed ones.
    pub(crate) fn commit_succeeded(&self) {
        let failed = self.commits.recover();
        if failed > 0 {
            tracing::info!(client = %self.client, failed, "offset commits succeed again");
        }
    }

    /// The client's statistics: whether a broker is up, which ends a connection outage.
    pub(crate) fn statistics(&self, statistics: &Statistics) {
        let up = statistics.brokers.values().any(|b| b.state == "UP");
        self.connected.store(up, Ordering::Relaxed);
        if up {
            let reports = self.connection.recover();
            if reports > 0 {
                tracing::info!(client = %self.client, reports, "broker connection back");
            }
        }
    }

    fn connection_failed(&self, message: &str) {
        if self.connection.fail() {
            tracing::warn!(target: "librdkafka", client = %self.client, "broker connection failed (repeats are logged at DEBUG until it is back): {message}");
        } else {
            tracing::debug!(target: "librdkafka", client = %self.client, "{message}");
        }
        if message.contains("ll brokers are down") {
            self.connected.store(false, Ordering::Relaxed);
        }
    }
}

/// Whether `error` is a lost or refused connection (which librdkafka retries by itself).
fn is_transport(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::Resolve
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_reports_its_first_failure_once() {
        let s = FailureStreak::default();
        assert!(s.fail());
        assert!(!s.fail());
        assert!(!s.fail());
        assert_eq!(s.recover(), 3);
        assert!(s.fail(), "a new run after a recovery");
    }

    #[test]
    fn transport_failures_are_told_apart() {
        let down = KafkaError::Global(RDKafkaErrorCode::AllBrokersDown);
        let other = KafkaError::Global(RDKafkaErrorCode::UnknownTopicOrPartition);
        assert!(is_transport(&down));
        assert!(!is_transport(&other));
    }
}
