//! [`RebalanceHooks`]: a service's own work when its consumer gains or loses partitions
//! (warm a cache for newly assigned partitions, flush state of revoked ones).
//!
//! Both hooks run on the consumer's poll thread, inside librdkafka's rebalance callback, in
//! order with the consumer's own work:
//!
//! - `on_assigned(partitions)` after the partitions are assigned and before any of their
//!   records reaches a handler;
//! - `on_revoked(partitions)` after the partitions' in-flight handlers finished (within the
//!   shutdown timeout) and their finished offsets were committed, before the partitions are
//!   given up (so another member cannot start on them while the hook runs).
//!
//! Each call has a deadline ([`RebalanceHooks::deadline`], 10 s by default): the rebalance waits
//! for it at most that long. A hook that fails or runs past its deadline is logged (with the
//! group and the partitions) and counted (`streamkit_rebalance_hook_failures_total`), and the
//! rebalance goes on. A hook is not called for an empty list.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::metrics::families::families;

/// A partition a hook is told about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.topic, self.partition)
    }
}

/// What a hook returns: any error that can be logged.
pub type HookResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

type HookFuture = Pin<Box<dyn Future<Output = HookResult> + Send>>;
type Hook = Arc<dyn Fn(Vec<TopicPartition>) -> HookFuture + Send + Sync>;

/// The default deadline of one hook call.
pub const DEFAULT_HOOK_DEADLINE: Duration = Duration::from_secs(10);

/// The hooks a consumer calls on rebalances (see the module docs). Cheap to clone.
///
/// ```
/// use stream_core::consumer::{RebalanceHooks, TopicPartition};
///
/// let hooks = RebalanceHooks::new()
///     .on_assigned(|partitions: Vec<TopicPartition>| async move {
///         println!("warming {} partitions", partitions.len());
///         Ok::<(), std::io::Error>(())
///     })
///     .on_revoked(|partitions: Vec<TopicPartition>| async move {
///         println!("flushing {partitions:?}");
///         Ok::<(), std::io::Error>(())
///     });
/// assert!(hooks.is_set());
/// ```
#[derive(Clone)]
pub struct RebalanceHooks {
    assigned: Option<Hook>,
    revoked: Option<Hook>,
    deadline: Duration,
}

impl Default for RebalanceHooks {
    fn default() -> Self {
        Self {
            assigned: None,
            revoked: None,
            deadline: DEFAULT_HOOK_DEADLINE,
        }
    }
}

impl fmt::Debug for RebalanceHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RebalanceHooks")
            .field("on_assigned", &self.assigned.is_some())
            .field("on_revoked", &self.revoked.is_some())
            .field("deadline", &self.deadline)
            .finish()
    }
}

fn boxed<F, Fut, E>(hook: F) -> Hook
where
    F: Fn(Vec<TopicPartition>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    Arc::new(move |partitions| {
        let fut = hook(partitions);
        Box::pin(async move { fut.await.map_err(Into::into) })
    })
}

impl RebalanceHooks {
    /// No hooks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `hook` with the partitions just assigned, before their records are handled.
    pub fn on_assigned<F, Fut, E>(mut self, hook: F) -> Self
    where
        F: Fn(Vec<TopicPartition>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        self.assigned = Some(boxed(hook));
        self
    }

    /// Calls `hook` with the partitions being revoked, after their finished offsets are
    /// committed and before they are given up.
    pub fn on_revoked<F, Fut, E>(mut self, hook: F) -> Self
    where
        F: Fn(Vec<TopicPartition>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        self.revoked = Some(boxed(hook));
        self
    }

    /// How long one hook call may take (default [`DEFAULT_HOOK_DEADLINE`]).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Whether any hook is set.
    pub fn is_set(&self) -> bool {
        self.assigned.is_some() || self.revoked.is_some()
    }

    /// Both sets of hooks: `other`'s where it has one, else these.
    pub fn merged(self, other: RebalanceHooks) -> Self {
        Self {
            assigned: other.assigned.or(self.assigned),
            revoked: other.revoked.or(self.revoked),
            deadline: other.deadline,
        }
    }

    /// Runs `on_assigned`, blocking the calling (poll) thread until it returns or its deadline
    /// passes.
    pub(super) fn assigned(
        &self,
        runtime: &tokio::runtime::Handle,
        group: &Arc<str>,
        partitions: Vec<TopicPartition>,
    ) {
        self.run(
            self.assigned.as_ref(),
            "assigned",
            runtime,
            group,
            partitions,
        );
    }

    /// Runs `on_revoked`, like [`RebalanceHooks::assigned`].
    pub(super) fn revoked(
        &self,
        runtime: &tokio::runtime::Handle,
        group: &Arc<str>,
        partitions: Vec<TopicPartition>,
    ) {
        self.run(self.revoked.as_ref(), "revoked", runtime, group, partitions);
    }

    fn run(
        &self,
        hook: Option<&Hook>,
        name: &'static str,
        runtime: &tokio::runtime::Handle,
        group: &Arc<str>,
        partitions: Vec<TopicPartition>,
    ) {
        let Some(hook) = hook else { return };
        if partitions.is_empty() {
            return;
        }
        let list: Vec<String> = partitions.iter().map(ToString::to_string).collect();
        let fut = hook(partitions);
        let deadline = self.deadline;
        let outcome = runtime.block_on(async move { tokio::time::timeout(deadline, fut).await });
        let failure = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(error)) => format!("failed: {error}"),
            Err(_) => format!("ran past its deadline of {deadline:?}; the rebalance goes on"),
        };
        families()
            .hook_failures
            .get_or_create(&[("group", Arc::clone(group)), ("hook", Arc::from(name))])
            .inc();
        #[cfg(feature = "otel")]
        crate::metrics::otlp::with(|i| {
            let attributes = [
                crate::metrics::otlp::label("group", group),
                opentelemetry::KeyValue::new("hook", name),
            ];
            i.hook_failures.add(1, &attributes);
        });
        tracing::warn!(group = %group, partitions = ?list, "rebalance hook on_{name} {failure}");
    }
}
