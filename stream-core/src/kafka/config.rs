//! Kafka client configuration: a map of librdkafka properties, with secrets kept out of logs.
//!
//! streamkit does not hide librdkafka: any property of its `CONFIGURATION.md` passes through
//! ([`KafkaConfig::set`]). What streamkit adds is where values come from (code, then the
//! environment: `KAFKA_BOOTSTRAP_SERVERS` and `STREAMKIT_KAFKA_*`), the properties it owns for
//! delivery guarantees (the producer and consumer set and check those), and redaction: a value whose
//! key names a secret never appears in `Debug` output or logs.

use std::collections::BTreeMap;
use std::fmt;

use rdkafka::ClientConfig;

use crate::error::{Error, Result};

/// The environment variable holding the bootstrap servers (`host:port,host:port`).
pub const BOOTSTRAP_ENV: &str = "KAFKA_BOOTSTRAP_SERVERS";

/// Prefix of environment variables that set any librdkafka property:
/// `STREAMKIT_KAFKA_SASL_USERNAME=alice` sets `sasl.username`.
pub const KAFKA_ENV_PREFIX: &str = "STREAMKIT_KAFKA_";

/// librdkafka properties only consumers take (a producer warns about them).
const CONSUMER_ONLY: &[&str] = &[
    "group.id",
    "group.instance.id",
    "group.protocol",
    "group.remote.assignor",
    "partition.assignment.strategy",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "auto.offset.reset",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.commit.interval.ms",
    "fetch.min.bytes",
    "fetch.wait.max.ms",
    "fetch.max.bytes",
    "max.partition.fetch.bytes",
    "isolation.level",
    "enable.partition.eof",
    "check.crcs",
];

/// librdkafka properties only producers take (a consumer warns about them).
const PRODUCER_ONLY: &[&str] = &[
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "linger.ms",
    "queue.buffering.max.ms",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "batch.num.messages",
    "batch.size",
    "compression.type",
    "compression.codec",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "partitioner",
    "retries",
    "message.send.max.retries",
    "transactional.id",
];

/// Substrings of property names whose values are secrets.
const SECRET_MARKERS: &[&str] = &["password", "secret", "sasl.oauthbearer.config", "key.pem"];

/// Whether the value of librdkafka property `key` is a secret that must not be shown.
///
/// ```
/// use stream_core::kafka::config::is_secret_key;
/// assert!(is_secret_key("sasl.password"));
/// assert!(is_secret_key("ssl.key.password"));
/// assert!(!is_secret_key("bootstrap.servers"));
/// ```
pub fn is_secret_key(key: &str) -> bool {
    SECRET_MARKERS.iter().any(|m| key.contains(m))
}

/// librdkafka properties for one client, with secret values redacted in `Debug`.
///
/// ```
/// use stream_core::kafka::config::KafkaConfig;
/// let cfg = KafkaConfig::new("127.0.0.1:19092")
///     .set("compression.type", "lz4")
///     .set("sasl.password", "hunter2");
/// assert_eq!(cfg.get("compression.type"), Some("lz4"));
/// let shown = format!("{cfg:?}");
/// assert!(shown.contains("lz4") && !shown.contains("hunter2"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaConfig {
    props: BTreeMap<String, String>,
}

