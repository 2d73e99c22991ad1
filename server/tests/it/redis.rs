//! Several `xwebhook` processes sharing one Redis: exactly once when nothing fails, at least once when a process
//! is killed, recovery when Redis restarts, retries on schedule across processes.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::binary::{PrivateRedis, Xwebhook};
use crate::helpers::{Client, Receiver, eventually};

const SHARED_REDIS: &str = "redis://127.0.0.1:6379";

/// A key prefix no other test uses, so tests share the machine's Redis in parallel.
fn prefix() -> String {
    format!("xwt:{}", ulid::Ulid::new())
}

/// Sends `n` messages through the given clients in turn, `concurrency` at a time; returns the accepted ids.
async fn send_many(clients: &[Client], app_id: &str, n: usize, concurrency: usize) -> BTreeSet<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (client, next, app_id) = (
            clients[worker % clients.len()].clone(),
            next.clone(),
            app_id.to_owned(),
        );
        tasks.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return ids;
                }
                ids.push(client.send(&app_id, "test.event", json!({"i": i})).await.id);
            }
        });
    }
    let mut all = BTreeSet::new();
    while let Some(ids) = tasks.join_next().await {
        all.extend(ids.expect("sender task"));
    }
    all
}

fn duplicates(rx: &Receiver, path: &str) -> usize {
    rx.received(path).len() - rx.ids(path).len()
}

#[tokio::test]
async fn two_processes_deliver_each_message_exactly_once() {
    let (dir, prefix) = (tempfile::tempdir().expect("tempdir"), prefix());
    let env = [
        ("XWEBHOOK_REDIS_URL", SHARED_REDIS),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
    ];
    let a = Xwebhook::start(dir.path(), &env).await;
    let b = Xwebhook::start(dir.path(), &env).await;
    let rx = Receiver::start().await;
    let api_a = Client::for_new_org(&a.base());
    let app_id = api_a.app_with_endpoint(&rx.url("/once")).await.0.id;
    let sent = send_many(&[api_a.clone(), api_a.on(&b.base())], &app_id, 10_000, 32).await;
    assert_eq!(sent.len(), 10_000);
    rx.wait_for_ids("/once", &sent).await;
    assert_eq!(
        duplicates(&rx, "/once"),
        0,
        "nothing failed, so nothing is delivered twice"
    );
    assert!(a.terminate().await && b.terminate().await);
}

#[tokio::test]
async fn a_killed_process_loses_nothing() {
    let (dir, prefix) = (tempfile::tempdir().expect("tempdir"), prefix());
    // A short request timeout makes the dead process's leases reclaimable soon (visibility = 2 × timeout + 10 s).
    let env = [
        ("XWEBHOOK_REDIS_URL", SHARED_REDIS),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
        ("XWEBHOOK_REQUEST_TIMEOUT", "1"),
    ];
    let a = Xwebhook::start(dir.path(), &env).await;
    let b = Xwebhook::start(dir.path(), &env).await;
    let rx = Receiver::start().await;
    rx.delay("/kill", Duration::from_millis(5));
    let api_a = Client::for_new_org(&a.base());
    let app_id = api_a.app_with_endpoint(&rx.url("/kill")).await.0.id;
    let first = send_many(&[api_a.clone(), api_a.on(&b.base())], &app_id, 2_000, 16).await;
    rx.wait_for("/kill", 500).await;
    b.kill();
    let second = send_many(std::slice::from_ref(&api_a), &app_id, 2_000, 16).await;
    let sent: BTreeSet<String> = first.union(&second).cloned().collect();
    rx.wait_for_ids("/kill", &sent).await;
    eprintln!(
        "killed one of two processes: {} messages, {} duplicate deliveries, 0 lost",
        sent.len(),
        duplicates(&rx, "/kill")
    );
    assert!(a.terminate().await);
}

