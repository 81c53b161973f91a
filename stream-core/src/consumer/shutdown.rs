//! [`ShutdownHandle`]: stops a running consumer from anywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Stops a running consumer from anywhere; cheap to clone.
///
/// ```
/// let handle = stream_core::consumer::ShutdownHandle::new();
/// assert!(!handle.is_requested());
/// handle.shutdown();
/// assert!(handle.is_requested());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ShutdownHandle {
    pub(super) inner: Arc<ShutdownInner>,
}

#[derive(Debug, Default)]
pub(super) struct ShutdownInner {
    pub(super) requested: AtomicBool,
    pub(super) notify: Notify,
}

impl ShutdownHandle {
    /// A handle nobody has triggered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the consumer to stop: stop fetching, finish in-flight messages within the shutdown
    /// timeout, commit, leave the group.
    pub fn shutdown(&self) {
        self.inner.requested.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether a shutdown was asked for.
    pub fn is_requested(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// Resolves once a shutdown is asked for.
    pub async fn requested(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }
}
