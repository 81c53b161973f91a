//! [`ServiceConfig`]: what a service is configured with, from code, a TOML file and the
//! environment, each bad value named by its key.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::kafka::config::{BOOTSTRAP_ENV, KafkaConfig};

/// Everything a [`StreamService`](crate::service::StreamService) is configured with.
///
/// Sources, later ones winning: the defaults and whatever the code sets, then a TOML file
/// (`STREAMKIT_CONFIG` names it, or [`ServiceConfig::from_file`]), then the environment
/// (`KAFKA_BOOTSTRAP_SERVERS`, `STREAMKIT_KAFKA_*` for any librdkafka property, and the
/// `STREAMKIT_*` variables below). The file:
///
/// ```toml
/// [kafka]                      # any librdkafka property
/// "bootstrap.servers" = "127.0.0.1:19092"
/// "compression.type" = "lz4"
///
/// [service]
/// health_port = 9464           # STREAMKIT_HEALTH_PORT: serve /health/live, /health/ready, /metrics
/// shutdown_timeout_ms = 30000  # STREAMKIT_SHUTDOWN_TIMEOUT_MS
/// commit_interval_ms = 500     # STREAMKIT_COMMIT_INTERVAL_MS: commit at least this often...
/// commit_every = 1000          # STREAMKIT_COMMIT_EVERY: ...and once this many messages finished
/// instance = "risk-1"          # STREAMKIT_INSTANCE (default: $HOSTNAME if exported; "" for none)
/// dlq_write_timeout_ms = 60000 # STREAMKIT_DLQ_WRITE_TIMEOUT_MS: then a failing dead letter stops the service
/// exactly_once = false         # STREAMKIT_EXACTLY_ONCE=1: every handler in Kafka transactions
///
/// [dedup]
/// redis_url = "redis://127.0.0.1:16379"  # STREAMKIT_REDIS_URL: use the Redis store
/// on_unavailable = "pause"               # STREAMKIT_DEDUP_ON_UNAVAILABLE: "pause" | "process"
/// claim_lease_ms = 60000                 # STREAMKIT_DEDUP_CLAIM_LEASE_MS: Redis claims' lease
/// ```
///
/// The instance name is what makes a restart fast and a crash cheap: with one, every consumer
/// joins its group as a static member (`group.instance.id`, KIP-345), so an instance restarted
/// within `session.timeout.ms` (45 s) gets its partitions back at once instead of waiting for
/// the dead member to time out, and takes over the Redis dedup claims its killed run left. Two
/// running instances of one service must have different names (a second one with the same name
/// fences the first, which stops with an error).
///
/// An unknown key or a bad value is an error naming the key and what was expected.
///
/// ```
/// use stream_core::service::config::ServiceConfig;
/// let cfg = ServiceConfig::from_toml_str(r#"
///     [kafka]
///     "bootstrap.servers" = "127.0.0.1:19092"
///     [service]
///     shutdown_timeout_ms = 5000
/// "#).unwrap();
/// assert_eq!(cfg.shutdown_timeout, std::time::Duration::from_secs(5));
/// let err = ServiceConfig::from_toml_str("[service]\nshutdown_timeout = 5").unwrap_err();
/// assert!(err.to_string().contains("`service.shutdown_timeout`"), "{err}");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// librdkafka properties shared by the service's producer and consumers.
    pub kafka: KafkaConfig,
    /// Port of the health and metrics endpoint (off when `None`).
    pub health_port: Option<u16>,
    /// How long in-flight handlers may run on shutdown.
    pub shutdown_timeout: std::time::Duration,
    /// The longest time between commits of finished offsets.
    pub commit_interval: std::time::Duration,
    /// Finished messages that trigger a commit before `commit_interval` has passed.
    pub commit_every: u64,
    /// This instance's name, stable across restarts (static group membership when set).
    pub instance: Option<String>,
    /// How long a Redis dedup claim holds other instances back.
    pub dedup_claim_lease: std::time::Duration,
    /// Redis URL of the dedup store (in-memory store when `None`).
    pub redis_url: Option<String>,
    /// What happens while the dedup store is unavailable.
    pub dedup_policy: crate::reliability::dedup::UnavailablePolicy,
    /// How long a dead-letter write that fails for a retryable reason is retried before the
    /// consumer stops with an error (60 s).
    pub dlq_write_timeout: std::time::Duration,
    /// Every handler of the service consumes and publishes in Kafka transactions, as if each
    /// were declared `exactly_once` (off by default).
    pub exactly_once: bool,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            kafka: KafkaConfig::default(),
            health_port: None,
            shutdown_timeout: std::time::Duration::from_secs(30),
            commit_interval: std::time::Duration::from_millis(500),
            commit_every: crate::consumer::DEFAULT_COMMIT_EVERY,
            instance: None,
            dedup_claim_lease: crate::reliability::dedup::redis::DEFAULT_CLAIM_LEASE,
            redis_url: None,
            dedup_policy: Default::default(),
            dlq_write_timeout: std::time::Duration::from_secs(60),
            exactly_once: false,
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    kafka: BTreeMap<String, toml::Value>,
    #[serde(default)]
    service: FileService,
    #[serde(default)]
    dedup: FileDedup,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileService {
    health_port: Option<u16>,
    shutdown_timeout_ms: Option<u64>,
    commit_interval_ms: Option<u64>,
    commit_every: Option<u64>,
    instance: Option<String>,
    dlq_write_timeout_ms: Option<u64>,
    exactly_once: Option<bool>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileDedup {
    redis_url: Option<String>,
    on_unavailable: Option<String>,
    claim_lease_ms: Option<u64>,
}

fn parse_policy(key: &str, v: &str) -> Result<crate::reliability::dedup::UnavailablePolicy> {
    use crate::reliability::dedup::UnavailablePolicy as P;
    match v.trim() {
        "pause" => Ok(P::Pause),
        "process" => Ok(P::ProcessAnyway),
        other => Err(Error::Config {
            key: key.into(),
            message: format!("expected `pause` or `process`, found `{other}`"),
        }),
    }
}

impl ServiceConfig {
    /// A configuration for the cluster at `bootstrap_servers`, with defaults otherwise.
    pub fn new(bootstrap_servers: &str) -> Self {
        Self {
            kafka: KafkaConfig::new(bootstrap_servers),
            ..Self::default()
        }
    }

    /// A configuration around an existing [`KafkaConfig`].
    pub fn with_kafka(kafka: KafkaConfig) -> Self {
        Self {
            kafka,
            ..Self::default()
        }
    }

    /// Defaults, then the file named by `STREAMKIT_CONFIG` (if set), then the environment.
    /// Fails naming `KAFKA_BOOTSTRAP_SERVERS` when no source sets the bootstrap servers.
    pub fn from_env() -> Result<Self> {
        let base = match std::env::var("STREAMKIT_CONFIG") {
            Ok(path) if !path.is_empty() => Self::from_file(std::path::Path::new(&path))?,
            _ => Self::default(),
        };
        let cfg = base.merge_env()?;
        if cfg.kafka.bootstrap_servers().is_none() {
            return Err(Error::Config {
                key: BOOTSTRAP_ENV.into(),
                message: "expected `host:port[,host:port]`, found nothing (unset, and no `bootstrap.servers` in the config file)".into(),
            });
        }
        Ok(cfg)
    }

    /// Defaults, then the TOML file at `path`.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            key: "STREAMKIT_CONFIG".into(),
            message: format!("cannot read `{}`: {e}", path.display()),
        })?;
        Self::from_toml_str(&text)
    }

    /// Defaults, then the TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let de = toml::Deserializer::parse(text).map_err(|e| Error::Config {
            key: "config file".into(),
            message: e.message().to_owned(),
        })?;
        // The path of the failing key (`service.health_port`), also for type errors.
        let file: FileConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let message = e.inner().message().to_owned();
            let path = e.path().to_string();
            let key = if path == "." || path.is_empty() {
                unknown_key(&message).unwrap_or_else(|| "config file".into())
            } else {
                path
            };
            Error::Config { key, message }
        })?;
        let mut cfg = Self::default();
        for (k, v) in file.kafka {
            let value = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Float(f) => f.to_string(),
                other => {
                    return Err(Error::Config {
                        key: format!("kafka.{k}"),
                        message: format!("expected a string, number or boolean, found `{other}`"),
                    });
                }
            };
            cfg.kafka = cfg.kafka.set(k, value);
        }
        if let Some(p) = file.service.health_port {
            cfg.health_port = Some(p);
        }
        if let Some(ms) = file.service.shutdown_timeout_ms {
            cfg.shutdown_timeout = std::time::Duration::from_millis(ms);
        }
        if let Some(ms) = file.service.commit_interval_ms {
            cfg.commit_interval = std::time::Duration::from_millis(ms);
        }
        if let Some(n) = file.service.commit_every {
            cfg.commit_every = at_least_one("service.commit_every", n)?;
        }
        if let Some(name) = file.service.instance {
            cfg.instance = Some(instance_name("service.instance", &name)?);
        }
        if let Some(ms) = file.dedup.claim_lease_ms {
            cfg.dedup_claim_lease = lease("dedup.claim_lease_ms", ms)?;
        }
        if let Some(ms) = file.service.dlq_write_timeout_ms {
            cfg.dlq_write_timeout = std::time::Duration::from_millis(ms);
        }
        if let Some(on) = file.service.exactly_once {
            cfg.exactly_once = on;
        }
        cfg.redis_url = file.dedup.redis_url;
        if let Some(p) = file.dedup.on_unavailable {
            cfg.dedup_policy = parse_policy("dedup.on_unavailable", &p)?;
        }
        Ok(cfg)
    }

    /// Applies the environment over this configuration.
    pub fn merge_env(mut self) -> Result<Self> {
        if let Ok(b) = std::env::var(BOOTSTRAP_ENV)
            && !b.trim().is_empty()
        {
            self.kafka = self.kafka.set("bootstrap.servers", b.trim());
        }
        self.kafka = self.kafka.merge_env();
        let num = |key: &str| -> Result<Option<u64>> {
            match std::env::var(key) {
                Ok(v) => v.trim().parse().map(Some).map_err(|_| Error::Config {
                    key: key.into(),
                    message: format!("expected a whole number, found `{v}`"),
                }),
                Err(_) => Ok(None),
            }
        };
        if let Some(p) = num("STREAMKIT_HEALTH_PORT")? {
            self.health_port = Some(u16::try_from(p).map_err(|_| Error::Config {
                key: "STREAMKIT_HEALTH_PORT".into(),
                message: format!("expected a port (0-65535), found `{p}`"),
            })?);
        }
        if let Some(ms) = num("STREAMKIT_SHUTDOWN_TIMEOUT_MS")? {
            self.shutdown_timeout = std::time::Duration::from_millis(ms);
        }
        if let Some(ms) = num("STREAMKIT_COMMIT_INTERVAL_MS")? {
            self.commit_interval = std::time::Duration::from_millis(ms);
        }
        if let Some(n) = num("STREAMKIT_COMMIT_EVERY")? {
            self.commit_every = at_least_one("STREAMKIT_COMMIT_EVERY", n)?;
        }
        if let Ok(name) = std::env::var("STREAMKIT_INSTANCE") {
            // Set but empty: no instance name, dynamic membership, whatever else says.
            self.instance = match name.as_str() {
                "" => None,
                name => Some(instance_name("STREAMKIT_INSTANCE", name)?),
            };
        } else if self.instance.is_none() {
            // Exported by container runtimes (the pod's name under Kubernetes); a login shell
            // keeps it unexported, so two instances started from one shell do not share it.
            self.instance = std::env::var("HOSTNAME")
                .ok()
                .and_then(|h| instance_name("HOSTNAME", &h).ok());
        }
        if let Some(ms) = num("STREAMKIT_DEDUP_CLAIM_LEASE_MS")? {
            self.dedup_claim_lease = lease("STREAMKIT_DEDUP_CLAIM_LEASE_MS", ms)?;
        }
        if let Some(ms) = num("STREAMKIT_DLQ_WRITE_TIMEOUT_MS")? {
            self.dlq_write_timeout = std::time::Duration::from_millis(ms);
        }
        if let Ok(v) = std::env::var("STREAMKIT_EXACTLY_ONCE") {
            self.exactly_once = switch("STREAMKIT_EXACTLY_ONCE", &v)?;
        }
        if let Ok(url) = std::env::var("STREAMKIT_REDIS_URL") {
            self.redis_url = Some(url);
        }
        if let Ok(p) = std::env::var("STREAMKIT_DEDUP_ON_UNAVAILABLE") {
            self.dedup_policy = parse_policy("STREAMKIT_DEDUP_ON_UNAVAILABLE", &p)?;
        }
        Ok(self)
    }
}

