//! The idempotency cache on Redis: one string key per idempotency key, `P:idem:<key>`, holding `started`
//! while a request runs (with the claim's TTL) and then the JSON of the response to replay (with the replay
//! TTL). Expiry is Redis's own, so a crashed holder's claim lapses without any sweeping.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use xwebhook_engine::store::{
    CachedResponse, IdempotencyCache, IdempotencyState, StoreError, StoreErrorKind, StoreResult,
};

use crate::RedisStore;
use crate::error::{Context as _, decode_err};

/// The value of a claimed key. A completed entry is a JSON object, so it can never be mistaken for it.
const STARTED: &str = "started";

/// Claims the key or reports what holds it, atomically: a plain `SET NX` then `GET` could find the key gone in
/// between (the claim lapsed) and have nothing to report. KEYS: the key. ARGV: claim value, TTL in ms.
/// Returns `false` when claimed, else the current value.
static BEGIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
",
    )
});

/// Deletes the key only while it is still a claim: a request that failed must not erase a response that
/// another request (holding a later claim) completed. KEYS: the key. ARGV: claim value.
static ABANDON: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// Redis rejects a zero expiry; a sub-millisecond TTL is as good as one millisecond.
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    fn idempotency_key(&self, key: &str) -> String {
        self.keys.key(&["idem", key])
    }
}

#[async_trait]
impl IdempotencyCache for RedisStore {
    async fn begin(&self, key: &str, lock_ttl: Duration) -> StoreResult<IdempotencyState> {
        let mut conn = self.pool.get().await?;
        let current: Option<Vec<u8>> = BEGIN
            .key(self.idempotency_key(key))
            .arg(STARTED)
            .arg(millis(lock_ttl))
            .invoke_async(&mut conn)
            .await
            .redis("cannot claim an idempotency key")?;
        match current {
            None => Ok(IdempotencyState::Started),
            Some(v) if v == STARTED.as_bytes() => Ok(IdempotencyState::InProgress),
            Some(v) => serde_json::from_slice(&v)
                .map(IdempotencyState::Completed)
                .map_err(|e| decode_err("cannot decode a cached idempotent response", e)),
        }
    }

    async fn complete(&self, key: &str, response: &CachedResponse, ttl: Duration) -> StoreResult<()> {
        let json = serde_json::to_vec(response).map_err(|e| {
            StoreError::with_source(
                StoreErrorKind::Internal,
                "cannot encode an idempotent response",
                e,
            )
        })?;
        let mut conn = self.pool.get().await?;
        redis::cmd("SET")
            .arg(self.idempotency_key(key))
            .arg(json)
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<()>(&mut conn)
            .await
            .redis("cannot store an idempotent response")
    }

    async fn abandon(&self, key: &str) -> StoreResult<()> {
        let mut conn = self.pool.get().await?;
        let _deleted: u64 = ABANDON
            .key(self.idempotency_key(key))
            .arg(STARTED)
            .invoke_async(&mut conn)
            .await
            .redis("cannot release an idempotency key")?;
        Ok(())
    }

    async fn probe(&self) -> StoreResult<()> {
        self.pool.ping().await
    }
}
