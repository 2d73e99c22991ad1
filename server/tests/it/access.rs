//! Access beyond the Svix core: application-scoped portal tokens and the operator routes.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn redrive_dead_letters_needs_an_organization_token() {
    let app = spawn_app().await;
    let (status, out) = app.call("POST", "/admin/redrive-dlq", None).await;
    assert_eq!((status, out), (200, json!({"redriven": 0})));
    let mine = app.create("/app", json!({"name": "scoped"})).await;
    let app_id = xwebhook_engine::id::AppId::parse(mine["id"].as_str().expect("id")).expect("app id");
    let token = xwebhook_api::JwtAuth::new(crate::helpers::JWT_SECRET.as_bytes())
        .issue_app_token(&app.org, &app_id, chrono::Utc::now().timestamp(), 60)
        .expect("token");
    assert_eq!(
        app.call_as(&token, "POST", "/admin/redrive-dlq", None).await.0,
        403
    );
}

#[tokio::test]
async fn queue_depths_are_visible_to_operators() {
    let app = spawn_app().await;
    let (status, out) = app.call("GET", "/admin/queue", None).await;
    assert_eq!(status, 200, "{out}");
    for field in ["ready", "in_flight", "scheduled", "dead_letter"] {
        assert!(out[field].is_u64(), "{field} in {out}");
    }
}

