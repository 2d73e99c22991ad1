//! Token revocations: revoked until the given time, per id, and idempotent.

use chrono::{Duration, Utc};

use crate::store::{ScopeExpiry, Stores};

/// An id no other case (or run against a shared server) uses.
fn fresh_jti() -> String {
    format!("jti_{}", ulid::Ulid::new())
}

pub async fn revocation_revoke_then_check(s: Stores) {
    let (revoked, other) = (fresh_jti(), fresh_jti());
    assert!(!s.revocations.is_revoked(&revoked).await.expect("check"));
    let until = Utc::now() + Duration::hours(1);
    s.revocations.revoke(&revoked, until).await.expect("revoke");
    assert!(s.revocations.is_revoked(&revoked).await.expect("check"));
    assert!(
        !s.revocations.is_revoked(&other).await.expect("check"),
        "revoking one token leaves others alone"
    );
    // Idempotent, and a second revocation with an earlier time does not cut the first one short.
    s.revocations
        .revoke(&revoked, Utc::now() - Duration::hours(1))
        .await
        .expect("revoke again");
    assert!(s.revocations.is_revoked(&revoked).await.expect("check"));
}

pub async fn revocation_lapses_at_until(s: Stores) {
    let jti = fresh_jti();
    // Already past: the token has expired, so there is nothing left to refuse.
    s.revocations
        .revoke(&jti, Utc::now() - Duration::seconds(1))
        .await
        .expect("revoke");
    assert!(!s.revocations.is_revoked(&jti).await.expect("check"));
}

fn fresh_scope() -> String {
    format!("app_{}", ulid::Ulid::new())
}

pub async fn revocation_scope_expiry_merges_and_lapses(s: Stores) {
    let (scope, other) = (fresh_scope(), fresh_scope());
    // Stores keep milliseconds.
    let now = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("now");
    assert_eq!(s.revocations.scope_expiry(&scope).await.expect("read"), None);
    let first = ScopeExpiry {
        issued_until: now,
        from: now + Duration::minutes(10),
    };
    let until = now + Duration::days(7);
    s.revocations
        .expire_scope(&scope, first, until)
        .await
        .expect("expire");
    assert_eq!(
        s.revocations.scope_expiry(&scope).await.expect("read"),
        Some(first)
    );
    assert_eq!(
        s.revocations.scope_expiry(&other).await.expect("read"),
        None,
        "scopes are apart"
    );
    // A second call for the same scope: the later cutoff and the earlier start.
    let second = ScopeExpiry {
        issued_until: now + Duration::seconds(5),
        from: now + Duration::minutes(20),
    };
    s.revocations
        .expire_scope(&scope, second, until - Duration::days(1))
        .await
        .expect("expire again");
    let merged = ScopeExpiry {
        issued_until: second.issued_until,
        from: first.from,
    };
    assert_eq!(
        s.revocations.scope_expiry(&scope).await.expect("read"),
        Some(merged)
    );

    let lapsed = fresh_scope();
    s.revocations
        .expire_scope(&lapsed, first, now - Duration::seconds(1))
        .await
        .expect("expire");
    assert_eq!(
        s.revocations.scope_expiry(&lapsed).await.expect("read"),
        None,
        "an entry past its `until` is forgotten"
    );
}
