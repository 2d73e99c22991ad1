//! Inputs every deployment must answer alike: NUL characters (PostgreSQL cannot store them), sizes and nesting.
//! The NUL cases run on the three deployments: embedded, Redis, and Postgres records with a Redis queue.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, spawn_app, spawn_app_with};

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A running deployment and what to clean up after it.
struct Deployment {
    name: &'static str,
    app: TestApp,
    schema: Option<String>,
}

impl Deployment {
    async fn all() -> Vec<Self> {
        let unique = ulid::Ulid::new().to_string().to_lowercase();
        let prefix = format!("xwt:{unique}");
        let schema = format!("xwt_{unique}");
        let redis = [
            ("XWEBHOOK_REDIS_URL", REDIS_URL),
            ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
        ];
        let postgres = [
            ("XWEBHOOK_DATABASE_URL", PG_URL),
            ("XWEBHOOK_DATABASE_SCHEMA", schema.as_str()),
            redis[0],
            redis[1],
        ];
        vec![
            Self {
                name: "embedded",
                app: spawn_app().await,
                schema: None,
            },
            Self {
                name: "redis",
                app: spawn_app_with(&redis).await,
                schema: None,
            },
            Self {
                name: "postgres",
                app: spawn_app_with(&postgres).await,
                schema: Some(schema.clone()),
            },
        ]
    }

