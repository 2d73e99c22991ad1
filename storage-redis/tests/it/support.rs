//! The test backend: a `RedisStore` on the local Redis under a fresh key prefix, whose keys are deleted when
//! the case ends (pass or panic).

use std::sync::Arc;

use xwebhook_engine::store::Stores;
use xwebhook_engine::testsuite::Backend;
use xwebhook_storage_redis::{RedisConfig, RedisStore};

/// The Redis every test shares (see `scripts/check-services`); `XWEBHOOK_TEST_REDIS_URL` points elsewhere.
pub fn redis_url() -> String {
    std::env::var("XWEBHOOK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Deletes every key under `prefix` when dropped.
pub struct PrefixGuard {
    url: String,
    pub prefix: String,
}

impl Drop for PrefixGuard {
    fn drop(&mut self) {
        // Best effort with a blocking client: `Drop` cannot await, and a failed cleanup only leaves garbage
        // under a prefix nobody reuses.
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection()) else {
            return;
        };
        let _ = delete_prefix(&mut conn, &self.prefix);
    }
}

fn delete_prefix(conn: &mut redis::Connection, prefix: &str) -> redis::RedisResult<()> {
    let pattern = format!("{prefix}:*");
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query(conn)?;
        if !keys.is_empty() {
            redis::cmd("UNLINK").arg(&keys).query::<()>(conn)?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// A store under a prefix no other test uses, and the guard that cleans it up.
pub async fn store() -> (Arc<RedisStore>, PrefixGuard) {
    let url = redis_url();
    let prefix = format!("xwt:{}", ulid::Ulid::new());
    let mut config = RedisConfig::new(url.clone());
    config.prefix = prefix.clone();
    config.pool_size = 4;
    let store = RedisStore::connect(config)
        .await
        .expect("connect to the test Redis");
    (store, PrefixGuard { url, prefix })
}

/// The conformance suite's factory.
pub async fn fresh() -> Backend {
    let (store, guard) = store().await;
    Backend::with_guard(Stores::from_one(store), guard)
}

/// A blocking connection for inspecting keys directly.
pub fn raw() -> redis::Connection {
    redis::Client::open(redis_url())
        .and_then(|c| c.get_connection())
        .expect("connect to the test Redis")
}

/// Every key matching `pattern` (a SCAN glob).
pub fn keys_matching(conn: &mut redis::Connection, pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(conn)
            .expect("scan");
        out.extend(keys);
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}
