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
    let token = xwebhook_api::JwtAuth::new(crate::helpers::JWT_SECRET.as_bytes()).issue_app_token(
        &app.org,
        &app_id,
        chrono::Utc::now().timestamp(),
        60,
    );
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
