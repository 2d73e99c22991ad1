//! The token-revocation port: which bearer tokens were logged out before their expiry, and which groups of tokens
//! (an application's, one portal session's) were expired at once.
//!
//! Kept apart from the records because it is cache-like (every entry expires) and must be shared by every
//! process of a deployment, so it lives where the idempotency cache does (Redis, or the embedded store).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;

/// A scope's expiry: its tokens issued at or before `issued_until` are refused from `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeExpiry {
    pub issued_until: DateTime<Utc>,
    pub from: DateTime<Utc>,
}

impl ScopeExpiry {
    /// Whether a token issued at `issued_at` is refused at `now`.
    pub fn refuses(&self, issued_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        issued_at <= self.issued_until && now >= self.from
    }

    /// Two expiries of one scope as one that lets no token live longer than either asked: the later cutoff and
    /// the earlier start. (A token issued between the two cutoffs may so lose some of the second call's grace.)
    pub fn merge(self, other: Self) -> Self {
        Self {
            issued_until: self.issued_until.max(other.issued_until),
            from: self.from.min(other.from),
        }
    }
}

#[async_trait]
pub trait TokenRevocations: Send + Sync {
    /// Marks the token with unique id `jti` revoked until `until` (its own expiry: after that it is refused as
    /// expired anyway, so the entry may be forgotten). Idempotent: revoking again keeps it revoked, until the
    /// later of the two times.
    async fn revoke(&self, jti: &str, until: DateTime<Utc>) -> StoreResult<()>;

    /// Whether `jti` is revoked now. An id never revoked, or whose revocation has passed `until`, is not.
    async fn is_revoked(&self, jti: &str) -> StoreResult<bool>;

    /// Expires the tokens of `scope` (an opaque name chosen by the caller) as `expiry` says; the entry may be
    /// forgotten after `until` (when every token it refuses has expired anyway). Expiring a scope again keeps one
    /// entry: the [`ScopeExpiry::merge`] of both, until the later `until`.
    async fn expire_scope(&self, scope: &str, expiry: ScopeExpiry, until: DateTime<Utc>) -> StoreResult<()>;

    /// The expiry of `scope` in force, if any (`None` once its `until` has passed).
    async fn scope_expiry(&self, scope: &str) -> StoreResult<Option<ScopeExpiry>>;
}
