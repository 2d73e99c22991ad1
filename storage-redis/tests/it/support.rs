//! The test backend: a `RedisStore` on the local Redis under a fresh key prefix, whose keys are deleted when
//! the case ends (pass or panic).

use std::sync::Arc;

use xwebhook_engine::store::Stores;
use xwebhook_engine::testsuite::Backend;
use xwebhook_storage_redis::scratch::ScratchPrefix;
pub use xwebhook_storage_redis::scratch::local_url as redis_url;
use xwebhook_storage_redis::{RedisConfig, RedisStore};

/// A store under a prefix no other test uses, and the guard that cleans it up.
pub async fn store() -> (Arc<RedisStore>, ScratchPrefix) {
    let scratch = ScratchPrefix::new("xwt");
    let mut config = RedisConfig::new(scratch.url.clone());
    config.prefix = scratch.prefix.clone();
    config.pool_size = 4;
    let store = RedisStore::connect(config)
        .await
        .expect("connect to the test Redis");
    (store, scratch)
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
