//! [`ProducerOptions`]: what a producer does beyond librdkafka's properties, and the check that
//! its configuration keeps idempotent, fully acknowledged delivery.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::kafka::config::KafkaConfig;

/// What a producer does beyond librdkafka's properties.
///
/// ```
/// use std::time::Duration;
/// use stream_core::kafka::producer::ProducerOptions;
/// let opts = ProducerOptions::default().queue_deadline(Duration::from_secs(5));
/// assert_eq!(opts.queue_deadline, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProducerOptions {
    /// How long a send waits for room while librdkafka's queue is full before it fails with
    /// [`ProduceError::QueueFull`](crate::kafka::producer::ProduceError::QueueFull). Default 30 s.
    pub queue_deadline: Duration,
    /// Accept a configuration that weakens delivery (`acks` other than `all`, idempotence off).
    pub allow_non_idempotent: bool,
    /// The instance part of `client.id` (`<service>-<instance>`); default `STREAMKIT_INSTANCE`,
    /// else the host name and process id.
    pub instance: Option<String>,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        Self {
            queue_deadline: Duration::from_secs(30),
            allow_non_idempotent: false,
            instance: None,
        }
    }
}

impl ProducerOptions {
    /// Sets [`ProducerOptions::queue_deadline`].
    #[must_use]
    pub fn queue_deadline(mut self, deadline: Duration) -> Self {
        self.queue_deadline = deadline;
        self
    }

    /// Opts out of the idempotence check (at-most-once or duplicate-prone delivery is then yours).
    #[must_use]
    pub fn allow_non_idempotent(mut self) -> Self {
        self.allow_non_idempotent = true;
        self
    }

    /// Sets the instance part of `client.id`.
    #[must_use]
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }
}

/// The instance name used in `client.id` when none is configured.
pub(crate) fn default_instance() -> String {
    if let Ok(i) = std::env::var("STREAMKIT_INSTANCE")
        && !i.is_empty()
    {
        return i;
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Checks that `config` keeps idempotent, fully acknowledged delivery.
pub(super) fn check_idempotence(config: &KafkaConfig) -> Result<()> {
    if let Some(v) = config.get("enable.idempotence")
        && v.trim() != "true"
    {
        return Err(Error::Config {
            key: "enable.idempotence".into(),
            message: format!(
                "expected `true` (streamkit never produces duplicates), found `{v}`; \
                     use ProducerOptions::allow_non_idempotent() to opt out"
            ),
        });
    }
    for key in ["acks", "request.required.acks"] {
        if let Some(v) = config.get(key)
            && !matches!(v.trim(), "all" | "-1")
        {
            return Err(Error::Config {
                key: key.into(),
                message: format!(
                    "expected `all` (idempotent delivery needs every in-sync replica), \
                         found `{v}`; use ProducerOptions::allow_non_idempotent() to opt out"
                ),
            });
        }
    }
    Ok(())
}
