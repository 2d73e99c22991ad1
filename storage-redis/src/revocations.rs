//! Revoked token ids on Redis: one key per id, `P:revoked:<jti>`, that expires when the token does, so the set
//! is exactly the live revocations with no sweeping. One key per operation keeps it Redis Cluster safe.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use xwebhook_engine::store::{StoreResult, TokenRevocations};

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

impl RedisStore {
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
}