    async fn clean_up(self) {
        drop(self.app);
        let Some(schema) = self.schema else { return };
        let (client, conn) = tokio_postgres::connect(PG_URL, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        // The service may still hold connections for a moment; a leftover schema is harmless.
        let _ = client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await;
    }
}

/// Posts `body` as is: bodies too deep for `serde_json::Value` cannot go through `Client::call`.
async fn post_raw(client: &Client, path: &str, body: String) -> (u16, Value) {
    let auth = format!("Bearer {}", client.token);
    let url = format!("{}/api/v1{path}", client.base);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    client
        .http
        .send("POST", &url, &headers, Some(Bytes::from(body)))
        .await
}

/// What is wrong with `out` if it is not a 422 located at `loc`.
fn mismatch(out: &(u16, Value), loc: &[&str]) -> Option<String> {
    let got: Vec<&str> = out.1["detail"][0]["loc"]
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    (out.0 != 422 || got != loc).then(|| format!("{} {}", out.0, out.1))
}

fn assert_invalid(out: &(u16, Value), loc: &[&str], what: &str) {
    if let Some(wrong) = mismatch(out, loc) {
        panic!("{what}: expected 422 at {loc:?}, got {wrong}");
    }
}

/// Every text field that reaches a store, with a NUL in it: (method, path, body, expected `loc`).
fn nul_cases(app: &str, ep: &str) -> Vec<(&'static str, String, Value, Vec<&'static str>)> {
    let nul = "a\u{0}b";
    let url = "https://example.com/hook";
    vec![
        ("POST", "/app".into(), json!({"name": nul}), vec!["body", "name"]),
        (
            "POST",
            "/app".into(),
            json!({"name": "x", "metadata": {"k": nul}}),
            vec!["body", "metadata"],
        ),
        (
            "POST",
            "/app".into(),
            json!({"name": "x", "metadata": {nul: "v"}}),
            vec!["body", "metadata"],
        ),
        (
            "PUT",
            format!("/app/{app}"),
            json!({"name": nul}),
            vec!["body", "name"],
        ),
        (
            "PATCH",
            format!("/app/{app}"),
            json!({"metadata": {"k": nul}}),
            vec!["body", "metadata"],
        ),
        (
            "POST",
            format!("/app/{app}/endpoint"),
            json!({"url": url, "description": nul}),
            vec!["body", "description"],
        ),
        (
            "POST",
            format!("/app/{app}/endpoint"),
            json!({"url": url, "metadata": {"k": nul}}),
            vec!["body", "metadata"],
        ),
        (
            "PUT",
            format!("/app/{app}/endpoint/{ep}"),
            json!({"url": url, "description": nul}),
            vec!["body", "description"],
        ),
        (
            "PATCH",
            format!("/app/{app}/endpoint/{ep}"),
            json!({"description": nul}),
            vec!["body", "description"],
        ),
        (
            "PUT",
            format!("/app/{app}/endpoint/{ep}/headers"),
            json!({"headers": {"x-a": nul}}),
            vec!["body", "headers", "x-a"],
        ),
        (
            "POST",
            "/event-type".into(),
            json!({"name": "n.a", "description": nul}),
            vec!["body", "description"],
        ),
        (
            "POST",
            "/event-type".into(),
            json!({"name": "n.b", "description": "d", "schemas": {"1": {"title": nul}}}),
            vec!["body", "schemas"],
        ),
        (
            "PUT",
            "/event-type/n.c".into(),
            json!({"description": nul}),
            vec!["body", "description"],
        ),
        (
            "PATCH",
            "/event-type/n.d".into(),
            json!({"description": nul}),
            vec!["body", "description"],
        ),
        (
            "POST",
            format!("/app/{app}/msg"),
            json!({"eventType": "n.e", "payload": {}, "application": {"name": nul}}),
            vec!["body", "application", "name"],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_get_the_same_422_on_every_backend() {
    let mut wrong = Vec::new();
    for deployment in Deployment::all().await {
        let client = &deployment.app.client;
        let app = client.create("/app", json!({"name": "nul"})).await;
        let app_id = app["id"].as_str().expect("app id");
        let ep = client
            .create(
                &format!("/app/{app_id}/endpoint"),
                json!({"url": "https://example.com/hook"}),
            )
            .await;
        let ep_id = ep["id"].as_str().expect("endpoint id");
        client
            .create("/event-type", json!({"name": "n.d", "description": "d"}))
            .await;
        for (method, path, body, loc) in nul_cases(app_id, ep_id) {
            let out = client.call(method, &path, Some(body)).await;
            if let Some(got) = mismatch(&out, &loc) {
                wrong.push(format!("{}: {method} {path} → {got}", deployment.name));
            }
        }
        deployment.clean_up().await;
    }
    assert!(
        wrong.is_empty(),
        "expected a 422 at the field:\n{}",
        wrong.join("\n")
    );
}

/// A payload is stored as the sender's text on every backend, so a NUL in it is kept, alike everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_payload_is_kept_on_every_backend() {
    for deployment in Deployment::all().await {
        let client = &deployment.app.client;
        let app = client.create("/app", json!({"name": "nul"})).await;
        let app_id = app["id"].as_str().expect("app id");
        let payload = json!({"text": "a\u{0}b", "a\u{0}": 1});
        let id = client.send(app_id, "test.event", payload.clone()).await.id;
        let (status, msg) = client.call("GET", &format!("/app/{app_id}/msg/{id}"), None).await;
        assert_eq!((status, &msg["payload"]), (200, &payload), "{}", deployment.name);
        deployment.clean_up().await;
    }
}

fn nested(depth: usize) -> String {
    format!("{}{{{}", r#"{"a":"#.repeat(depth - 1), "}".repeat(depth))
}

#[tokio::test]
async fn payload_nesting_is_bounded_at_124_levels() {
    let app = spawn_app().await;
    let created = app.create("/app", json!({"name": "deep"})).await;
    let path = format!("/app/{}/msg", created["id"].as_str().expect("app id"));
    let message = |depth| format!(r#"{{"eventType":"deep.x","payload":{}}}"#, nested(depth));
    let (status, out) = post_raw(&app, &path, message(124)).await;
    assert_eq!(status, 202, "124 levels are accepted: {out}");
    // The list holding it still parses with serde_json's default limit (the client here uses it).
    let (status, list) = app.call("GET", &format!("{path}?with_content=true"), None).await;
    assert_eq!(status, 200);
    assert!(list["data"][0]["payload"].is_object(), "the list parses: {list}");
    for depth in [125, 100_000] {
        let out = post_raw(&app, &path, message(depth)).await;
        assert_invalid(&out, &["body", "payload"], &format!("{depth} levels"));
    }
}

#[tokio::test]
async fn sizes_are_bounded() {
    let app = spawn_app().await;
    let created = app.create("/app", json!({"name": "sizes"})).await;
    let app_id = created["id"].as_str().expect("app id");
    let url = "https://example.com/hook";
    let many: serde_json::Map<String, Value> = (0..65).map(|i| (i.to_string(), json!(""))).collect();
    let big = json!({"k": "v".repeat(16 * 1024)});
    let ok = [
        (
            "/app".to_owned(),
            json!({"name": "n".repeat(256), "metadata": {"k": "v".repeat(16 * 1024 - 1)}}),
        ),
        (
            format!("/app/{app_id}/endpoint"),
            json!({"url": url, "description": "d".repeat(4096)}),
        ),
        (
            "/event-type".to_owned(),
            json!({"name": "size.ok", "description": "d".repeat(4096)}),
        ),
    ];
    for (path, body) in ok {
        app.create(&path, body).await;
    }
    let too_big = [
        (
            "/app".to_owned(),
            json!({"name": "n".repeat(257)}),
            vec!["body", "name"],
        ),
        (
            "/app".to_owned(),
            json!({"name": "n".repeat(900_000)}),
            vec!["body", "name"],
        ),
        (
            "/app".to_owned(),
            json!({"name": "n", "metadata": many}),
            vec!["body", "metadata"],
        ),
        (
            "/app".to_owned(),
            json!({"name": "n", "metadata": big}),
            vec!["body", "metadata"],
        ),
        (
            "/app".to_owned(),
            json!({"name": "n", "metadata": {"k".repeat(257): ""}}),
            vec!["body", "metadata"],
        ),
        (
            format!("/app/{app_id}/endpoint"),
            json!({"url": url, "description": "d".repeat(4097)}),
            vec!["body", "description"],
        ),
        (
            format!("/app/{app_id}/endpoint"),
            json!({"url": url, "metadata": big}),
            vec!["body", "metadata"],
        ),
        (
            "/event-type".to_owned(),
            json!({"name": "size.no", "description": "d".repeat(4097)}),
            vec!["body", "description"],
        ),
        (
            "/event-type".to_owned(),
            json!({"name": "size.no", "description": "", "schemas": {"1": {"title": "t".repeat(256 * 1024)}}}),
            vec!["body", "schemas"],
        ),
    ];
    for (path, body, loc) in too_big {
        let out = app.call("POST", &path, Some(body)).await;
        assert_invalid(&out, &loc, &format!("POST {path}"));
    }
}
