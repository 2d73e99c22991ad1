//! Request ids (taken from the caller or made, and echoed) and the `/metrics` route.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::HeaderMap;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use tokio_util::sync::CancellationToken;

use crate::helpers::{Http, TestApp, spawn_app, spawn_app_with, test_config};

/// GETs `path` with `headers`; returns the status, the response headers and the body.
async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut req = hyper::Request::get(format!("{}{path}", app.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = client
        .request(req.body(Empty::new()).expect("valid request"))
        .await
        .expect("request reaches the server");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = spawn_app().await;
    let ping = "/api/v1/health/ping";

    let (_, h, _) = get(&app, ping, &[("x-request-id", "req-abc.123")]).await;
    assert_eq!(header(&h, "x-request-id"), Some("req-abc.123"));
    assert_eq!(header(&h, "svix-req-id"), None);

    // The Svix SDKs send `svix-req-id`: echoed under its name, and the request's id.
    let (_, h, _) = get(&app, ping, &[("svix-req-id", "8837290011")]).await;
    assert_eq!(header(&h, "svix-req-id"), Some("8837290011"));
    assert_eq!(header(&h, "x-request-id"), Some("8837290011"));

    let (_, h, _) = get(&app, ping, &[]).await;
    let made = header(&h, "x-request-id").expect("an id is made");
    assert_eq!(made.len(), 26, "a ULID: {made}");

    // Too long to trust into logs: replaced by a fresh one.
    let long = "x".repeat(200);
    let (_, h, _) = get(&app, ping, &[("x-request-id", &long)]).await;
    let replaced = header(&h, "x-request-id").expect("an id is made");
    assert_eq!(replaced.len(), 26, "{replaced}");

    // Errors carry one too, unmatched routes included.
    let (status, h, _) = get(&app, "/no/such/route", &[("x-request-id", "lost-1")]).await;
    assert_eq!(status, 404);
    assert_eq!(header(&h, "x-request-id"), Some("lost-1"));
}

#[tokio::test]
async fn metrics_are_served_on_the_api_listener_unless_turned_off() {
    let app = spawn_app().await;
    let (status, h, body) = get(&app, "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").is_some_and(|c| c.starts_with("text/plain")));
    assert!(body.contains("xwebhook_queue_depth{state=\"ready\"}"), "{body}");

    let off = spawn_app_with(&[("XWEBHOOK_METRICS", "off")]).await;
    let (status, _, _) = get(&off, "/metrics", &[]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn metrics_may_have_a_listener_of_their_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(dir.path(), &[("XWEBHOOK_METRICS_LISTEN", "127.0.0.1:0")]);
    let shutdown = CancellationToken::new();
    let running = xwebhook::run::start(config, shutdown.clone())
        .await
        .expect("service starts");
    let api = running.api_addr.expect("api role runs");
    let metrics = running.metrics_addr.expect("metrics listener");
    let _guard = shutdown.clone().drop_guard();
    tokio::spawn(running.wait());
    let http = Http::new();
    let (status, body) = http
        .send("GET", &format!("http://{metrics}/metrics"), &[], None)
        .await;
    assert_eq!(status, 200);
    assert!(
        body.as_str()
            .is_some_and(|b| b.contains("xwebhook_worker_concurrency")),
        "{body}"
    );
    let (status, _) = http
        .send("GET", &format!("http://{api}/metrics"), &[], None)
        .await;
    assert_eq!(status, 404, "not on the API's listener as well");
}
