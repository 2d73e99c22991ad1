//! Endpoint health: a failing streak keeps its first failure, ends on success, lapses after its TTL, and
//! racing workers agree on one start.

use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};

use crate::id::{AppId, EndpointId, OrgId};
use crate::store::Stores;

const LONG: Duration = Duration::from_secs(3600);

/// A fresh endpoint address no other case (or run against a shared server) uses.
fn fresh() -> (OrgId, AppId, EndpointId) {
    (OrgId::generate(), AppId::generate(), EndpointId::generate())
}

/// Streak starts are kept to the millisecond: build test times that way so they compare exactly.
fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().expect("valid time")
}

pub async fn endpoint_health_streak_keeps_first_failure(s: Stores) {
    let h = &s.endpoint_health;
    let (org, app, ep) = fresh();
    let t0 = Utc::now().timestamp_millis();
    let first = h
        .note_failure(&org, &app, &ep, at_ms(t0), LONG)
        .await
        .expect("note");
    assert_eq!(first, at_ms(t0), "a new streak starts at the failure");
    let again = h
        .note_failure(&org, &app, &ep, at_ms(t0 + 5_000), LONG)
        .await
        .expect("note");
    assert_eq!(again, at_ms(t0), "a later failure keeps the streak's start");

    let other = EndpointId::generate();
    let theirs = h
        .note_failure(&org, &app, &other, at_ms(t0 + 7_000), LONG)
        .await
        .expect("note");
    assert_eq!(theirs, at_ms(t0 + 7_000), "endpoints have streaks of their own");

    h.note_success(&org, &app, &ep).await.expect("success");
    let fresh_start = h
        .note_failure(&org, &app, &ep, at_ms(t0 + 9_000), LONG)
        .await
        .expect("note");
    assert_eq!(fresh_start, at_ms(t0 + 9_000), "a success ends the streak");
    let untouched = h
        .note_failure(&org, &app, &other, at_ms(t0 + 9_000), LONG)
        .await
        .expect("note");
    assert_eq!(
        untouched,
        at_ms(t0 + 7_000),
        "a success ends only its endpoint's streak"
    );

    let (o2, a2, e2) = fresh();
    h.note_success(&o2, &a2, &e2)
        .await
        .expect("a success without a streak is harmless");
}

pub async fn endpoint_health_streak_lapses(s: Stores) {
    let h = &s.endpoint_health;
    let (org, app, ep) = fresh();
    let ttl = Duration::from_millis(100);
    let t0 = Utc::now().timestamp_millis();
    h.note_failure(&org, &app, &ep, at_ms(t0), ttl)
        .await
        .expect("note");
    // Each probe renews the streak for `ttl`, so probes are spaced further apart than that.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(ttl + Duration::from_millis(50)).await;
        let now = Utc::now().timestamp_millis();
        let start = h
            .note_failure(&org, &app, &ep, at_ms(now), ttl)
            .await
            .expect("note");
        if start == at_ms(now) {
            break;
        }
        assert_eq!(start, at_ms(t0), "until it lapses, the streak keeps its start");
        assert!(tokio::time::Instant::now() < deadline, "the streak never lapsed");
    }
}

pub async fn endpoint_health_racers_agree(s: Stores) {
    let (org, app, ep) = fresh();
    let t0 = Utc::now().timestamp_millis();
    let racers: Vec<_> = (0..16)
        .map(|i| {
            let (h, org, app, ep) = (s.endpoint_health.clone(), org.clone(), app.clone(), ep.clone());
            tokio::spawn(async move {
                h.note_failure(&org, &app, &ep, at_ms(t0 + i), LONG)
                    .await
                    .expect("note")
            })
        })
        .collect();
    let mut starts = Vec::new();
    for r in racers {
        starts.push(r.await.expect("racer"));
    }
    let first = starts[0];
    assert!(
        starts.iter().all(|s| *s == first),
        "every racer sees one start: {starts:?}"
    );
    assert!(
        (t0..t0 + 16).contains(&first.timestamp_millis()),
        "the start is one racer's failure"
    );
}
