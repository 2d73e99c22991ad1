//! Endpoint health on Redis: one string key per failing endpoint, `P:health:<org>:<app>:<ep>`, holding the
//! streak's start in Unix milliseconds. One key per operation, so any cluster slot will do; expiry is Redis's
//! own, renewed by every failure note, so the keys of deleted or quiet endpoints go away by themselves.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use redis::Script;
use xwebhook_engine::id::{AppId, EndpointId, OrgId};
use xwebhook_engine::store::{EndpointHealth, StoreError, StoreErrorKind, StoreResult};

use crate::RedisStore;
use crate::error::Context as _;

/// Starts a streak unless one is stored, renews its expiry, and returns its start, atomically (racing workers
/// must agree on one start). KEYS: the endpoint's key. ARGV: the failure's time in ms, TTL in ms.
static NOTE_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('SET', KEYS[1], ARGV[1], 'NX')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('GET', KEYS[1])
",
    )
});

impl RedisStore {
    fn health_key(&self, org: &OrgId, app: &AppId, endpoint: &EndpointId) -> String {
        self.keys
            .key(&["health", org.as_str(), app.as_str(), endpoint.as_str()])
    }
}

#[async_trait]
impl EndpointHealth for RedisStore {
    async fn note_failure(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        at: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<DateTime<Utc>> {
        // Redis rejects a zero expiry; a sub-millisecond TTL is as good as one millisecond.
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.pool.get().await?;
        let since_ms: i64 = NOTE_FAILURE
            .key(self.health_key(org, app, endpoint))
            .arg(at.timestamp_millis())
            .arg(ttl_ms)
            .invoke_async(&mut conn)
            .await
            .redis("cannot note an endpoint failure")?;
        Utc.timestamp_millis_opt(since_ms)
            .single()
            .ok_or_else(|| StoreError::new(StoreErrorKind::Internal, "a stored streak start is out of range"))
    }

    async fn note_success(&self, org: &OrgId, app: &AppId, endpoint: &EndpointId) -> StoreResult<()> {
        let mut conn = self.pool.get().await?;
        redis::cmd("DEL")
            .arg(self.health_key(org, app, endpoint))
            .query_async::<()>(&mut conn)
            .await
            .redis("cannot clear an endpoint's failing streak")
    }
}
