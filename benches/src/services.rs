//! The local Redis and Postgres, as the benches use them: each run under its own key prefix or schema, removed
//! when the guard drops. Benches are not tests: a bench whose service is not reachable prints why and is
//! skipped; any other failure is a broken bench and panics with the reason.

use std::sync::Arc;

use xwebhook_engine::store::{StoreErrorKind, StoreResult};
use xwebhook_storage_postgres::PostgresStore;
use xwebhook_storage_postgres::scratch::ScratchSchema;
use xwebhook_storage_redis::scratch::ScratchPrefix;
use xwebhook_storage_redis::{RedisConfig, RedisStore};

/// The connected backend, or `None` after printing why `bench` is skipped when `service` is not reachable.
fn connected_or_skip<T>(bench: &str, service: &str, connected: StoreResult<T>) -> Option<T> {
    match connected {
        Ok(backend) => Some(backend),
        Err(e) if matches!(e.kind, StoreErrorKind::Unavailable | StoreErrorKind::Timeout) => {
            eprintln!("{bench}: skipped, {service} is not reachable: {e}");
            None
        }
        Err(e) => panic!("{bench}: cannot set up {service}: {e}"),
    }
}

/// A Redis store under a key prefix no one else uses, and the guard that deletes its keys; `None` (with a
/// message) when Redis is not reachable. A setup that panics may leave keys under its prefix: nobody reuses it.
pub async fn redis_store(bench: &str) -> Option<(Arc<RedisStore>, ScratchPrefix)> {
    let scratch = ScratchPrefix::new("xwbench");
    let mut config = RedisConfig::new(scratch.url.clone());
    config.prefix = scratch.prefix.clone();
    let store = connected_or_skip(bench, "Redis", RedisStore::connect(config).await)?;
    Some((store, scratch))
}

/// A migrated Postgres store in a fresh schema, and the guard that drops the schema; `None` (with a message)
/// when Postgres is not reachable. A setup that panics may leave its schema behind: nobody reuses the name.
pub async fn postgres_store(bench: &str) -> Option<(Arc<PostgresStore>, ScratchSchema)> {
    let scratch = ScratchSchema::new("xwbench");
    let store = connected_or_skip(bench, "Postgres", PostgresStore::connect(&scratch.config()).await)?;
    Some((store, scratch))
}
