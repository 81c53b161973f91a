//! `RedisDedupStore`: dedup ids kept in Redis, shared by every instance and surviving restarts.
//!
//! Keys are `<prefix><service>:<group>:<broker>:<event id>` (no prefix by default), set with an
//! expiry (`SET key 1 EX <ttl>`), so namespaces of different services, consumer groups and trading
//! brokers stay apart and old ids disappear on their own. Before a handler runs, its id is claimed
//! in the same key by one Lua script (atomic in Redis): the key is set to the claimer's token
//! with a lease (`PX`, default 60 s) unless it is done or held by another live claim. Marking done
//! overwrites the claim; a failed handler's claim is deleted (only if it is still the caller's). The connection is a redis-rs
//! `ConnectionManager`: it connects lazily and reconnects by itself; each command is bounded by
//! a timeout, and any failure is reported as [`DedupError::Unavailable`], which the consumer turns
//! into its configured [`UnavailablePolicy`](super::UnavailablePolicy). The store never panics
//! and never stops the service.

use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Claim, ClaimOwner, DEFAULT_TTL, DedupError, DedupKey, DedupStore};

/// How long a claim holds other instances back by default.
pub const DEFAULT_CLAIM_LEASE: Duration = Duration::from_secs(60);

/// Claims `KEYS[1]` for token `ARGV[1]` with a lease of `ARGV[2]` ms. `ARGV[3]` is the token's
/// instance prefix: a claim starting with it is an earlier run of the same instance, taken over.
/// Returns 1 (acquired or renewed), 0 (done), 2 (held by another live claim).
const CLAIM_SCRIPT: &str = r"
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1]
   or (ARGV[3] ~= '' and string.sub(v, 1, string.len(ARGV[3])) == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if string.sub(v, 1, 6) ~= 'claim:' then return 0 end
return 2
";

/// Deletes `KEYS[1]` if it still holds claim `ARGV[1]`.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

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
    lease: Duration,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisDedupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDedupStore")
            .field("ttl", &self.ttl)
            .field("lease", &self.lease)
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
            lease: DEFAULT_CLAIM_LEASE,
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

    /// Sets how long a claim holds other instances back (at least one millisecond): the longest
    /// a crashed unnamed instance's in-flight events wait before another instance runs them. A
    /// handler's run, retries included, should end well within it; each retry renews it.
    #[must_use]
    pub fn claim_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
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
            let mut cmd = redis::cmd("GET");
            cmd.arg(self.redis_key(key));
            let value: Option<String> = self.run(cmd).await?;
            // A live claim is an event still being handled, not a done one.
            Ok(value.is_some_and(|v| !v.starts_with("claim:")))
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

    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: &'a ClaimOwner,
    ) -> BoxFuture<'a, Result<Claim, DedupError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(CLAIM_SCRIPT)
                .arg(1)
                .arg(self.redis_key(key))
                .arg(owner.token())
                .arg(u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX))
                .arg(owner.instance_prefix());
            match self.run::<i64>(cmd).await? {
                1 => Ok(Claim::Acquired),
                0 => Ok(Claim::Done),
                _ => Ok(Claim::Held),
            }
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: &'a ClaimOwner,
    ) -> BoxFuture<'a, Result<(), DedupError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(RELEASE_SCRIPT)
                .arg(1)
                .arg(self.redis_key(key))
                .arg(owner.token());
            let _: i64 = self.run(cmd).await?;
            Ok(())
        })
    }
}
