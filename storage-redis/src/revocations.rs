//! Revoked token ids on Redis: one key per id, `P:revoked:<jti>`, that expires when the token does, so the set
//! is exactly the live revocations with no sweeping; likewise one key per expired scope, `P:expired-scope:<scope>`.
//! One key per operation keeps it Redis Cluster safe.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use xwebhook_engine::store::{ScopeExpiry, StoreResult, TokenRevocations};

use crate::RedisStore;
use crate::error::Context as _;

/// Sets the key to expire at `until`, or moves an existing key's expiry later (never earlier), so that revoking
/// twice keeps the later time. KEYS: the key. ARGV: `until` in Unix ms.
static REVOKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if not redis.call('SET', KEYS[1], '1', 'NX', 'PXAT', ARGV[1]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1], 'GT')
end
return 1
",
    )
});

/// Keeps one expiry per scope, merged as [`ScopeExpiry::merge`] says, as `<issued_until ms> <from ms>`, and moves
/// the key's expiry later, never earlier. KEYS: the key. ARGV: issued_until ms, from ms, until ms.
static EXPIRE_SCOPE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local issued, from = tonumber(ARGV[1]), tonumber(ARGV[2])
local old = redis.call('GET', KEYS[1])
if old then
  local old_issued, old_from = string.match(old, '^(%d+) (%d+)$')
  issued = math.max(issued, tonumber(old_issued))
  from = math.min(from, tonumber(old_from))
end
redis.call('SET', KEYS[1], string.format('%.0f %.0f', issued, from), 'KEEPTTL')
if not old then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[3], 'GT')
end
return 1
",
    )
});

impl RedisStore {
    fn expired_scope_key(&self, scope: &str) -> String {
        self.keys.key(&["expired-scope", scope])
    }

    fn revoked_key(&self, jti: &str) -> String {
        self.keys.key(&["revoked", jti])
    }
}

#[async_trait]
impl TokenRevocations for RedisStore {
    async fn revoke(&self, jti: &str, until: DateTime<Utc>) -> StoreResult<()> {
        // Redis rejects a non-positive expiry time; a moment long past is as good as the epoch's first ms.
        let until_ms = until.timestamp_millis().max(1);
        let mut conn = self.pool.get().await?;
        let _: i64 = REVOKE
            .key(self.revoked_key(jti))
            .arg(until_ms)
            .invoke_async(&mut conn)
            .await
            .redis("cannot revoke a token")?;
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> StoreResult<bool> {
        let mut conn = self.pool.get().await?;
        let found: bool = redis::cmd("EXISTS")
            .arg(self.revoked_key(jti))
            .query_async(&mut conn)
            .await
            .redis("cannot check a revoked token")?;
        Ok(found)
    }

    async fn expire_scope(&self, scope: &str, expiry: ScopeExpiry, until: DateTime<Utc>) -> StoreResult<()> {
        let mut conn = self.pool.get().await?;
        let _: i64 = EXPIRE_SCOPE
            .key(self.expired_scope_key(scope))
            .arg(expiry.issued_until.timestamp_millis())
            .arg(expiry.from.timestamp_millis())
            .arg(until.timestamp_millis().max(1))
            .invoke_async(&mut conn)
            .await
            .redis("cannot expire a token scope")?;
        Ok(())
    }

    async fn scope_expiry(&self, scope: &str) -> StoreResult<Option<ScopeExpiry>> {
        let mut conn = self.pool.get().await?;
        let found: Option<String> = redis::cmd("GET")
            .arg(self.expired_scope_key(scope))
            .query_async(&mut conn)
            .await
            .redis("cannot read a token scope's expiry")?;
        Ok(found.as_deref().and_then(parse_scope_expiry))
    }
}

/// `<issued_until ms> <from ms>`, as [`EXPIRE_SCOPE`] writes it; anything else (written by no version of ours) is
/// ignored rather than refusing every token of the scope.
fn parse_scope_expiry(value: &str) -> Option<ScopeExpiry> {
    let (issued_until, from) = value.split_once(' ')?;
    let millis = |v: &str| v.parse().ok().and_then(DateTime::from_timestamp_millis);
    Some(ScopeExpiry {
        issued_until: millis(issued_until)?,
        from: millis(from)?,
    })
}
