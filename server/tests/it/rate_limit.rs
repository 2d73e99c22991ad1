//! Rate limits, an endpoint's own and an application's across its endpoints: every message is delivered once,
//! and no second receives more than the rate allows (a bound on counts, not on speed), with one process on the
//! embedded store and with two sharing Redis.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Client, Receiver, TestApp, eventually, spawn_app, spawn_app_with};

const RATE: usize = 10;
/// The limit's bucket at 10/s (a twentieth of the rate, at least one).
const BURST: usize = 1;
const MESSAGES: usize = 40;

/// An application whose one endpoint, at `url`, takes `rate` messages per second.
async fn rate_limited_endpoint(client: &Client, url: &str, rate: usize) -> (String, String) {
    let app = client.create("/app", json!({"name": "rate limited"})).await;
    let app_id = app["id"].as_str().expect("app id").to_owned();
    let ep = client
        .create(
            &format!("/app/{app_id}/endpoint"),
            json!({"url": url, "rateLimit": rate}),
        )
        .await;
    assert_eq!(ep["rateLimit"], json!(rate));
    (app_id, ep["id"].as_str().expect("endpoint id").to_owned())
}

/// Sends `MESSAGES` messages through the clients in turn; returns their ids.
async fn send_all(clients: &[&Client], app_id: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for i in 0..MESSAGES {
        ids.insert(
            clients[i % clients.len()]
                .send(app_id, "test.event", json!({"i": i}))
                .await
                .id,
        );
    }
    ids
}

/// The most requests `rx` received at `paths` together within any one second.
fn most_in_one_second(rx: &Receiver, paths: &[&str]) -> usize {
    let mut at: Vec<_> = paths
        .iter()
        .flat_map(|path| rx.received(path))
        .map(|r| r.at)
        .collect();
    at.sort();
    (0..at.len())
        .map(|i| {
            at[i..]
                .iter()
                .take_while(|t| **t - at[i] < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Every message arrived exactly once, within the rate (with 10 % of slack and the bucket).
async fn assert_delivered_within_rate(rx: &Receiver, path: &str, sent: &BTreeSet<String>) {
    rx.wait_for_ids(path, sent).await;
    assert_eq!(rx.received(path).len(), MESSAGES, "each message exactly once");
    let most = most_in_one_second(rx, &[path]);
    let allowed = RATE + RATE / 10 + BURST;
    assert!(
        most <= allowed,
        "{most} requests within one second at {RATE}/s (allowed {allowed})"
    );
}

/// A task sent back to the queue by the limit is not an attempt: one attempt per message is recorded.
async fn assert_one_attempt_each(app: &TestApp, app_id: &str, ep_id: &str) {
    let path = format!("/app/{app_id}/attempt/endpoint/{ep_id}?limit=250");
    let attempts: Vec<Value> = eventually("every attempt recorded", || async {
        let (_, list) = app.call("GET", &path, None).await;
        let data = list["data"].as_array().cloned().unwrap_or_default();
        (data.len() >= MESSAGES).then_some(data)
    })
    .await;
    assert_eq!(attempts.len(), MESSAGES);
}

#[tokio::test]
async fn one_process_keeps_an_endpoint_to_its_rate() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (app_id, ep_id) = rate_limited_endpoint(&app, &rx.url("/limited"), RATE).await;
    let sent = send_all(&[&app.client], &app_id).await;
    assert_delivered_within_rate(&rx, "/limited", &sent).await;
    assert_one_attempt_each(&app, &app_id, &ep_id).await;
}

/// Two processes sharing one Redis deployment (a key prefix of their own).
async fn two_processes_sharing_redis() -> (TestApp, TestApp) {
    let prefix = format!("xwt:{}", ulid::Ulid::new());
    let env = [
        ("XWEBHOOK_REDIS_URL", "redis://127.0.0.1:6379"),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
    ];
    (spawn_app_with(&env).await, spawn_app_with(&env).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_redis_keep_an_endpoint_to_its_rate() {
    let (a, b) = two_processes_sharing_redis().await;
    let rx = Receiver::start().await;
    let (app_id, ep_id) = rate_limited_endpoint(&a, &rx.url("/shared"), RATE).await;
    let via_b = a.client.on(&b.base);
    let sent = send_all(&[&a.client, &via_b], &app_id).await;
    assert_delivered_within_rate(&rx, "/shared", &sent).await;
    assert_one_attempt_each(&a, &app_id, &ep_id).await;
}

/// An application limited to `RATE` with three unlimited endpoints, at `paths` of `rx`.
async fn rate_limited_application(client: &Client, rx: &Receiver, paths: &[&str]) -> String {
    let app = client
        .create("/app", json!({"name": "throttled", "throttleRate": RATE}))
        .await;
    assert_eq!(app["throttleRate"], json!(RATE));
    let app_id = app["id"].as_str().expect("app id").to_owned();
    for path in paths {
        client
            .create(&format!("/app/{app_id}/endpoint"), json!({"url": rx.url(path)}))
            .await;
    }
    app_id
}

/// Every message reached every endpoint once, and the endpoints together stayed within the application's rate.
async fn assert_application_within_rate(rx: &Receiver, paths: &[&str], sent: &BTreeSet<String>) {
    for path in paths {
        rx.wait_for_ids(path, sent).await;
        assert_eq!(rx.received(path).len(), MESSAGES, "each message once at {path}");
    }
    let most = most_in_one_second(rx, paths);
    let allowed = RATE + RATE / 10 + BURST;
    assert!(
        most <= allowed,
        "{most} requests within one second across {paths:?} at {RATE}/s for the application (allowed {allowed})"
    );
}

const APP_PATHS: [&str; 3] = ["/app-a", "/app-b", "/app-c"];

#[tokio::test]
async fn one_process_keeps_an_application_to_its_rate_across_its_endpoints() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let app_id = rate_limited_application(&app, &rx, &APP_PATHS).await;
    let sent = send_all(&[&app.client], &app_id).await;
    assert_application_within_rate(&rx, &APP_PATHS, &sent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_redis_keep_an_application_to_its_rate() {
    let (a, b) = two_processes_sharing_redis().await;
    let rx = Receiver::start().await;
    let app_id = rate_limited_application(&a, &rx, &APP_PATHS).await;
    let via_b = a.client.on(&b.base);
    let sent = send_all(&[&a.client, &via_b], &app_id).await;
    assert_application_within_rate(&rx, &APP_PATHS, &sent).await;
}
