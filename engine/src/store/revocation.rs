//! The token-revocation port: which bearer tokens were logged out before their expiry.
//!
//! Kept apart from the records because it is cache-like (every entry expires) and must be shared by every
//! process of a deployment, so it lives where the idempotency cache does (Redis, or the embedded store).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;

#[async_trait]
pub trait TokenRevocations: Send + Sync {
    /// Marks the token with unique id `jti` revoked until `until` (its own expiry: after that it is refused as
    /// expired anyway, so the entry may be forgotten). Idempotent: revoking again keeps it revoked, until the
    /// later of the two times.
    async fn revoke(&self, jti: &str, until: DateTime<Utc>) -> StoreResult<()>;

    /// Whether `jti` is revoked now. An id never revoked, or whose revocation has passed `until`, is not.
    async fn is_revoked(&self, jti: &str) -> StoreResult<bool>;
}
