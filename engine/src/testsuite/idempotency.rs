//! The idempotency cache: one claim among racers, replay, release, expiry.

use std::time::Duration;

use crate::id::OrgId;
use crate::store::{CachedResponse, IdempotencyState, Stores};

const LOCK: Duration = Duration::from_secs(30);
const TTL: Duration = Duration::from_secs(3600);

/// A key no other case (or run against a shared server) uses.
fn fresh_key() -> String {
    format!("{}:POST:/api/v1/app/:key", OrgId::generate())
}

fn response() -> CachedResponse {
    CachedResponse {
        status: 201,
        body: br#"{"id":"app_1"}"#.to_vec(),
    }
}

pub async fn idempotency_begin_race(s: Stores) {
    let key = fresh_key();
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let (cache, key) = (s.idempotency.clone(), key.clone());
            tokio::spawn(async move { cache.begin(&key, LOCK).await.expect("begin") })
        })
        .collect();
    let mut started = 0;
    for r in racers {
        match r.await.expect("racer") {
            IdempotencyState::Started => started += 1,
            IdempotencyState::InProgress => {}
            IdempotencyState::Completed(c) => panic!("nothing completed yet, got {c:?}"),
        }
    }
    assert_eq!(started, 1, "exactly one racer holds the key");
}

pub async fn idempotency_complete_then_replay(s: Stores) {
    let key = fresh_key();
    assert_eq!(
        s.idempotency.begin(&key, LOCK).await.expect("begin"),
        IdempotencyState::Started
    );
    assert_eq!(
        s.idempotency.begin(&key, LOCK).await.expect("begin"),
        IdempotencyState::InProgress
    );
    s.idempotency
        .complete(&key, &response(), TTL)
        .await
        .expect("complete");
    let replay = s.idempotency.begin(&key, LOCK).await.expect("begin");
    assert_eq!(replay, IdempotencyState::Completed(response()));
    let other = s.idempotency.begin(&fresh_key(), LOCK).await.expect("begin");
    assert_eq!(other, IdempotencyState::Started, "keys are independent");
}

/// A response far above any one-MiB value limit (and not UTF-8) is kept and replayed byte for byte: the API
/// caches every 2xx, and a response it could not keep would let the request's retry run twice.
pub async fn idempotency_large_response(s: Stores) {
    let key = fresh_key();
    assert_eq!(
        s.idempotency.begin(&key, LOCK).await.expect("begin"),
        IdempotencyState::Started
    );
    let large = CachedResponse {
        status: 202,
        body: (0..6 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect(),
    };
    s.idempotency
        .complete(&key, &large, TTL)
        .await
        .expect("a large response is kept");
    match s.idempotency.begin(&key, LOCK).await.expect("begin") {
        IdempotencyState::Completed(replayed) => assert!(replayed == large, "replayed byte for byte"),
        other => panic!("expected the large response, got {other:?}"),
    }
}

pub async fn idempotency_abandon_then_begin(s: Stores) {
    let key = fresh_key();
    assert_eq!(
        s.idempotency.begin(&key, LOCK).await.expect("begin"),
        IdempotencyState::Started
    );
    s.idempotency.abandon(&key).await.expect("abandon");
    assert_eq!(
        s.idempotency.begin(&key, LOCK).await.expect("begin"),
        IdempotencyState::Started,
        "runs afresh"
    );
    s.idempotency
        .abandon(&fresh_key())
        .await
        .expect("abandoning an unknown key is harmless");
}

pub async fn idempotency_stale_claim_expires(s: Stores) {
    let key = fresh_key();
    // Long enough that two calls in a row fall inside it on a loaded machine.
    let short = Duration::from_millis(400);
    assert_eq!(
        s.idempotency.begin(&key, short).await.expect("begin"),
        IdempotencyState::Started
    );
    assert_eq!(
        s.idempotency.begin(&key, short).await.expect("begin"),
        IdempotencyState::InProgress
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let reclaimed = s.idempotency.begin(&key, LOCK).await.expect("begin");
    assert_eq!(
        reclaimed,
        IdempotencyState::Started,
        "a crashed holder's claim lapses"
    );

    let done = fresh_key();
    assert_eq!(
        s.idempotency.begin(&done, LOCK).await.expect("begin"),
        IdempotencyState::Started
    );
    s.idempotency
        .complete(&done, &response(), short)
        .await
        .expect("complete");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let expired = s.idempotency.begin(&done, LOCK).await.expect("begin");
    assert_eq!(
        expired,
        IdempotencyState::Started,
        "a completed entry expires after its ttl"
    );
}
