//! `/auth/logout`: an app token revoked by logout is refused from then on, by every process sharing the store;
//! organization tokens cannot be logged out; other tokens are unaffected.

use serde_json::{Value, json};

use crate::helpers::{Client, spawn_app, spawn_app_with};

/// A fresh app-portal token for the application `app_id` (created when missing).
async fn portal_token(client: &Client, app_uid: &str) -> String {
    let (status, access) = client
        .call(
            "POST",
            &format!("/auth/app-portal-access/{app_uid}"),
            Some(json!({"application": {"name": app_uid}})),
        )
        .await;
    assert_eq!(status, 200, "{access}");
    access["token"].as_str().expect("token").to_owned()
}

async fn status_as(client: &Client, token: &str, method: &str, path: &str) -> (u16, Value) {
    client.call_as(token, method, path, None).await
}

#[tokio::test]
async fn logout_revokes_only_the_presenting_app_token() {
    let app = spawn_app().await;
    let token = portal_token(&app, "logout-a").await;
    let sibling = portal_token(&app, "logout-a").await;
    let other_app = portal_token(&app, "logout-b").await;
    assert_eq!(status_as(&app, &token, "GET", "/app/logout-a").await.0, 200);

    let (status, body) = status_as(&app, &token, "POST", "/auth/logout").await;
    assert_eq!((status, body), (204, Value::Null));

    let (status, body) = status_as(&app, &token, "GET", "/app/logout-a").await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "authentication_failed");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("logged out")),
        "{body}"
    );
    assert_eq!(status_as(&app, &token, "POST", "/auth/logout").await.0, 401);

    assert_eq!(status_as(&app, &sibling, "GET", "/app/logout-a").await.0, 200);
    assert_eq!(status_as(&app, &other_app, "GET", "/app/logout-b").await.0, 200);
    assert_eq!(app.call("GET", "/app/logout-a", None).await.0, 200);
}

#[tokio::test]
async fn organization_tokens_cannot_be_logged_out() {
    let app = spawn_app().await;
    let (status, body) = app.call("POST", "/auth/logout", None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "insufficient_access");
    assert_eq!(
        app.call("GET", "/app", None).await.0,
        200,
        "the org token still works"
    );
}

#[tokio::test]
async fn logout_is_seen_by_every_process_sharing_redis() {
    let prefix = format!("xwt:{}", ulid::Ulid::new());
    let env = [
        ("XWEBHOOK_REDIS_URL", "redis://127.0.0.1:6379"),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
    ];
    let a = spawn_app_with(&env).await;
    let b = spawn_app_with(&env).await;
    let on_b = a.client.on(&b.base);
    let token = portal_token(&a, "shared").await;
    assert_eq!(status_as(&on_b, &token, "GET", "/app/shared").await.0, 200);
    assert_eq!(status_as(&a, &token, "POST", "/auth/logout").await.0, 204);
    assert_eq!(status_as(&on_b, &token, "GET", "/app/shared").await.0, 401);
}

#[tokio::test]
async fn logout_is_documented() {
    let app = spawn_app().await;
    let (status, doc) = app
        .http
        .send("GET", &format!("{}/api/v1/openapi.json", app.base), &[], None)
        .await;
    assert_eq!(status, 200);
    let op = &doc["paths"]["/api/v1/auth/logout"]["post"];
    assert_eq!(op["tags"], json!(["Authentication"]));
    assert!(op["responses"]["204"].is_object(), "{op}");
}