#[tokio::test]
async fn app_portal_access_issues_a_token_for_one_application() {
    let app = spawn_app().await;
    let mine = app
        .create("/app", json!({"name": "portal", "uid": "portal-app"}))
        .await;
    let other = app.create("/app", json!({"name": "other"})).await;
    let (status, access) = app
        .call("POST", "/auth/app-portal-access/portal-app", Some(json!({})))
        .await;
    assert_eq!(status, 200, "{access}");
    let token = access["token"].as_str().expect("token");
    assert!(
        access["url"].as_str().is_some_and(|u| u.contains(token)),
        "{access}"
    );
    assert_eq!(
        app.call_as(
            token,
            "GET",
            &format!("/app/{}", mine["id"].as_str().expect("id")),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.call_as(
            token,
            "GET",
            &format!("/app/{}", other["id"].as_str().expect("id")),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.call_as(
            token,
            "POST",
            "/auth/app-portal-access/portal-app",
            Some(json!({}))
        )
        .await
        .0,
        403
    );
    // A UID that does not exist yet is created when the body carries the application.
    let (status, _) = app
        .call(
            "POST",
            "/auth/app-portal-access/new-portal-app",
            Some(json!({"application": {"name": "new"}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.call("GET", "/app/new-portal-app", None).await.0, 200);
    assert_eq!(
        app.call("POST", "/auth/app-portal-access/missing", None).await.0,
        404
    );
    let (_, doc) = app.call("GET", "/openapi.json", None).await;
    assert!(doc["paths"]["/api/v1/auth/app-portal-access/{app_id}"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/admin/redrive-dlq"]["post"].is_object());
}

/// A portal token for `app_id` asked with `body`.
async fn portal_token(app: &crate::helpers::TestApp, app_id: &str, body: serde_json::Value) -> String {
    let (status, access) = app
        .call("POST", &format!("/auth/app-portal-access/{app_id}"), Some(body))
        .await;
    assert_eq!(status, 200, "{access}");
    access["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn each_capability_is_needed_for_its_routes_and_enough() {
    let app = spawn_app().await;
    let receiver = crate::helpers::Receiver::start().await;
    let (app_out, ep_out, _) = app.app_with_endpoint(&receiver.url("/caps")).await;
    let (app_id, ep_id) = (app_out.id, ep_out.id);
    let msg_id = app.send(&app_id, "test.event", json!({"n": 1})).await.id;
    let ep = format!("/app/{app_id}/endpoint/{ep_id}");
    // (capability, method, path, body): one route that needs it.
    let cases = [
        ("ViewEndpointSecret", "GET", format!("{ep}/secret"), None),
        (
            "ManageEndpointSecret",
            "POST",
            format!("{ep}/secret/rotate"),
            Some(json!({})),
        ),
        (
            "ManageEndpoint",
            "PATCH",
            ep.clone(),
            Some(json!({"description": "mine"})),
        ),
        (
            "ManageEndpoint",
            "POST",
            format!("/app/{app_id}/endpoint"),
            Some(json!({"url": receiver.url("/x")})),
        ),
        (
            "CreateAttempts",
            "POST",
            format!("/app/{app_id}/msg/{msg_id}/endpoint/{ep_id}/resend"),
            None,
        ),
        (
            "CreateAttempts",
            "POST",
            format!("{ep}/send-example"),
            Some(json!({"eventType": "svix.ping"})),
        ),
    ];
    for (capability, method, path, body) in cases {
        let without = portal_token(&app, &app_id, json!({"capabilities": ["ViewBase"]})).await;
        let (status, out) = app.call_as(&without, method, &path, body.clone()).await;
        assert_eq!(status, 403, "{method} {path} without {capability}: {out}");
        assert!(
            out["detail"].as_str().is_some_and(|d| d.contains(capability)),
            "the refusal names the capability: {out}"
        );
        let with = portal_token(&app, &app_id, json!({"capabilities": ["ViewBase", capability]})).await;
        let (status, out) = app.call_as(&with, method, &path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} with {capability}: {status} {out}"
        );
    }
    // ViewBase reads, and nothing more.
    let read_only = portal_token(&app, &app_id, json!({"readOnly": true})).await;
    assert_eq!(app.call_as(&read_only, "GET", &ep, None).await.0, 200);
    assert_eq!(
        app.call_as(&read_only, "GET", &format!("{ep}/secret"), None)
            .await
            .0,
        403
    );
    assert_eq!(app.call_as(&read_only, "DELETE", &ep, None).await.0, 403);
    // No capabilities asked: all of them.
    let all = portal_token(&app, &app_id, json!({})).await;
    assert_eq!(
        app.call_as(&all, "GET", &format!("{ep}/secret"), None).await.0,
        200
    );
}

#[tokio::test]
async fn portal_access_refuses_what_the_sdk_documents_as_invalid() {
    let app = spawn_app().await;
    let mine = app.create("/app", json!({"name": "portal"})).await;
    let path = format!("/auth/app-portal-access/{}", mine["id"].as_str().expect("id"));
    let cases = [
        (json!({"expiry": 3599}), "expiry"),
        (json!({"expiry": 604_801}), "expiry"),
        (json!({"capabilities": ["ManageEndpoint"]}), "capabilities"),
        (
            json!({"readOnly": true, "capabilities": ["ViewBase", "ManageEndpoint"]}),
            "capabilities",
        ),
        (
            json!({"capabilities": ["ViewBase", "FlyToTheMoon"]}),
            "capabilities",
        ),
        (json!({"sessionId": ""}), "sessionId"),
    ];
    for (body, field) in cases {
        let (status, out) = app.call("POST", &path, Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {out}");
        assert!(
            out.to_string().contains(field),
            "{body}: the error names `{field}`: {out}"
        );
    }
    let (status, out) = app.call("POST", &path, Some(json!({"expiry": 3600}))).await;
    assert_eq!(status, 200, "{out}");
}

#[tokio::test]
async fn the_portal_link_uses_the_public_url_never_the_host_header() {
    let app = crate::helpers::spawn_app_with(&[("XWEBHOOK_PUBLIC_URL", "https://hooks.example.com/")]).await;
    let mine = app.create("/app", json!({"name": "portal"})).await;
    let url = format!(
        "{}/api/v1/auth/app-portal-access/{}",
        app.base,
        mine["id"].as_str().expect("id")
    );
    let auth = format!("Bearer {}", app.token);
    let (status, access) = app
        .http
        .send(
            "POST",
            &url,
            &[("authorization", &auth), ("host", "evil.example")],
            None,
        )
        .await;
    assert_eq!(status, 200, "{access}");
    let token = access["token"].as_str().expect("token");
    assert_eq!(
        access["url"].as_str(),
        Some(format!("https://hooks.example.com/app-portal#key={token}").as_str())
    );
}

#[tokio::test]
async fn expire_all_refuses_the_applications_tokens_issued_until_then() {
    let app = spawn_app().await;
    let mine = app.create("/app", json!({"name": "portal"})).await;
    let app_id = mine["id"].as_str().expect("id");
    let other = app.create("/app", json!({"name": "other"})).await;
    let other_id = other["id"].as_str().expect("id");
    let read = format!("/app/{app_id}/endpoint");
    let works = |token: String| {
        let (app, read) = (&app, &read);
        async move { app.call_as(&token, "GET", read, None).await.0 }
    };
    let s1 = portal_token(&app, app_id, json!({"sessionId": "s1"})).await;
    let s2 = portal_token(&app, app_id, json!({"sessionId": "s2"})).await;
    let plain = portal_token(&app, app_id, json!({})).await;
    let elsewhere = portal_token(&app, other_id, json!({})).await;
    let expire = format!("/auth/app/{app_id}/expire-all");

    // A grace period leaves them working for now.
    let (status, out) = app.call("POST", &expire, Some(json!({"expiry": 3600}))).await;
    assert_eq!(status, 204, "{out}");
    assert_eq!(works(s1.clone()).await, 200);

    let (status, _) = app
        .call("POST", &expire, Some(json!({"sessionIds": ["s1"]})))
        .await;
    assert_eq!(status, 204);
    assert_eq!(works(s1).await, 401, "session s1's token is expired");
    assert_eq!(works(s2.clone()).await, 200, "other sessions are not");
    assert_eq!(works(plain.clone()).await, 200);

    assert_eq!(app.call("POST", &expire, None).await.0, 204);
    assert_eq!(works(s2).await, 401);
    assert_eq!(works(plain).await, 401);
    let (status, _) = app
        .call_as(&elsewhere, "GET", &format!("/app/{other_id}/endpoint"), None)
        .await;
    assert_eq!(status, 200, "another application's tokens are untouched");
    let fresh = portal_token(&app, app_id, json!({"sessionId": "s1"})).await;
    assert_eq!(works(fresh).await, 200, "tokens issued afterwards work");

    let (status, out) = app.call("POST", &expire, Some(json!({"expiry": -1}))).await;
    assert_eq!(status, 422, "{out}");
}
