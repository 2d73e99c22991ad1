//! Operational webhooks: a tenant's endpoint changes reach the operator's application for that tenant as signed
//! webhooks; tenants the operator does not listen to, and the operator's own changes, are not reported.

use serde_json::{Value, json};
use xwebhook_engine::id::OrgId;

use crate::delivery::signed_by;
use crate::helpers::{Client, Receiver, TestApp, spawn_app_with};

/// The service with operational webhooks on (its own client is a tenant's), and the operator organization.
async fn spawn_with_operator() -> (TestApp, Client, OrgId) {
    let operator_org = OrgId::generate();
    let app = spawn_app_with(&[("XWEBHOOK_OPERATIONAL_WEBHOOKS_ORG", operator_org.as_str())]).await;
    let operator = Client::for_org(&app.base, &operator_org);
    (app, operator, operator_org)
}

/// The operator's application with uid `uid` and one endpoint at `url`: (application id, endpoint secret).
async fn listener(operator: &Client, uid: &str, url: &str) -> (String, String) {
    let app = operator
        .create("/app", json!({"name": "operational", "uid": uid}))
        .await;
    let app_id = app["id"].as_str().expect("app id").to_owned();
    let ep = operator
        .create(&format!("/app/{app_id}/endpoint"), json!({"url": url}))
        .await;
    let ep_id = ep["id"].as_str().expect("endpoint id");
    let (_, secret) = operator
        .call("GET", &format!("/app/{app_id}/endpoint/{ep_id}/secret"), None)
        .await;
    (app_id, secret["key"].as_str().expect("secret").to_owned())
}

async fn messages(client: &Client, app_id: &str) -> Vec<Value> {
    let (status, list) = client.call("GET", &format!("/app/{app_id}/msg"), None).await;
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().cloned().unwrap_or_default()
}

async fn call_ok(client: &Client, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, out) = client.call(method, path, body).await;
    assert!((200..300).contains(&status), "{method} {path} → {status}: {out}");
    out
}

#[tokio::test]
async fn endpoint_changes_reach_the_operator_signed_with_the_contract_payload() {
    let (tenant, operator, _) = spawn_with_operator().await;
    let rx = Receiver::start().await;
    let (ops_app, secret) = listener(&operator, tenant.org.as_str(), &rx.url("/ops")).await;

    let app = tenant
        .create("/app", json!({"name": "Acme", "uid": "acme"}))
        .await;
    let app_id = app["id"].as_str().expect("app id");
    let ep = tenant
        .create(
            &format!("/app/{app_id}/endpoint"),
            json!({"url": rx.url("/tenant"), "uid": "billing"}),
        )
        .await;
    let ep_id = ep["id"].as_str().expect("endpoint id");
    let path = format!("/app/{app_id}/endpoint/billing");
    call_ok(&tenant, "PATCH", &path, Some(json!({"description": "patched"}))).await;
    call_ok(&tenant, "PUT", &path, Some(json!({"url": rx.url("/tenant2")}))).await;
    call_ok(&tenant, "POST", &format!("{path}/secret/rotate"), Some(json!({}))).await;
    call_ok(&tenant, "DELETE", &path, None).await;

    let got = rx.wait_for("/ops", 5).await;
    let mut types = Vec::new();
    for r in &got {
        assert!(
            signed_by(r, &secret),
            "signed with the operator endpoint's secret"
        );
        let body: Value = serde_json::from_slice(&r.body).expect("json body");
        let data = json!({"appId": app_id, "appUid": "acme", "endpointId": ep_id, "endpointUid": "billing"});
        assert_eq!(body["data"], data, "{body}");
        types.push(body["type"].as_str().expect("type").to_owned());
    }
    types.sort();
    assert_eq!(
        types,
        [
            "endpoint.created",
            "endpoint.deleted",
            "endpoint.updated",
            "endpoint.updated",
            "endpoint.updated"
        ]
    );

    // Ordinary messages of the operator's application, visible through the API.
    let stored = messages(&operator, &ops_app).await;
    assert_eq!(stored.len(), 5);
    assert!(stored.iter().all(|m| {
        m["eventType"]
            .as_str()
            .is_some_and(|t| t.starts_with("endpoint."))
    }));
}

