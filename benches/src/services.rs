//! The local Redis and Postgres, as the benches use them: each run under its own key prefix or schema, removed
//! when the guard drops. Benches are not tests: a bench whose service is not reachable prints why and is
//! skipped; any other failure is a broken bench and panics with the reason.

use std::sync::Arc;

use xwebhook_engine::store::{StoreErrorKind, StoreResult};
use xwebhook_storage_postgres::{PostgresConfig, PostgresStore};
use xwebhook_storage_redis::{RedisConfig, RedisStore};

/// The Redis the tests also use; `XWEBHOOK_TEST_REDIS_URL` points elsewhere.
pub fn redis_url() -> String {
    std::env::var("XWEBHOOK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The Postgres the tests also use; `XWEBHOOK_TEST_PG_URL` points elsewhere.
pub fn postgres_url() -> String {
    std::env::var("XWEBHOOK_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

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
pub async fn redis_store(bench: &str) -> Option<(Arc<RedisStore>, RedisPrefix)> {
    let (url, prefix) = (redis_url(), format!("xwbench:{}", ulid::Ulid::new()));
    let mut config = RedisConfig::new(url.clone());
    config.prefix = prefix.clone();
    let store = connected_or_skip(bench, "Redis", RedisStore::connect(config).await)?;
    Some((store, RedisPrefix { url, prefix }))
}

/// A migrated Postgres store in a fresh schema, and the guard that drops the schema; `None` (with a message)
/// when Postgres is not reachable. A setup that panics may leave its schema behind: nobody reuses the name.
pub async fn postgres_store(bench: &str) -> Option<(Arc<PostgresStore>, PostgresSchema)> {
    let name = format!("xwbench_{}", ulid::Ulid::new().to_string().to_lowercase());
    let config = PostgresConfig {
        schema: Some(name.clone()),
        pool_size: 4,
        ..PostgresConfig::new(postgres_url())
    };
    let store = connected_or_skip(bench, "Postgres", PostgresStore::connect(&config).await)?;
    Some((store, PostgresSchema { name }))
}

/// Deletes every key under its prefix when dropped.
pub struct RedisPrefix {
    url: String,
    prefix: String,
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        // A blocking client: `Drop` cannot await. A failed cleanup leaves keys under a prefix nobody reuses.
        let deleted = redis::Client::open(self.url.as_str())
            .and_then(|c| c.get_connection())
            .and_then(|mut conn| delete_prefix(&mut conn, &self.prefix));
        if let Err(e) = deleted {
            eprintln!("could not delete the bench keys under {}: {e}", self.prefix);
        }
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

/// Drops its schema, with everything in it, when dropped (after the store's pool has let go of it).
pub struct PostgresSchema {
    name: String,
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        // `Drop` cannot await and may run inside a runtime: a thread with a runtime of its own drops the schema.
        let (url, sql) = (
            postgres_url(),
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                tokio::spawn(conn);
                client.batch_execute(&sql).await
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the bench schema {}: {dropped:?}", self.name);
        }
    }
}
