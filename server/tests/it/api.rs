//! The API's contract at the HTTP level: bad input, tenancy, idempotency, the edges (CORS, slashes, sizes).

use bytes::Bytes;
use serde_json::{Value, json};

use crate::helpers::{org_token, spawn_app, spawn_app_with};

/// Every kind of bad input gets a precise 4xx with a JSON body, never a 5xx.
#[tokio::test]
async fn bad_input_gets_precise_4xx() {
    let app = spawn_app().await;
    let (app_out, ep_out, _) = app.app_with_endpoint("https://example.com/hook").await;
    let (app_id, ep_id) = (app_out.id, ep_out.id);
    let cases: Vec<(&str, String, Option<Value>, u16, &str)> = vec![
        ("POST", "/app".into(), Some(json!({"name": 1})), 422, "name"),
        ("POST", "/app".into(), Some(json!({})), 422, "name"),
        (
            "POST",
            "/app".into(),
            Some(json!({"name": "a", "uid": "has space"})),
            422,
            "uid",
        ),
        (
            "POST",
            "/app".into(),
            Some(json!({"name": "a", "uid": "app_looks_like_id"})),
            422,
            "uid",
        ),
        (
            "POST",
            "/app".into(),
            Some(json!({"name": "a", "metadata": {"k": 1}})),
            422,
            "metadata",
        ),
        (
            "POST",
            format!("/app/{app_id}/endpoint"),
            Some(json!({"url": "not a url"})),
            422,
            "url",
        ),
        (
            "POST",
            format!("/app/{app_id}/endpoint"),
            Some(json!({"url": "ftp://x.y"})),
            422,
            "url",
        ),
        (
            "POST",
            format!("/app/{app_id}/endpoint"),
            Some(json!({"url": "https://x.y", "filterTypes": ["nope"]})),
            422,
            "filterTypes",
        ),
        (
            "POST",
            format!("/app/{app_id}/endpoint"),
            Some(json!({"url": "https://x.y", "secret": "whsec_short"})),
            422,
            "secret",
        ),
        (
            "POST",
            format!("/app/{app_id}/endpoint"),
            Some(json!({"url": "https://x.y", "channels": []})),
            422,
            "channels",
        ),
        (
            "POST",
            format!("/app/{app_id}/msg"),
            Some(json!({"eventType": "a", "payload": [1]})),
            422,
            "payload",
        ),
        (
            "POST",
            format!("/app/{app_id}/msg"),
            Some(json!({"eventType": "a b", "payload": {}})),
            422,
            "eventType",
        ),
        (
            "POST",
            format!("/app/{app_id}/msg"),
            Some(json!({"eventType": "a", "payload": {}, "payloadRetentionPeriod": 1000})),
            422,
            "payloadRetentionPeriod",
        ),
        ("GET", "/app?limit=251".into(), None, 422, "limit"),
        ("GET", "/app?limit=abc".into(), None, 422, "limit"),
        ("GET", "/app?order=sideways".into(), None, 422, "order"),
        (
            "GET",
            format!("/app/{app_id}/msg?before=yesterday"),
            None,
            422,
            "before",
        ),
        (
            "GET",
            format!("/app/{app_id}/attempt/endpoint/{ep_id}?status=9"),
            None,
            422,
            "status",
        ),
        ("GET", format!("/app/{app_id}/msg/bad%20id"), None, 422, "msg_id"),
        (
            "GET",
            format!("/app/{app_id}/msg/unknown-event-id"),
            None,
            404,
            "",
        ),
        ("GET", "/app/bad%20uid".into(), None, 422, "app_id"),
        ("GET", "/app/app_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(), None, 404, ""),
        ("GET", "/app/unknown-uid".into(), None, 404, ""),
        (
            "POST",
            "/event-type".into(),
            Some(
                json!({"name": "bad.schema", "description": "d", "schemas": {"1": {"type": "no-such-type"}}}),
            ),
            422,
            "schemas",
        ),
        (
            "PUT",
            format!("/app/{app_id}/endpoint/{ep_id}/headers"),
            Some(json!({"headers": {"webhook-id": "x"}})),
            422,
            "headers",
        ),
    ];
    for (method, path, body, expected, field) in cases {
        let (status, out) = app.call(method, &path, body.clone()).await;
        assert_eq!(status, expected, "{method} {path} {body:?} → {out}");
        if expected == 422 {
            let loc = &out["detail"][0]["loc"];
            assert!(
                loc.as_array().is_some_and(|l| l.iter().any(|p| p == field)),
                "{method} {path}: loc {loc} lacks {field}"
            );
            assert!(
                out["detail"][0]["msg"].as_str().is_some_and(|m| !m.is_empty()),
                "{out}"
            );
        } else {
            assert_eq!(out["code"], "not_found", "{out}");
        }
    }
}

#[tokio::test]
async fn malformed_json_and_oversized_bodies() {
    let app = spawn_app_with(&[("XWEBHOOK_MAX_BODY_BYTES", "1024")]).await;
    let auth = format!("Bearer {}", app.token);
    let url = format!("{}/api/v1/app", app.base);
    let (status, out) = app
        .http
        .send(
            "POST",
            &url,
            &[("authorization", &auth)],
            Some(Bytes::from_static(b"{\"name\":")),
        )
        .await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(out["detail"][0]["loc"], json!(["body"]));
    let big = Bytes::from(format!("{{\"name\":\"{}\"}}", "x".repeat(4096)));
    let (status, out) = app
        .http
        .send("POST", &url, &[("authorization", &auth)], Some(big))
        .await;
    assert_eq!(status, 413, "{out}");
    assert_eq!(out["code"], "payload_too_large");
}

#[tokio::test]
async fn bad_tokens_are_401_with_json() {
    let app = spawn_app().await;
    let url = format!("{}/api/v1/app", app.base);
    let other_secret = xwebhook_api::JwtAuth::new(b"some-other-secret")
        .issue_org_token(&app.org, 0)
        .expect("token");
    for auth in [
        None,
        Some("Bearer garbage".to_owned()),
        Some(format!("Basic {}", app.token)),
        Some(format!("Bearer {other_secret}")),
    ] {
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| ("authorization", a))
            .into_iter()
            .collect();
        let (status, out) = app.http.send("GET", &url, &headers, None).await;
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(out["code"], "authentication_failed");
    }
}