#[tokio::test]
async fn service_recovers_when_redis_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = PrivateRedis::start().await;
    let url = redis.url();
    let server = Xwebhook::start(dir.path(), &[("XWEBHOOK_REDIS_URL", url.as_str())]).await;
    let rx = Receiver::start().await;
    let api = Client::for_new_org(&server.base());
    let app_id = api.app_with_endpoint(&rx.url("/before")).await.0.id;
    let before = send_many(std::slice::from_ref(&api), &app_id, 200, 8).await;
    rx.wait_for_ids("/before", &before).await;

    let port = redis.stop();
    let (status, body) = api
        .call(
            "POST",
            &format!("/app/{app_id}/msg"),
            Some(json!({"eventType": "a", "payload": {}})),
        )
        .await;
    assert!(
        status >= 500,
        "with Redis down a message is refused, not accepted: {status} {body}"
    );
    assert!(body["code"].is_string(), "{body}");

    // Redis is back, empty (it keeps nothing on disk): the service carries on without a restart.
    let _redis = PrivateRedis::start_on(port).await;
    let app_id = eventually("the API to work again", || async {
        let (status, app) = api.call("POST", "/app", Some(json!({"name": "after"}))).await;
        (status == 201)
            .then(|| app["id"].as_str().map(str::to_owned))
            .flatten()
    })
    .await;
    api.create(
        &format!("/app/{app_id}/endpoint"),
        json!({"url": rx.url("/after")}),
    )
    .await;
    let after = send_many(std::slice::from_ref(&api), &app_id, 200, 8).await;
    rx.wait_for_ids("/after", &after).await;
    assert!(server.terminate().await);
}

#[tokio::test]
async fn retries_follow_the_schedule_across_processes() {
    let (dir, prefix) = (tempfile::tempdir().expect("tempdir"), prefix());
    let env = [
        ("XWEBHOOK_REDIS_URL", SHARED_REDIS),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
        ("XWEBHOOK_RETRY_SCHEDULE", "1,1"),
    ];
    let a = Xwebhook::start(dir.path(), &env).await;
    let b = Xwebhook::start(dir.path(), &env).await;
    let rx = Receiver::start().await;
    rx.script("/flaky", &[500, 500]);
    let api = Client::for_new_org(&a.base());
    let (app_out, ep_out, _) = api.app_with_endpoint(&rx.url("/flaky")).await;
    let (app_id, ep_id) = (app_out.id, ep_out.id);
    let msg_id = api.on(&b.base()).send(&app_id, "test.event", json!({})).await.id;
    let got = rx.wait_for("/flaky", 3).await;
    for pair in got.windows(2) {
        assert!(
            pair[1].at - pair[0].at >= Duration::from_millis(800),
            "a retry came before its time"
        );
    }
    let attempts = eventually("three recorded attempts", || async {
        let (_, list) = api
            .call("GET", &format!("/app/{app_id}/attempt/endpoint/{ep_id}"), None)
            .await;
        let data = list["data"].as_array().cloned().unwrap_or_default();
        (data.len() >= 3).then_some(data)
    })
    .await;
    let codes: Vec<_> = attempts
        .iter()
        .map(|a| a["responseStatusCode"].as_i64())
        .collect();
    assert_eq!(codes, [Some(200), Some(500), Some(500)]);
    assert!(attempts.iter().all(|a| a["msgId"] == msg_id.as_str()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.received("/flaky").len(), 3, "exactly three attempts");
    assert!(a.terminate().await && b.terminate().await);
}

#[tokio::test]
async fn api_and_worker_roles_split_across_processes() {
    let (dir, prefix) = (tempfile::tempdir().expect("tempdir"), prefix());
    let env = |role| {
        [
            ("XWEBHOOK_REDIS_URL", SHARED_REDIS),
            ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
            ("XWEBHOOK_ROLE", role),
        ]
    };
    let api_only = Xwebhook::start(dir.path(), &env("api")).await;
    let rx = Receiver::start().await;
    let api = Client::for_new_org(&api_only.base());
    let app_id = api.app_with_endpoint(&rx.url("/split")).await.0.id;
    let sent = send_many(std::slice::from_ref(&api), &app_id, 100, 8).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        rx.received("/split").is_empty(),
        "an API-only process delivers nothing"
    );
    let worker = Xwebhook::start_worker(dir.path(), &env("worker"));
    rx.wait_for_ids("/split", &sent).await;
    assert!(api_only.terminate().await && worker.terminate().await);
}
