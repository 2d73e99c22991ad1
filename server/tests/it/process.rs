//! The real binary: `kill -9` loses nothing, SIGTERM exits cleanly.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{DEADLINE, Http, JWT_SECRET, Receiver, org_token};

/// The `xwebhook` binary serving from `data_dir` on `port`.
fn start(data_dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_xwebhook"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env("XWEBHOOK_JWT_SECRET", JWT_SECRET)
        .env("XWEBHOOK_ALLOW_SUBNETS", "127.0.0.0/8")
        .env("XWEBHOOK_RETRY_SCHEDULE", "1,1,1")
        .env("XWEBHOOK_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start xwebhook")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn wait_ready(http: &Http, base: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let ping = tokio::time::timeout(Duration::from_millis(500), async {
            let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Empty<bytes::Bytes>>();
            client
                .get(format!("{base}/api/v1/health/ping").parse().expect("uri"))
                .await
        })
        .await;
        if matches!(ping, Ok(Ok(ref r)) if r.status() == 204) {
            let _ = http;
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "xwebhook did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[tokio::test]
async fn sigkill_mid_delivery_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = Http::new();
    let rx = Receiver::start().await;
    rx.delay("/crash", Duration::from_millis(200));
    let mut child = start(dir.path(), port);
    wait_ready(&http, &base).await;

    let org = xwebhook_engine::id::OrgId::generate();
    let auth = format!("Bearer {}", org_token(&org));
    let call = |method: &'static str, path: String, body: serde_json::Value| {
        let (http, auth, url) = (http.clone(), auth.clone(), format!("{base}/api/v1{path}"));
        async move {
            http.send(
                method,
                &url,
                &[("authorization", &auth)],
                Some(bytes::Bytes::from(body.to_string())),
            )
            .await
        }
    };
    let (_, app) = call("POST", "/app".into(), json!({"name": "crash"})).await;
    let app_id = app["id"].as_str().expect("id").to_owned();
    call(
        "POST",
        format!("/app/{app_id}/endpoint"),
        json!({"url": rx.url("/crash")}),
    )
    .await;
    let mut sent = std::collections::BTreeSet::new();
    for i in 0..60 {
        let (status, msg) = call(
            "POST",
            format!("/app/{app_id}/msg"),
            json!({"eventType": "a", "payload": {"i": i}}),
        )
        .await;
        assert_eq!(status, 202);
        sent.insert(msg["id"].as_str().expect("id").to_owned());
    }
    rx.wait_for("/crash", 1).await;
    signal(&child, "-KILL");
    let _ = child.wait();
    let before = rx.received("/crash").len();
    assert!(
        before < sent.len(),
        "the kill must interrupt delivery (got all {before} already)"
    );

    let mut child = start(dir.path(), port);
    wait_ready(&http, &base).await;
    let delivered = crate::helpers::eventually("every message after restart", || async {
        let ids: std::collections::BTreeSet<String> = rx
            .received("/crash")
            .iter()
            .filter_map(|r| {
                r.headers
                    .get("webhook-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
            .collect();
        (ids.is_superset(&sent)).then_some(ids)
    })
    .await;
    assert_eq!(delivered.len(), sent.len());
    signal(&child, "-TERM");
    let status = child.wait().expect("wait");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[tokio::test]
async fn sigterm_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let http = Http::new();
    let mut child = start(dir.path(), port);
    wait_ready(&http, &format!("http://127.0.0.1:{port}")).await;
    signal(&child, "-TERM");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "exit status {status}");
}
