//! Migrations run by several processes at once apply each migration exactly once.

use xwebhook_storage_postgres::scratch::ScratchSchema;
use xwebhook_storage_postgres::{MIGRATIONS, PostgresConfig, PostgresStore};

use crate::helpers::connect;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_apply_each_once() {
    let schema = ScratchSchema::new("xwt");
    let config = PostgresConfig {
        migrate_on_start: false,
        pool_size: 1,
        ..schema.config()
    };
    // Eight "processes": each its own pool, all migrating the same fresh schema at the same moment.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let runs = (0..8).map(|_| {
        let (config, barrier) = (config.clone(), barrier.clone());
        tokio::spawn(async move {
            let store = PostgresStore::connect(&config).await.expect("connect");
            barrier.wait().await;
            store.migrate().await.expect("migrate")
        })
    });
    let mut applied: Vec<i32> = Vec::new();
    for run in runs.collect::<Vec<_>>() {
        applied.extend(run.await.expect("task"));
    }
    applied.sort();
    let all: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(applied, all, "each migration applied by exactly one process");

    let client = connect(&schema).await;
    let rows = client
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .await
        .expect("ledger");
    let recorded: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(recorded, all);
    let again = xwebhook_storage_postgres::migrate(&config)
        .await
        .expect("migrate again");
    assert!(again.is_empty(), "nothing left to apply: {again:?}");
}