impl KafkaConfig {
    /// A configuration with `bootstrap.servers` set.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self::default().set("bootstrap.servers", bootstrap_servers)
    }

    /// Reads `KAFKA_BOOTSTRAP_SERVERS` and every `STREAMKIT_KAFKA_*` variable.
    ///
    /// Fails naming the variable when `KAFKA_BOOTSTRAP_SERVERS` is unset or empty.
    ///
    /// ```no_run
    /// // with KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 in the environment
    /// let cfg = stream_core::kafka::config::KafkaConfig::from_env()?;
    /// assert_eq!(cfg.bootstrap_servers(), Some("127.0.0.1:19092"));
    /// # Ok::<(), stream_core::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        let bootstrap = std::env::var(BOOTSTRAP_ENV).unwrap_or_default();
        if bootstrap.trim().is_empty() {
            return Err(Error::Config {
                key: BOOTSTRAP_ENV.into(),
                message: "expected `host:port[,host:port]`, found nothing (unset)".into(),
            });
        }
        Ok(Self::new(bootstrap.trim()).merge_env())
    }

    /// Applies every `STREAMKIT_KAFKA_<NAME>` variable as property `<name>` with `_` read as `.`
    /// (`STREAMKIT_KAFKA_SECURITY_PROTOCOL` sets `security.protocol`). Environment wins over code.
    pub fn merge_env(mut self) -> Self {
        for (name, value) in std::env::vars() {
            if let Some(rest) = name.strip_prefix(KAFKA_ENV_PREFIX) {
                let key = rest.to_ascii_lowercase().replace('_', ".");
                self.props.insert(key, value);
            }
        }
        self
    }

    /// Sets any librdkafka property, replacing an earlier value.
    #[must_use]
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.props.insert(key.into(), value.into());
        self
    }

    /// Sets a property only if it has no value yet (used for streamkit's defaults).
    #[must_use]
    pub fn set_default(mut self, key: &str, value: impl Into<String>) -> Self {
        self.props
            .entry(key.to_owned())
            .or_insert_with(|| value.into());
        self
    }

    /// Removes a property.
    #[must_use]
    pub fn remove(mut self, key: &str) -> Self {
        self.props.remove(key);
        self
    }

    /// The value of a property, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }

    /// `bootstrap.servers`, if set.
    pub fn bootstrap_servers(&self) -> Option<&str> {
        self.get("bootstrap.servers")
    }

    /// Every property, secrets included (for building a client; never log this).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.props.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The rdkafka `ClientConfig` holding these properties.
    pub fn to_client_config(&self) -> ClientConfig {
        let mut cc = ClientConfig::new();
        for (k, v) in self.iter() {
            cc.set(k, v);
        }
        cc
    }

    /// These properties without the consumer-only ones, for a producer: one configuration serves
    /// a service's producer and consumers without librdkafka warning about the other's keys.
    pub fn for_producer(&self) -> Self {
        self.without(CONSUMER_ONLY)
    }

    /// These properties without the producer-only ones, for a consumer.
    pub fn for_consumer(&self) -> Self {
        self.without(PRODUCER_ONLY)
    }

    fn without(&self, keys: &[&str]) -> Self {
        let mut out = self.clone();
        out.props.retain(|k, _| !keys.contains(&k.as_str()));
        out
    }

    /// Parses a property as a number, naming the key and the value on failure.
    pub(crate) fn parse_num<N: std::str::FromStr>(&self, key: &str) -> Result<Option<N>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| Error::Config {
                key: key.into(),
                message: format!("expected a whole number, found `{v}`"),
            }),
        }
    }
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.props {
            if is_secret_key(k) {
                map.entry(k, &"<redacted>");
            } else {
                map.entry(k, v);
            }
        }
        map.finish()
    }
}

/// A librdkafka client that could not be created: a property it refused names its key; anything
/// else is the client's own error.
pub(crate) fn client_creation_error(error: rdkafka::error::KafkaError) -> Error {
    match error {
        rdkafka::error::KafkaError::ClientConfig(_, desc, key, value) => Error::Config {
            key,
            message: format!("librdkafka rejected `{value}`: {desc}"),
        },
        other => Error::Kafka(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_every_secret() {
        let cfg = KafkaConfig::new("b:1")
            .set("sasl.password", "p1")
            .set("ssl.key.password", "p2")
            .set("sasl.oauthbearer.config", "p3")
            .set("ssl.key.pem", "p4")
            .set("sasl.username", "alice");
        let shown = format!("{cfg:?}");
        for secret in ["p1", "p2", "p3", "p4"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("alice"));
        assert_eq!(cfg.get("sasl.password"), Some("p1"));
    }

    #[test]
    fn bad_number_names_key_and_value() {
        let cfg = KafkaConfig::new("b:1").set("message.max.bytes", "lots");
        let err = cfg.parse_num::<usize>("message.max.bytes").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad configuration `message.max.bytes`: expected a whole number, found `lots`"
        );
    }

    #[test]
    fn set_default_keeps_user_value() {
        let cfg = KafkaConfig::new("b:1")
            .set("linger.ms", "20")
            .set_default("linger.ms", "5")
            .set_default("acks", "all");
        assert_eq!(cfg.get("linger.ms"), Some("20"));
        assert_eq!(cfg.get("acks"), Some("all"));
    }
}