/// A count that must be at least 1, or an error naming `key`.
/// An on/off switch from the environment: `1`, `true`, `on` or `0`, `false`, `off`, `""`.
fn switch(key: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" | "" => Ok(false),
        _ => Err(Error::Config {
            key: key.into(),
            message: format!("expected `1` or `0` (`true`/`false`), found `{v}`"),
        }),
    }
}

fn at_least_one(key: &str, n: u64) -> Result<u64> {
    if n == 0 {
        return Err(Error::Config {
            key: key.into(),
            message: "expected a number of messages, at least 1, found `0`".into(),
        });
    }
    Ok(n)
}

/// An instance name: not empty, no whitespace or control characters (it becomes
/// `group.instance.id` and part of `client.id`).
fn instance_name(key: &str, name: &str) -> Result<String> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Config {
            key: key.into(),
            message: format!(
                "expected an instance name without spaces or control characters, stable across restarts (e.g. `risk-1`), found `{}`",
                name.escape_debug()
            ),
        });
    }
    Ok(name.to_owned())
}

/// A claim lease of at least one millisecond, or an error naming `key`.
fn lease(key: &str, ms: u64) -> Result<std::time::Duration> {
    if ms == 0 {
        return Err(Error::Config {
            key: key.into(),
            message: "expected a lease in milliseconds, at least 1, found `0`".into(),
        });
    }
    Ok(std::time::Duration::from_millis(ms))
}