#[tokio::test]
async fn tenants_the_operator_does_not_listen_to_are_not_reported() {
    let (tenant, operator, _) = spawn_with_operator().await;
    let rx = Receiver::start().await;
    let (ops_app, _) = listener(&operator, tenant.org.as_str(), &rx.url("/ops")).await;

    // No operator application for this tenant: its change succeeds and nothing is published for it.
    let unheard = Client::for_new_org(&tenant.base);
    let other_app = unheard.app_with_endpoint(&rx.url("/unheard")).await.0.id;

    let app_id = tenant.app_with_endpoint(&rx.url("/tenant")).await.0.id;
    let got = rx.wait_for("/ops", 1).await;
    let body: Value = serde_json::from_slice(&got[0].body).expect("json body");
    assert_eq!(body["data"]["appId"], app_id.as_str());
    assert_ne!(body["data"]["appId"], other_app.as_str());

    // Reports are published in order, so the unheard tenant's was settled before this one was stored.
    let (_, apps) = operator.call("GET", "/app", None).await;
    assert_eq!(apps["data"].as_array().map(Vec::len), Some(1), "{apps}");
    assert_eq!(messages(&operator, &ops_app).await.len(), 1);
}

#[tokio::test]
async fn the_operator_organizations_own_changes_are_not_reported() {
    let (tenant, operator, operator_org) = spawn_with_operator().await;
    let rx = Receiver::start().await;
    // A listener for the operator's own organization: creating its endpoint is itself an operator change.
    let (own_app, _) = listener(&operator, operator_org.as_str(), &rx.url("/own")).await;
    let (ops_app, _) = listener(&operator, tenant.org.as_str(), &rx.url("/ops")).await;

    tenant.app_with_endpoint(&rx.url("/tenant")).await;
    rx.wait_for("/ops", 1).await;

    // Reports are published in order: had the operator's changes been published, they would be stored by now.
    assert!(messages(&operator, &own_app).await.is_empty());
    assert!(rx.received("/own").is_empty());
    assert_eq!(messages(&operator, &ops_app).await.len(), 1);
}

#[tokio::test]
async fn the_workers_delivery_news_reaches_the_operator() {
    let operator_org = OrgId::generate();
    // 0.0001 h = 0.36 s: the second failed attempt, a second after the first, disables the endpoint.
    let tenant = spawn_app_with(&[
        ("XWEBHOOK_OPERATIONAL_WEBHOOKS_ORG", operator_org.as_str()),
        ("XWEBHOOK_ENDPOINT_FAILURE_DISABLE_AFTER", "0.0001"),
    ])
    .await;
    let operator = Client::for_org(&tenant.base, &operator_org);
    let rx = Receiver::start().await;
    listener(&operator, tenant.org.as_str(), &rx.url("/ops")).await;
    rx.script("/down", &[500; 10]);
    let (app_out, ep_out, _) = tenant.app_with_endpoint(&rx.url("/down")).await;
    let (app_id, ep_id) = (app_out.id, ep_out.id);
    let msg = tenant
        .create(
            &format!("/app/{app_id}/msg"),
            json!({"eventType": "user.signup", "payload": {}}),
        )
        .await;

    let got = rx.wait_for("/ops", 3).await;
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("json body"))
        .collect();
    // Each event is its own message, delivered concurrently: arrival order is not part of the contract.
    let of_type = |t: &str| -> &Value {
        let found: Vec<_> = bodies.iter().filter(|b| b["type"] == t).collect();
        assert_eq!(found.len(), 1, "one {t} in {bodies:?}");
        &found[0]["data"]
    };
    assert_eq!(of_type("endpoint.created")["endpointId"], ep_id.as_str());
    let disabled = of_type("endpoint.disabled");
    assert_eq!(disabled["endpointId"], ep_id.as_str());
    assert!(disabled["failSince"].is_string(), "{disabled}");
    let exhausted = of_type("message.attempt.exhausted");
    assert_eq!(exhausted["msgId"], msg["id"]);
    assert_eq!(exhausted["lastAttempt"]["responseStatusCode"], 500);
}
