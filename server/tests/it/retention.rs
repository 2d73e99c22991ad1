//! Retention through the real binary: `xwebhook prune` on Postgres and on the embedded store, and the payload
//! cleaner of a worker process on Redis.

use std::path::Path;

use chrono::{Duration, Utc};
use serde_json::Value;
use xwebhook_engine::domain::{Message, MessageStatus};
use xwebhook_engine::id::{AppId, EndpointId, MessageId, OrgId};
use xwebhook_engine::store::{AttemptRecord, Stores};
use xwebhook_engine::testsuite::fixtures::{attempt, destination, message};
use xwebhook_storage_postgres::{PostgresConfig, PostgresStore};
use xwebhook_storage_redis::{RedisConfig, RedisStore};

use crate::binary::{Xwebhook, run_cli as xwebhook};
use crate::helpers::eventually;

pub(crate) const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A message of `org` created `age` ago, with one attempt and its destination when `delivered`.
async fn seed(stores: &Stores, org: &OrgId, age: Duration, retention_days: u16, delivered: bool) -> Message {
    let id = MessageId::generate_at(Utc::now() - age);
    let m = Message {
        created_at: id.timestamp(),
        id,
        retention_days,
        ..message(org, &AppId::generate(), "invoice.paid", None, &[])
    };
    stores
        .messages
        .create_message(&m, &[])
        .await
        .expect("create message");
    if delivered {
        let ep = EndpointId::generate();
        let record = AttemptRecord {
            attempt: attempt(&m, &ep, MessageStatus::Success, 200),
            destination: destination(&m, &ep, MessageStatus::Success),
        };
        stores.attempts.record_attempts(&[record]).await.expect("record");
    }
    m
}

async fn exists(stores: &Stores, m: &Message) -> bool {
    let found = stores.messages.get_message(&m.org_id, &m.app_id, &m.id).await;
    found.expect("get message").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_old_messages_on_postgres() {
    let schema = format!("xwt_{}", ulid::Ulid::new().to_string().to_lowercase());
    let pg = PostgresConfig {
        schema: Some(schema.clone()),
        pool_size: 2,
        ..PostgresConfig::new(PG_URL)
    };
    let postgres = PostgresStore::connect(&pg).await.expect("connect");
    let embedded = tempfile::tempdir().expect("tempdir");
    let queue = xwebhook_storage_embedded::EmbeddedStore::open(embedded.path()).expect("queue");
    let stores = postgres.stores(Stores::from_one(queue));
    let (org1, org2) = (OrgId::generate(), OrgId::generate());
    let old = [
        seed(&stores, &org1, Duration::days(10), 90, true).await,
        seed(&stores, &org2, Duration::days(8), 90, true).await,
    ];
    let young = seed(&stores, &org1, Duration::days(6), 90, true).await;

    let env = [
        ("XWEBHOOK_DATABASE_URL", PG_URL),
        ("XWEBHOOK_DATABASE_SCHEMA", schema.as_str()),
    ];
    let out = xwebhook(&["prune", "--older-than", "7d", "--json"], &env).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        (&report["messages"], &report["attempts"], &report["destinations"]),
        (&Value::from(2), &Value::from(2), &Value::from(2)),
        "{report}"
    );
    for m in &old {
        assert!(!exists(&stores, m).await, "{} is pruned", m.id);
    }
    assert!(exists(&stores, &young).await, "newer than the cutoff");

    let again = xwebhook(&["prune", "--older-than", "7d"], &env).await;
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.starts_with("deleted 0 messages, 0 attempts and 0 destinations created before"),
        "{text}"
    );

    drop(stores);
    drop(postgres);
    drop_schema(&schema).await;
}

pub(crate) async fn drop_schema(schema: &str) {
    let (client, conn) = tokio_postgres::connect(PG_URL, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop schema");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_refuses_the_embedded_store_a_server_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let args = ["prune", "--older-than", "30d", "--data-dir", data_dir];
    let server = Xwebhook::start(dir.path(), &[]).await;
    let refused = xwebhook(&args, &[]).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is open in another process"), "{stderr}");
    assert!(server.terminate().await, "the server exits cleanly");

    let done = xwebhook(&args, &[]).await;
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).starts_with("deleted 0 messages"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_refuses_an_unreadable_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let out = xwebhook(&["prune", "--older-than", "soon", "--data-dir", data_dir], &[]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`soon` is neither an RFC 3339 time"), "{stderr}");
    assert!(
        !Path::new(data_dir).join("xwebhook.redb").exists(),
        "nothing is opened"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_expunges_expired_payloads() {
    let prefix = format!("xwt:{}", ulid::Ulid::new());
    let mut config = RedisConfig::new("redis://127.0.0.1:6379");
    config.prefix = prefix.clone();
    config.pool_size = 2;
    let stores = Stores::from_one(RedisStore::connect(config).await.expect("redis"));
    let org = OrgId::generate();
    let expired = seed(&stores, &org, Duration::days(2), 1, true).await;
    let kept = seed(&stores, &org, Duration::days(2), 30, false).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("XWEBHOOK_ROLE", "worker"),
        ("XWEBHOOK_REDIS_URL", "redis://127.0.0.1:6379"),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
        ("XWEBHOOK_RETENTION_INTERVAL", "1"),
    ];
    let _worker = Xwebhook::start_worker(dir.path(), &env);
    let payload = |m: &Message| {
        let (stores, m) = (stores.clone(), m.clone());
        async move {
            let found = stores.messages.get_message(&m.org_id, &m.app_id, &m.id).await;
            found
                .expect("get")
                .expect("message is kept")
                .payload
                .as_str()
                .to_owned()
        }
    };
    eventually("the expired payload is expunged", || async {
        (payload(&expired).await == "{}").then_some(())
    })
    .await;
    assert_eq!(payload(&kept).await, r#"{"k":1}"#, "its own period has not ended");
}
