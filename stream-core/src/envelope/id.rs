//! Event ids: time-ordered UUIDv7, cheap enough to make one per published event.
//!
//! An envelope's `id` is its dedup key and sorts by creation time, so it is a UUIDv7
//! (RFC 9562): 48 bits of Unix milliseconds, then a 42-bit counter seeded at random each
//! millisecond, then random bits. [`new_event_id`] keeps one counter per thread, so the ids one
//! thread makes are strictly increasing and no lock is shared between threads; ids from
//! different threads are ordered by millisecond. `docs/benchmarks.md` has the measurements
//! that chose this over `Uuid::now_v7()`, whose counter sits behind one process-wide mutex.

use uuid::timestamp::context::ContextV7;
use uuid::{Timestamp, Uuid};

thread_local! {
    static CONTEXT_V7: ContextV7 = const { ContextV7::new() };
}

/// A new UUIDv7 for an event: time-ordered, and strictly increasing within a thread.
///
/// ```
/// use stream_core::envelope::id::new_event_id;
///
/// let a = new_event_id();
/// let b = new_event_id();
/// assert_eq!(a.get_version_num(), 7);
/// assert!(a < b, "ids made by one thread increase");
/// ```
#[must_use]
pub fn new_event_id() -> Uuid {
    CONTEXT_V7.with(|context| Uuid::new_v7(Timestamp::now(context)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_strictly_increasing_in_a_thread() {
        let mut last = new_event_id();
        for _ in 0..100_000 {
            let id = new_event_id();
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            assert!(id > last, "{id} after {last}");
            last = id;
        }
    }

    #[test]
    fn ids_carry_the_current_time() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let (secs, nanos) = new_event_id().get_timestamp().unwrap().to_unix();
        let millis = secs * 1000 + u64::from(nanos) / 1_000_000;
        assert!(
            millis >= before && millis <= before + 1000,
            "{millis} vs {before}"
        );
    }

    #[test]
    fn threads_make_distinct_ids() {
        let ids: Vec<Uuid> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..10_000).map(|_| new_event_id()).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }
}
