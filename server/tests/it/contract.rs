//! `xwebhook openapi [--check-against FILE]` as the real binary, and the behaviour our document now promises
//! because the Svix contract does (HEAD on health, `featureFlags` on portal access).

use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn xwebhook_openapi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xwebhook"))
        .arg("openapi")
        .args(args)
        .output()
        .expect("the xwebhook binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn the_printed_document_is_the_served_one() {
    let out = xwebhook_openapi(&[]);
    assert!(out.status.success(), "{out:?}");
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let app = spawn_app().await;
    let (status, served) = app
        .http
        .send("GET", &format!("{}/api/v1/openapi.json", app.base), &[], None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(printed, served);
}

#[test]
fn the_check_passes_against_our_own_document_and_lists_what_a_contract_adds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ours: Value = serde_json::from_slice(&xwebhook_openapi(&[]).stdout).expect("JSON on stdout");
    let same = dir.path().join("same.json");
    std::fs::write(&same, ours.to_string()).expect("write");
    let out = xwebhook_openapi(&["--check-against", same.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).lines().count(), 1, "a one-line summary: {out:?}");

    let mut more = ours;
    more["paths"]["/api/v1/nowhere"] = json!({"get": {}});
    more["paths"]["/api/v1/app"]["get"]["parameters"] = json!([{"name": "shiny", "in": "query"}]);
    let bigger = dir.path().join("bigger.json");
    std::fs::write(&bigger, more.to_string()).expect("write");
    let out = xwebhook_openapi(&["--check-against", bigger.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        [
            "GET /api/v1/app parameter shiny (query): parameter missing",
            "/api/v1/nowhere: path missing",
        ]
    );
}

#[test]
fn a_missing_contract_is_an_error_not_a_pass() {
    let out = xwebhook_openapi(&["--check-against", "/nonexistent/contract.json"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read the contract"),
        "{out:?}"
    );
}

#[tokio::test]
async fn health_answers_head_as_documented() {
    let app = spawn_app().await;
    for path in ["/api/v1/health", "/api/v1/health/ping"] {
        let (status, body) = app
            .http
            .send("HEAD", &format!("{}{path}", app.base), &[], None)
            .await;
        assert_eq!((status, body), (204, Value::Null), "HEAD {path}");
    }
}

#[tokio::test]
async fn portal_access_accepts_feature_flags() {
    let app = spawn_app().await;
    app.create("/app", json!({"name": "portal", "uid": "flagged"}))
        .await;
    // Older clients send no flags or `null`; the contract's newer ones send a list.
    for flags in [json!(["beta"]), Value::Null] {
        let (status, out) = app
            .call(
                "POST",
                "/auth/app-portal-access/flagged",
                Some(json!({"featureFlags": flags})),
            )
            .await;
        assert_eq!(status, 200, "{flags}: {out}");
        assert!(out["token"].is_string(), "{out}");
    }
}
