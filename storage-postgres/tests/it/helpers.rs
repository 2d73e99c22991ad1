//! One fresh schema per case, and the backend the conformance suite runs on.

use std::sync::Arc;

use xwebhook_engine::store::Stores;
use xwebhook_engine::testsuite::Backend;
use xwebhook_storage_embedded::EmbeddedStore;
use xwebhook_storage_postgres::PostgresStore;
use xwebhook_storage_postgres::scratch::ScratchSchema;

pub use xwebhook_storage_postgres::scratch::local_url as url;

/// A migrated store in a fresh schema.
pub async fn store() -> (Arc<PostgresStore>, ScratchSchema) {
    let schema = ScratchSchema::new("xwt");
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
pub async fn connect(schema: &ScratchSchema) -> tokio_postgres::Client {
    let url = format!("{}?options=-c%20search_path%3D{}", url(), schema.name);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}