/// One organization can never see, change or learn of another's objects.
#[tokio::test]
async fn tenants_are_isolated() {
    let app = spawn_app().await;
    let app_a = app
        .create("/app", json!({"name": "a", "uid": "shared-uid"}))
        .await;
    let id = app_a["id"].as_str().expect("id");
    let other = org_token(&xwebhook_engine::id::OrgId::generate());
    for (method, path, body) in [
        ("GET", format!("/app/{id}"), None),
        ("GET", "/app/shared-uid".to_owned(), None),
        ("PATCH", format!("/app/{id}"), Some(json!({"name": "stolen"}))),
        ("DELETE", format!("/app/{id}"), None),
        ("GET", format!("/app/{id}/endpoint"), None),
        (
            "POST",
            format!("/app/{id}/msg"),
            Some(json!({"eventType": "a", "payload": {}})),
        ),
    ] {
        let (status, _) = app.call_as(&other, method, &path, body).await;
        assert_eq!(status, 404, "{method} {path}");
    }
    let (_, list) = app.call_as(&other, "GET", "/app", None).await;
    assert_eq!(list["data"], json!([]));
    // The same UID is free in the other organization.
    let (status, _) = app
        .call_as(
            &other,
            "POST",
            "/app",
            Some(json!({"name": "b", "uid": "shared-uid"})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, still) = app.call("GET", &format!("/app/{id}"), None).await;
    assert_eq!(still["name"], "a");
}

#[tokio::test]
async fn app_scoped_tokens_see_only_their_app() {
    let app = spawn_app().await;
    let mine = app.create("/app", json!({"name": "mine"})).await;
    let theirs = app.create("/app", json!({"name": "theirs"})).await;
    let mine_id = xwebhook_engine::id::AppId::parse(mine["id"].as_str().expect("id")).expect("app id");
    let token = xwebhook_api::JwtAuth::new(crate::helpers::JWT_SECRET.as_bytes())
        .issue_app_token(&app.org, &mine_id, chrono::Utc::now().timestamp(), 60)
        .expect("token");
    assert_eq!(
        app.call_as(&token, "GET", &format!("/app/{mine_id}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        app.call_as(
            &token,
            "GET",
            &format!("/app/{}", theirs["id"].as_str().expect("id")),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(app.call_as(&token, "GET", "/app", None).await.0, 403);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_success() {
    let app = spawn_app().await;
    let auth = format!("Bearer {}", app.token);
    let url = format!("{}/api/v1/app", app.base);
    let headers = [("authorization", auth.as_str()), ("idempotency-key", "key-1")];
    let body = || Some(Bytes::from(json!({"name": "once"}).to_string()));
    let (s1, first) = app.http.send("POST", &url, &headers, body()).await;
    let (s2, second) = app.http.send("POST", &url, &headers, body()).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, second);
    // Concurrent duplicates: all get the same application.
    let concurrent = (0..8).map(|_| {
        let http = app.http.clone();
        let (url, auth) = (url.clone(), auth.clone());
        tokio::spawn(async move {
            let headers = [("authorization", auth.as_str()), ("idempotency-key", "key-2")];
            http.send(
                "POST",
                &url,
                &headers,
                Some(Bytes::from(json!({"name": "race"}).to_string())),
            )
            .await
        })
    });
    let results: Vec<(u16, Value)> = futures_util::future::join_all(concurrent)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let ids: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|(_, v)| v["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    let (_, list) = app.call("GET", "/app", None).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(2));
    // A failed request does not burn its key.
    let bad = [("authorization", auth.as_str()), ("idempotency-key", "key-3")];
    assert_eq!(
        app.http.send("POST", &url, &bad, Some(Bytes::from("{}"))).await.0,
        422
    );
    assert_eq!(app.http.send("POST", &url, &bad, body()).await.0, 201);
}

#[tokio::test]
async fn edges_cors_trailing_slash_unknown_routes() {
    let app = spawn_app().await;
    let auth = format!("Bearer {}", app.token);
    let (status, _) = app
        .http
        .send(
            "GET",
            &format!("{}/api/v1/app/", app.base),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, out) = app
        .http
        .send(
            "GET",
            &format!("{}/api/v1/nothing-here", app.base),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!((status, out["code"].as_str()), (404, Some("not_found")));
    let (status, out) = app
        .http
        .send(
            "DELETE",
            &format!("{}/api/v1/app", app.base),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(status, 405, "{out}");
    assert!(out.is_object(), "{out}");
    let preflight = [
        ("origin", "https://anywhere.example"),
        ("access-control-request-method", "POST"),
    ];
    let (status, _) = app
        .http
        .send("OPTIONS", &format!("{}/api/v1/app", app.base), &preflight, None)
        .await;
    assert_eq!(status, 200);
    let (status, doc) = app
        .http
        .send("GET", &format!("{}/api/v1/openapi.json", app.base), &[], None)
        .await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/api/v1/app/{app_id}/msg"]["post"].is_object());
    let (status, _) = app
        .http
        .send("GET", &format!("{}/api/v1/health", app.base), &[], None)
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn pagination_walks_forward_and_back() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.create("/app", json!({"name": format!("app{i}")})).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let ids_of = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|a| a["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let (_, p1) = app.call("GET", "/app?limit=2", None).await;
    assert_eq!(
        (ids_of(&p1), p1["done"].as_bool()),
        (ids[0..2].to_vec(), Some(false))
    );
    let (_, p2) = app
        .call(
            "GET",
            &format!("/app?limit=2&iterator={}", p1["iterator"].as_str().expect("it")),
            None,
        )
        .await;
    assert_eq!(ids_of(&p2), ids[2..4].to_vec());
    let (_, p3) = app
        .call(
            "GET",
            &format!("/app?limit=2&iterator={}", p2["iterator"].as_str().expect("it")),
            None,
        )
        .await;
    assert_eq!(
        (ids_of(&p3), p3["done"].as_bool()),
        (ids[4..5].to_vec(), Some(true))
    );
    let (_, back) = app
        .call(
            "GET",
            &format!(
                "/app?limit=2&iterator={}",
                p3["prevIterator"].as_str().expect("prev")
            ),
            None,
        )
        .await;
    assert_eq!(ids_of(&back), ids[2..4].to_vec());
    let (_, desc) = app.call("GET", "/app?limit=2&order=descending", None).await;
    assert_eq!(ids_of(&desc), vec![ids[4].clone(), ids[3].clone()]);
}
