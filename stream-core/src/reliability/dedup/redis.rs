//! `RedisDedupStore`: dedup ids kept in Redis, shared by every instance and surviving restarts.
//!
//! Keys are `<prefix><service>:<group>:<broker>:<event id>` (no prefix by default), set with an
//! expiry (`SET key 1 EX <ttl>`), so namespaces of different services, consumer groups and trading
//! brokers stay apart and old ids disappear on their own. The connection is a redis-rs
//! `ConnectionManager`: it connects lazily and reconnects by itself; each command is bounded by
//! a timeout, and any failure is reported as [`DedupError::Unavailable`], which the consumer turns
//! into its configured [`UnavailablePolicy`](super::UnavailablePolicy). The store never panics
//! and never stops the service.

use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{DEFAULT_TTL, DedupError, DedupKey, DedupStore};

/// Dedup store in Redis.
///
/// ```no_run
/// use stream_core::reliability::dedup::{DedupKey, DedupStore, redis::RedisDedupStore};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisDedupStore::new("redis://127.0.0.1:16379")?;
/// let key = DedupKey::new("risk", "risk.signals", "paper", uuid::Uuid::now_v7());
/// store.mark_done(&key).await?;
/// assert!(store.is_done(&key).await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisDedupStore {
    conn: ConnectionManager,
    ttl: Duration,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisDedupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDedupStore")
            .field("ttl", &self.ttl)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisDedupStore {
    /// A store for the Redis at `url` (`redis://host:port/db`), keeping ids for one day.
    /// Connects lazily: an unreachable Redis is reported on use, not here.
    pub fn new(url: &str) -> crate::Result<Self> {
        let client = redis::Client::open(url).map_err(|e| crate::Error::Config {
            key: "redis.url".into(),
            message: format!("expected `redis://host:port[/db]`, found `{url}`: {e}"),
        })?;
        let timeout = Duration::from_millis(500);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| {
            crate::Error::Config {
                key: "redis.url".into(),
                message: e.to_string(),
            }
        })?;
        Ok(Self {
            conn,
            ttl: DEFAULT_TTL,
            prefix: String::new(),
            timeout,
        })
    }

    /// Sets how long ids are remembered (at least one second).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// Puts `prefix` before every key (e.g. `prod:`).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The Redis key of `key`.
    pub fn redis_key(&self, key: &DedupKey) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, DedupError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout * 2, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(DedupError::Unavailable(e.to_string())),
            Err(_) => Err(DedupError::Unavailable(format!(
                "no answer within {:?}",
                self.timeout * 2
            ))),
        }
    }
}

impl DedupStore for RedisDedupStore {
    fn is_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<bool, DedupError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("EXISTS");
            cmd.arg(self.redis_key(key));
            let n: i64 = self.run(cmd).await?;
            Ok(n > 0)
        })
    }

    fn mark_done<'a>(&'a self, key: &'a DedupKey) -> BoxFuture<'a, Result<(), DedupError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.redis_key(key))
                .arg(1)
                .arg("EX")
                .arg(self.ttl.as_secs().max(1));
            let _: () = self.run(cmd).await?;
            Ok(())
        })
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}
