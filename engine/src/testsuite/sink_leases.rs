//! Sinks' leases and pumps: a lease held by one owner at a time, the old holder fenced off once it lapses; pumps
//! counted while alive.

use std::time::Duration;

use super::sinks::{LONG, SHORT, app_of, created, get, state_of};
use crate::domain::{Position, SinkState};
use crate::id::OrgId;
use crate::store::{Ref, Stores};

/// A pump counts as alive for its ttl: renewing does not count it twice, and one gone quiet drops out.
pub async fn sink_pumps_count_while_alive(s: Stores) {
    let long = Duration::from_secs(30);
    assert_eq!(s.sinks.pumps_alive("a", long).await.expect("a"), 1);
    assert_eq!(s.sinks.pumps_alive("b", long).await.expect("b"), 2);
    assert_eq!(
        s.sinks.pumps_alive("a", long).await.expect("a again"),
        2,
        "renewed, not added"
    );
    let short = Duration::from_millis(50);
    assert_eq!(s.sinks.pumps_alive("c", short).await.expect("c"), 3);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        s.sinks.pumps_alive("a", long).await.expect("a"),
        2,
        "c went quiet"
    );
    assert_eq!(
        s.sinks.pumps_alive("b", Duration::ZERO).await.expect("b leaves"),
        1,
        "b is gone"
    );
}

pub async fn sink_lease_is_held_by_one_owner_and_fences_the_old_holder(s: Stores) {
    let org = OrgId::generate();
    let app = app_of(&s, &org).await;
    let x = created(&s, &org, &app, None).await;
    let key = x.key();
    let sinks = &s.sinks;
    assert!(sinks.lease_sink(&key, "a", LONG).await.expect("lease"));
    assert!(
        !sinks.lease_sink(&key, "b", LONG).await.expect("lease"),
        "a live lease holds"
    );
    assert!(
        sinks.lease_sink(&key, "a", SHORT).await.expect("lease"),
        "the holder renews"
    );
    let y = created(&s, &org, &app, None).await;
    assert!(
        sinks.lease_sink(&y.key(), "b", LONG).await.expect("lease"),
        "each sink has its own lease"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !sinks.lease_sink(&key, "b", LONG).await.expect("lease") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lapsed lease was never taken over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stale = SinkState {
        position: Some(Position { ms: 1, seq: 0 }),
        ..SinkState::default()
    };
    let saved = sinks.save_sink_state(&key, &stale, "a", LONG).await;
    assert!(!saved.expect("save"), "the old holder is fenced off");
    assert_eq!(
        state_of(&s, &key).await,
        SinkState::default(),
        "a fenced save writes nothing"
    );
    let mut progress = SinkState::default();
    progress.delivered(Position { ms: 2, seq: 3 });
    assert!(
        sinks
            .save_sink_state(&key, &progress, "b", LONG)
            .await
            .expect("save")
    );
    assert_eq!(state_of(&s, &key).await, progress);

    sinks.release_sink(&key, "a").await.expect("release");
    assert!(
        !sinks.lease_sink(&key, "a", LONG).await.expect("lease"),
        "a release by a non-holder does nothing"
    );
    sinks.release_sink(&key, "b").await.expect("release");
    assert!(
        sinks.lease_sink(&key, "a", LONG).await.expect("lease"),
        "a released sink is free at once"
    );
    // Deleting the sink drops its lease: its holder can no longer write.
    sinks.delete_sink(&org, &app, &x.id).await.expect("delete");
    let saved = sinks.save_sink_state(&key, &progress, "a", LONG).await;
    assert!(!saved.expect("save"), "a deleted sink has no holder");
    assert_eq!(get(&s, &x, Ref::Id(x.id.clone())).await, None, "nor a state");

    for round in 0..5 {
        let key = created(&s, &org, &app, None).await.key();
        let racer = |owner: &'static str| {
            let (sinks, key) = (s.sinks.clone(), key.clone());
            tokio::spawn(async move { sinks.lease_sink(&key, owner, LONG).await.expect("lease") })
        };
        let (a, b) = (racer("a"), racer("b"));
        let (a, b) = (a.await.expect("a"), b.await.expect("b"));
        assert!(a != b, "round {round}: exactly one owner holds the sink");
    }
}
