//! `Idempotency-Key` end to end: one message per key whatever the response's size and whichever alias the path
//! uses, on every deployment (embedded, Redis, Postgres with either cache).

use bytes::Bytes;
use serde_json::{Value, json};

use crate::binary::{PrivateRedis, free_port};
use crate::helpers::{TestApp, eventually, spawn_app_with};
use crate::retention::{PG_URL, drop_schema};

const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Room for a request whose payload alone is over the 1 MiB that responses were once capped at.
const BODY_LIMIT: &str = "8388608";

/// POSTs `body` to `path` with an idempotency key, returning the status and the response.
async fn post_once(app: &TestApp, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {}", app.token);
    let headers = [("authorization", auth.as_str()), ("idempotency-key", key)];
    let url = format!("{}/api/v1{path}", app.base);
    let body = Some(Bytes::from(body.to_string()));
    app.http.send("POST", &url, &headers, body).await
}

async fn message_count(app: &TestApp, app_id: &str) -> usize {
    let (status, list) = app
        .call("GET", &format!("/app/{app_id}/msg?limit=250"), None)
        .await;
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().map_or(0, Vec::len)
}

/// A message whose response is over 1 MiB is answered 2xx, and its retry replays it: one message.
async fn large_response_replays(app: &TestApp) {
    let created = app.create("/app", json!({"name": "large"})).await;
    let app_id = created["id"].as_str().expect("app id");
    let payload = json!({"data": "x".repeat(3 * 1024 * 1024 / 2)});
    let body = json!({"eventType": "large.sent", "payload": payload});
    let path = format!("/app/{app_id}/msg");
    let (first, out) = post_once(app, &path, "large-1", &body).await;
    assert_eq!(first, 202, "a stored, queued message is answered 2xx");
    let (again, replay) = post_once(app, &path, "large-1", &body).await;
    assert_eq!(again, 202);
    assert_eq!(replay["id"], out["id"], "the retry replays the first message");
    assert_eq!(replay["payload"], payload);
    assert_eq!(message_count(app, app_id).await, 1, "one SDK call, one message");
}

#[tokio::test]
async fn large_response_replays_on_embedded() {
    let app = spawn_app_with(&[("XWEBHOOK_MAX_BODY_BYTES", BODY_LIMIT)]).await;
    large_response_replays(&app).await;
}

#[tokio::test]
async fn large_response_replays_on_redis() {
    let prefix = format!("xwt:{}", ulid::Ulid::new());
    let app = spawn_app_with(&[
        ("XWEBHOOK_MAX_BODY_BYTES", BODY_LIMIT),
        ("XWEBHOOK_REDIS_URL", REDIS_URL),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
    ])
    .await;
    large_response_replays(&app).await;
}

/// Postgres keeps the records; the cache is the embedded store's, or Redis's when it is configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_response_replays_on_postgres() {
    for with_redis in [false, true] {
        let schema = format!("xwt_{}", ulid::Ulid::new().to_string().to_lowercase());
        let prefix = format!("xwt:{}", ulid::Ulid::new());
        let mut env = vec![
            ("XWEBHOOK_MAX_BODY_BYTES", BODY_LIMIT),
            ("XWEBHOOK_DATABASE_URL", PG_URL),
            ("XWEBHOOK_DATABASE_SCHEMA", schema.as_str()),
        ];
        if with_redis {
            env.extend([
                ("XWEBHOOK_REDIS_URL", REDIS_URL),
                ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
            ]);
        }
        let app = spawn_app_with(&env).await;
        large_response_replays(&app).await;
        drop(app);
        drop_schema(&schema).await;
    }
}

/// A cache that refuses the response (a Redis whose bulk strings are capped at 1 MiB, below this response)
/// does not fail a request whose message is stored; its retry waits while the background task retries, then
/// gets the 409 left in the response's place, and never a second message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_cache_write_answers_2xx_and_its_retry_a_409() {
    let redis = PrivateRedis::start_with(free_port(), &["--proto-max-bulk-len", "1mb"]).await;
    let schema = format!("xwt_{}", ulid::Ulid::new().to_string().to_lowercase());
    let url = redis.url();
    let app = spawn_app_with(&[
        ("XWEBHOOK_MAX_BODY_BYTES", BODY_LIMIT),
        ("XWEBHOOK_DATABASE_URL", PG_URL),
        ("XWEBHOOK_DATABASE_SCHEMA", schema.as_str()),
        ("XWEBHOOK_REDIS_URL", url.as_str()),
    ])
    .await;
    let created = app.create("/app", json!({"name": "refused"})).await;
    let app_id = created["id"].as_str().expect("app id");
    let body = json!({"eventType": "large.sent", "payload": {"data": "x".repeat(3 * 1024 * 1024 / 2)}});
    let path = format!("/app/{app_id}/msg");
    let (first, _) = post_once(&app, &path, "refused-1", &body).await;
    assert_eq!(first, 202, "the message is stored, so the request succeeded");
    // The refused write broke the shared connection, so an immediate retry may get a 503: retried, as SDKs do.
    let (again, replay) = eventually("a retry that is not a 503", || async {
        let answer = post_once(&app, &path, "refused-1", &body).await;
        (answer.0 != 503).then_some(answer)
    })
    .await;
    assert_eq!(again, 409, "a second run, not a stand-in: {}", replay["id"]);
    let detail = replay["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("could not be kept"),
        "the response's stand-in, not a lock: {detail}"
    );
    assert_eq!(message_count(&app, app_id).await, 1, "never a second message");
    drop(app);
    drop_schema(&schema).await;
}

/// One key, the application by UID then by id (and an endpoint likewise): one message, one rotation.
#[tokio::test]
async fn aliases_of_one_object_share_a_key() {
    let app = spawn_app_with(&[]).await;
    let created = app
        .create("/app", json!({"name": "alias", "uid": "alias-app"}))
        .await;
    let app_id = created["id"].as_str().expect("app id");
    let body = json!({"eventType": "alias.sent", "payload": {"n": 1}});
    let (s1, first) = post_once(&app, "/app/alias-app/msg", "alias-1", &body).await;
    let (s2, second) = post_once(&app, &format!("/app/{app_id}/msg"), "alias-1", &body).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(first["id"], second["id"], "{first} {second}");
    assert_eq!(message_count(&app, app_id).await, 1);

    let endpoint = app
        .create(
            &format!("/app/{app_id}/endpoint"),
            json!({"url": "https://example.com/hook", "uid": "alias-ep"}),
        )
        .await;
    let ep_id = endpoint["id"].as_str().expect("endpoint id");
    let rotate = |app_ref: &str, ep_ref: &str| format!("/app/{app_ref}/endpoint/{ep_ref}/secret/rotate");
    let (r1, first) = post_once(&app, &rotate("alias-app", "alias-ep"), "rotate-1", &json!({})).await;
    let (r2, second) = post_once(&app, &rotate(app_id, ep_id), "rotate-1", &json!({})).await;
    assert_eq!((r1, r2), (200, 200), "{first} {second}");
    assert_eq!(first, second, "the second rotation is a replay");
    let (_, current) = app
        .call("GET", &format!("/app/{app_id}/endpoint/{ep_id}/secret"), None)
        .await;
    assert_eq!(current["key"], first["key"], "rotated once: {current}");
}
