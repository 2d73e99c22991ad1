//! `xwebhook queue stats`, `xwebhook dlq list` and `xwebhook dlq redrive` through the real binary: on Redis
//! (a task buried through the store API, listed, redriven) and on an embedded store a server holds.

use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use xwebhook_engine::store::{DeliveryQueue, Task};
use xwebhook_engine::testsuite::fixtures::delivery_task;
use xwebhook_storage_redis::{RedisConfig, RedisStore};

use crate::binary::{Xwebhook, run_cli};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn json(args: &[&str], env: &[(&str, &str)]) -> Value {
    let out = run_cli(args, env).await;
    serde_json::from_str(&stdout(&out)).expect("one JSON object")
}

/// Buries one delivery task in the dead letters of the queue under `prefix`: with `max_deliveries` 1, the
/// first reclaim of a leased task dead-letters it (as it would a task whose worker keeps dying).
async fn bury_one(prefix: &str) -> Task {
    let mut config = RedisConfig::new(REDIS_URL);
    config.prefix = prefix.to_owned();
    config.max_deliveries = 1;
    let store = RedisStore::connect(config).await.expect("redis");
    let task = delivery_task(0);
    store.enqueue(vec![task.clone()]).await.expect("enqueue");
    let leased = store
        .receive("test", 10, Duration::from_millis(100))
        .await
        .expect("receive");
    assert_eq!(leased.len(), 1);
    let reclaimed = store.reclaim("test", Duration::ZERO, 10).await.expect("reclaim");
    assert!(reclaimed.is_empty(), "buried, not handed out again");
    task
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buried_task_is_counted_listed_and_redriven() {
    let prefix = format!("xwt:{}", ulid::Ulid::new());
    let env = [
        ("XWEBHOOK_REDIS_URL", REDIS_URL),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
    ];
    let task = bury_one(&prefix).await;

    let stats = json(&["queue", "stats", "--json"], &env).await;
    assert_eq!(
        stats,
        serde_json::json!({"ready": 0, "in_flight": 0, "scheduled": 0, "dead_letter": 1})
    );
    let table = stdout(&run_cli(&["queue", "stats"], &env).await);
    assert!(table.contains("dead letter  1"), "{table}");

    let listing = json(&["dlq", "list", "--json"], &env).await;
    let dead = listing["deadLetters"].as_array().expect("a list");
    assert_eq!(dead.len(), 1, "{listing}");
    assert_eq!(dead[0]["task"]["msg_id"], task.msg_id.as_str(), "{listing}");
    assert_eq!(dead[0]["deliveries"], 1, "{listing}");
    assert_eq!(dead[0]["reason"], "leased too often without being finished");
    let lines = stdout(&run_cli(&["dlq", "list"], &env).await);
    assert!(lines.contains(task.msg_id.as_str()), "{lines}");
    assert!(lines.contains("deliveries 1"), "{lines}");

    let redriven = json(&["dlq", "redrive", "--json"], &env).await;
    assert_eq!(redriven, serde_json::json!({"redriven": 1}));
    let stats = json(&["queue", "stats", "--json"], &env).await;
    assert_eq!(
        (&stats["ready"], &stats["dead_letter"]),
        (&Value::from(1), &Value::from(0))
    );
    let empty = stdout(&run_cli(&["dlq", "list"], &env).await);
    assert_eq!(empty.trim(), "no dead letters");
    let none = stdout(&run_cli(&["dlq", "redrive", "--max", "5"], &env).await);
    assert!(none.starts_with("moved 0 dead-lettered tasks"), "{none}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_refuse_the_embedded_store_a_server_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let server = Xwebhook::start(dir.path(), &[]).await;
    for command in [&["queue", "stats"][..], &["dlq", "list"], &["dlq", "redrive"]] {
        let args = [command, &["--data-dir", data_dir]].concat();
        let refused = run_cli(&args, &[]).await;
        assert!(!refused.status.success(), "{command:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("is open in another process"), "{stderr}");
    }
    assert!(server.terminate().await, "the server exits cleanly");

    let stats = json(&["queue", "stats", "--json", "--data-dir", data_dir], &[]).await;
    assert_eq!(stats["dead_letter"], 0, "the embedded store never dead-letters");
    let listing = json(&["dlq", "list", "--json", "--data-dir", data_dir], &[]).await;
    assert_eq!(listing, serde_json::json!({"deadLetters": []}));
}
