//! One fresh schema per case, and the backend the conformance suite runs on.

use std::sync::Arc;

use xwebhook_engine::store::Stores;
use xwebhook_engine::testsuite::Backend;
use xwebhook_storage_embedded::EmbeddedStore;
use xwebhook_storage_postgres::{PostgresConfig, PostgresStore};

pub fn url() -> String {
    std::env::var("XWEBHOOK_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema that exists for one case: created by the first migration into it, dropped (with everything in
/// it) when this is dropped, even when the case panics.
pub struct TestSchema {
    pub name: String,
}

impl TestSchema {
    pub fn new() -> Self {
        Self {
            name: format!("xwt_{}", ulid::Ulid::new().to_string().to_lowercase()),
        }
    }

    pub fn config(&self) -> PostgresConfig {
        PostgresConfig {
            schema: Some(self.name.clone()),
            pool_size: 4,
            ..PostgresConfig::new(url())
        }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside a runtime: a thread of its own with its own runtime does it.
        let (url, sql) = (url(), format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
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
            eprintln!("could not drop test schema {}: {dropped:?}", self.name);
        }
    }
}

/// A migrated store in a fresh schema.
pub async fn store() -> (Arc<PostgresStore>, TestSchema) {
    let schema = TestSchema::new();
    let store = PostgresStore::connect(&schema.config())
        .await
        .expect("connect to postgres");
    (store, schema)
}

/// The records in Postgres; the queue and the idempotency cache, which Postgres does not provide, from an
/// embedded store in a temporary directory, so that every case of the suite runs.
pub async fn fresh() -> Backend {
    let (pg, schema) = store().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let embedded = EmbeddedStore::open(dir.path()).expect("open embedded store");
    let stores = pg.stores(Stores::from_one(embedded));
    // Dropped in order: the schema after the pool has let go of it, then the directory.
    Backend::with_guard(stores, (schema, dir))
}

/// A direct connection to the case's schema, for inspecting what the store wrote.
pub async fn connect(schema: &TestSchema) -> tokio_postgres::Client {
    let url = format!("{}?options=-c%20search_path%3D{}", url(), schema.name);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}
