//! Claims in the Redis dedup store (real redis-server): before a handler runs, its event id is
//! claimed atomically, so two instances that both receive an id (after a rebalance, or a
//! duplicate on two partitions) never both run it; a done id stays done, a failed handler's claim
//! is released, a killed instance's claims are taken over by its next run, and an unnamed dead
//! instance's claims lapse after the lease.

use std::time::Duration;

use stream_core::reliability::dedup::redis::RedisDedupStore;
use stream_core::reliability::dedup::{Claim, ClaimOwner, DedupKey, DedupStore};
use stream_core::testing;
use uuid::Uuid;

/// A store on the test Redis with keys of its own, as one service instance has it.
fn store(prefix: &str) -> RedisDedupStore {
    RedisDedupStore::new(&testing::redis_url())
        .unwrap()
        .prefix(prefix)
}

fn key() -> DedupKey {
    DedupKey::new("risk", "risk.signals", "paper", Uuid::now_v7())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_instances_claiming_one_id_at_once_exactly_one_gets_it() {
    let prefix = testing::unique_name("claims-race");
    let (a, b) = (store(&prefix), store(&prefix));
    let (owner_a, owner_b) = (
        ClaimOwner::new(Some("risk-a")),
        ClaimOwner::new(Some("risk-b")),
    );
    for _ in 0..300 {
        let key = key();
        let (ra, rb) = tokio::join!(a.claim(&key, &owner_a), b.claim(&key, &owner_b));
        let mut got = [ra.unwrap(), rb.unwrap()];
        got.sort_by_key(|c| *c != Claim::Acquired);
        assert_eq!(got, [Claim::Acquired, Claim::Held], "{key}");
    }
}

#[tokio::test]
async fn a_done_id_is_done_for_everyone_and_a_released_one_is_free_again() {
    let prefix = testing::unique_name("claims-done");
    let s = store(&prefix);
    let (a, b) = (
        ClaimOwner::new(Some("risk-a")),
        ClaimOwner::new(Some("risk-b")),
    );
    let done = key();
    assert_eq!(s.claim(&done, &a).await.unwrap(), Claim::Acquired);
    assert!(
        !s.is_done(&done).await.unwrap(),
        "a claim is not a done mark"
    );
    s.mark_done(&done).await.unwrap();
    assert!(s.is_done(&done).await.unwrap());
    assert_eq!(s.claim(&done, &b).await.unwrap(), Claim::Done);
    assert_eq!(s.claim(&done, &a).await.unwrap(), Claim::Done);

    let failed = key();
    assert_eq!(s.claim(&failed, &a).await.unwrap(), Claim::Acquired);
    assert_eq!(s.claim(&failed, &b).await.unwrap(), Claim::Held);
    s.release(&failed, &a).await.unwrap();
    assert_eq!(s.claim(&failed, &b).await.unwrap(), Claim::Acquired);
    // A release by someone who no longer holds the claim leaves the holder's claim alone.
    s.release(&failed, &a).await.unwrap();
    let c = ClaimOwner::new(Some("risk-c"));
    assert_eq!(s.claim(&failed, &c).await.unwrap(), Claim::Held);
    // Claiming again what one holds renews it.
    assert_eq!(s.claim(&failed, &b).await.unwrap(), Claim::Acquired);
}

#[tokio::test]
async fn a_restarted_instance_takes_over_the_claims_of_its_killed_run() {
    let prefix = testing::unique_name("claims-restart");
    let s = store(&prefix);
    let killed = ClaimOwner::new(Some("risk-a"));
    let id = key();
    assert_eq!(s.claim(&id, &killed).await.unwrap(), Claim::Acquired);
    let other = ClaimOwner::new(Some("risk-b"));
    assert_eq!(s.claim(&id, &other).await.unwrap(), Claim::Held);
    let restarted = ClaimOwner::new(Some("risk-a"));
    assert_eq!(s.claim(&id, &restarted).await.unwrap(), Claim::Acquired);
    // The claim is the new run's now: the killed run's release does not free it.
    s.release(&id, &killed).await.unwrap();
    assert_eq!(s.claim(&id, &other).await.unwrap(), Claim::Held);
    // An instance whose name only starts with the holder's is another instance.
    let longer = ClaimOwner::new(Some("risk-a2"));
    assert_eq!(s.claim(&id, &longer).await.unwrap(), Claim::Held);
}

#[tokio::test]
async fn an_unnamed_instances_claims_lapse_after_the_lease_and_only_then() {
    let prefix = testing::unique_name("claims-lease");
    let s = store(&prefix).claim_lease(Duration::from_millis(400));
    let (dead, next) = (ClaimOwner::new(None), ClaimOwner::new(None));
    let id = key();
    assert_eq!(s.claim(&id, &dead).await.unwrap(), Claim::Acquired);
    assert_eq!(
        s.claim(&id, &next).await.unwrap(),
        Claim::Held,
        "unnamed runs never take over each other's claims"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.claim(&id, &next).await.unwrap(), Claim::Acquired);
}
