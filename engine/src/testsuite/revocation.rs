//! Token revocations: revoked until the given time, per id, and idempotent.

use chrono::{Duration, Utc};

use crate::store::Stores;

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