/// The field named by a toml "unknown field `x`" error.
fn unknown_key(message: &str) -> Option<String> {
    let start = message.find("unknown field `")? + "unknown field `".len();
    let end = message[start..].find('`')? + start;
    Some(message[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_in_that_order() {
        let file = ServiceConfig::from_toml_str(
            r#"
            [kafka]
            "bootstrap.servers" = "file:1"
            "linger.ms" = 20
            [service]
            commit_interval_ms = 900
            health_port = 9000
            [dedup]
            on_unavailable = "process"
            "#,
        )
        .unwrap();
        assert_eq!(file.kafka.get("linger.ms"), Some("20"));
        assert_eq!(
            file.dedup_policy,
            crate::reliability::dedup::UnavailablePolicy::ProcessAnyway
        );
        // SAFETY: no other test of this crate reads these variables.
        unsafe {
            std::env::set_var("STREAMKIT_KAFKA_LINGER_MS", "2");
            std::env::set_var("STREAMKIT_COMMIT_INTERVAL_MS", "100");
        }
        let merged = file.merge_env().unwrap();
        unsafe {
            std::env::remove_var("STREAMKIT_KAFKA_LINGER_MS");
            std::env::remove_var("STREAMKIT_COMMIT_INTERVAL_MS");
        }
        assert_eq!(
            merged.kafka.get("linger.ms"),
            Some("2"),
            "environment wins over the file"
        );
        assert_eq!(
            merged.commit_interval,
            std::time::Duration::from_millis(100)
        );
        assert_eq!(
            merged.health_port,
            Some(9000),
            "the file's value stays where env is silent"
        );
    }

    #[test]
    fn bad_values_name_the_key_and_what_was_expected() {
        let err = ServiceConfig::from_toml_str("[dedup]\non_unavailable = \"maybe\"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad configuration `dedup.on_unavailable`: expected `pause` or `process`, found `maybe`"
        );
        let err = ServiceConfig::from_toml_str("[service]\nhealth_port = \"x\"").unwrap_err();
        assert!(err.to_string().contains("health_port"), "{err}");
        let err = ServiceConfig::from_toml_str("[kafka]\n\"linger.ms\" = [1]").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bad configuration `kafka.linger.ms`"),
            "{err}"
        );
    }

    #[test]
    fn commit_every_instance_and_claim_lease_are_read_and_checked() {
        let cfg = ServiceConfig::from_toml_str(
            "[service]\ncommit_every = 250\ninstance = \"risk-1\"\n[dedup]\nclaim_lease_ms = 9000",
        )
        .unwrap();
        assert_eq!(cfg.commit_every, 250);
        assert_eq!(cfg.instance.as_deref(), Some("risk-1"));
        assert_eq!(cfg.dedup_claim_lease, std::time::Duration::from_secs(9));
        let defaults = ServiceConfig::from_toml_str("").unwrap();
        assert_eq!(defaults.commit_every, crate::consumer::DEFAULT_COMMIT_EVERY);
        assert_eq!(defaults.instance, None);
        let err = ServiceConfig::from_toml_str("[service]\ncommit_every = 0").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad configuration `service.commit_every`: expected a number of messages, at least 1, found `0`"
        );
        let err = ServiceConfig::from_toml_str("[service]\ninstance = \"risk 1\"").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bad configuration `service.instance`: expected an instance name"),
            "{err}"
        );
        let err = ServiceConfig::from_toml_str("[dedup]\nclaim_lease_ms = 0").unwrap_err();
        assert!(err.to_string().contains("`dedup.claim_lease_ms`"), "{err}");
    }

    #[test]
    fn exactly_once_is_read_from_the_file_and_checked_in_the_environment() {
        assert!(!ServiceConfig::from_toml_str("").unwrap().exactly_once);
        let cfg = ServiceConfig::from_toml_str("[service]\nexactly_once = true").unwrap();
        assert!(cfg.exactly_once);
        assert!(super::switch("STREAMKIT_EXACTLY_ONCE", "1").unwrap());
        assert!(!super::switch("STREAMKIT_EXACTLY_ONCE", "off").unwrap());
        let err = super::switch("STREAMKIT_EXACTLY_ONCE", "maybe").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad configuration `STREAMKIT_EXACTLY_ONCE`: expected `1` or `0` (`true`/`false`), found `maybe`"
        );
    }
}
