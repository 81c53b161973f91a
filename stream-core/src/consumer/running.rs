//! [`RunningIds`]: the event ids a concurrent partition worker is handling right now, so that
//! two deliveries of one event never run at the same time.
//!
//! The dedup store cannot tell them apart: both claims come from the same consumer run, and a
//! claim asked for again by its holder is renewed, not refused. A partition handled one record
//! at a time never has two at once; one handled concurrently makes the later delivery wait until
//! the earlier is finished, then claim the id as usual (done by then: skipped).

use std::sync::Mutex;

use foldhash::HashSet;
use futures::future::BoxFuture;
use tokio::sync::Notify;

use crate::consumer::partition::PartitionControl;

/// The event ids being handled in one partition.
#[derive(Default)]
pub(super) struct RunningIds {
    ids: Mutex<HashSet<uuid::Uuid>>,
    freed: Notify,
}

/// An id entered in [`RunningIds`]; dropping it frees the id.
pub(super) struct Running<'a> {
    ids: &'a RunningIds,
    id: uuid::Uuid,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.ids.ids.lock().expect("running ids").remove(&self.id);
        self.ids.freed.notify_waiters();
    }
}

impl RunningIds {
    /// Enters `id`, waiting while another delivery of it runs; `None` when the partition stops
    /// first.
    ///
    /// Boxed: waiting is rare, and its state would otherwise be carried in every message's
    /// future.
    pub(super) fn enter<'a>(
        &'a self,
        id: uuid::Uuid,
        part: &'a PartitionControl,
    ) -> BoxFuture<'a, Option<Running<'a>>> {
        Box::pin(async move {
            loop {
                let freed = self.freed.notified();
                let stopped = part.stopped.notified();
                if part.is_stopped() {
                    return None;
                }
                if self.ids.lock().expect("running ids").insert(id) {
                    return Some(Running { ids: self, id });
                }
                tokio::select! {
                    () = freed => {}
                    () = stopped => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use crate::consumer::commit_trigger::CommitTrigger;

    fn control() -> PartitionControl {
        PartitionControl {
            offsets: Default::default(),
            commits: Arc::new(CommitTrigger::new(1)),
            stop: AtomicBool::new(false),
            stopped: Notify::new(),
        }
    }

    #[tokio::test]
    async fn a_second_delivery_waits_until_the_first_is_done() {
        let (ids, part) = (RunningIds::default(), control());
        let id = uuid::Uuid::now_v7();
        let first = ids.enter(id, &part).await.expect("entered");
        let mut second = ids.enter(id, &part);
        assert!(futures::poll!(second.as_mut()).is_pending());
        let other = ids.enter(uuid::Uuid::now_v7(), &part).await;
        assert!(other.is_some(), "another id runs at once");
        drop(first);
        assert!(second.await.is_some());
    }

    #[tokio::test]
    async fn a_waiting_delivery_gives_up_when_the_partition_stops() {
        let (ids, part) = (RunningIds::default(), control());
        let id = uuid::Uuid::now_v7();
        let _first = ids.enter(id, &part).await.expect("entered");
        let mut second = ids.enter(id, &part);
        assert!(futures::poll!(second.as_mut()).is_pending());
        part.request_stop();
        assert!(second.await.is_none());
    }
}
