//! Delivery end to end: signed requests to a real receiver, retries on schedule, refusals, isolation of slow
//! endpoints, and every attempt visible through the API.

use std::time::Duration;

use serde_json::{Value, json};
use xwebhook_engine::domain::EndpointSecret;
use xwebhook_engine::signing::sign;

use xwebhook_api::dto::attempt::{MessageAttemptOut, MessageEndpointOut};
use xwebhook_api::dto::endpoint::{EndpointHeadersOut, EndpointSecretOut};
use xwebhook_api::dto::message::MessageOut;
use xwebhook_api::pagination::ListResponse;

use crate::helpers::{Receiver, TestApp, eventually, spawn_app, spawn_app_with};
use crate::receiver::Received;

pub fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Checks a delivery's Standard Webhooks signature with `secret`.
pub fn signed_by(r: &Received, secret: &str) -> bool {
    let secret = EndpointSecret::parse(secret).expect("valid secret");
    let ts: i64 = header(r, "webhook-timestamp").parse().expect("numeric timestamp");
    let expected = sign(&secret, header(r, "webhook-id"), ts, &r.body);
    header(r, "webhook-signature").split(' ').any(|s| s == expected)
}

/// Waits until the attempt listing at `path` holds at least `n` attempts, and returns them.
async fn attempts(app: &TestApp, path: &str, n: usize) -> Vec<MessageAttemptOut> {
    app.wait_for_list(path, n).await
}

#[tokio::test]
async fn message_is_delivered_signed_and_recorded() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (a, ep, secret) = app.app_with_endpoint(&rx.url("/hook")).await;
    let msg = app
        .send(&a.id, "user.signup", json!({"user": "alice", "n": 1}))
        .await;
    let got = rx.wait_for("/hook", 1).await;
    let r = &got[0];
    assert_eq!(header(r, "webhook-id"), msg.id);
    assert_eq!(header(r, "content-type"), "application/json");
    assert!(header(r, "user-agent").starts_with("Xwebhook/"));
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).expect("json body"),
        json!({"user": "alice", "n": 1})
    );
    assert!(
        signed_by(r, &secret),
        "signature must verify with the endpoint secret"
    );
    assert!(!signed_by(r, &EndpointSecret::generate().expose()));

    let (app_id, ep_id, msg_id) = (&a.id, &ep.id, &msg.id);
    let listed = attempts(&app, &format!("/app/{app_id}/attempt/msg/{msg_id}"), 1).await;
    let first = &listed[0];
    assert_eq!(
        (first.status, first.response_status_code, first.trigger_type),
        (0, 200, 0)
    );
    let by_endpoint = attempts(&app, &format!("/app/{app_id}/attempt/endpoint/{ep_id}"), 1).await;
    assert_eq!(by_endpoint[0].id, first.id);
    let one: MessageAttemptOut = app
        .get(&format!("/app/{app_id}/msg/{msg_id}/attempt/{}", first.id))
        .await;
    assert_eq!(one.response, "{\"ok\":true}");
    let dests: ListResponse<MessageEndpointOut> =
        app.list(&format!("/app/{app_id}/msg/{msg_id}/endpoint")).await;
    assert_eq!((&dests.data[0].endpoint.id, dests.data[0].status), (ep_id, 0));
    // The endpoint's messages carry their payloads, which the typed shape cannot hold flattened: raw JSON.
    let (_, msgs) = app
        .call("GET", &format!("/app/{app_id}/endpoint/{ep_id}/msg"), None)
        .await;
    assert_eq!(
        (msgs["data"][0]["id"].as_str(), &msgs["data"][0]["statusText"]),
        (Some(msg_id.as_str()), &json!("success"))
    );
}

#[tokio::test]
async fn failures_retry_on_schedule_until_success() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    rx.script("/flaky", &[500, 503]);
    let (a, ep, _) = app.app_with_endpoint(&rx.url("/flaky")).await;
    let msg = app.send(&a.id, "order.paid", json!({"order": 7})).await;
    let got = rx.wait_for("/flaky", 3).await;
    assert!(
        got.iter().all(|r| header(r, "webhook-id") == msg.id),
        "the id is stable across retries"
    );
    // Schedule "1,1" with ±20 % jitter: each retry waits at least 0.8 s.
    for pair in got.windows(2) {
        assert!(
            pair[1].at - pair[0].at >= Duration::from_millis(800),
            "retry came too early"
        );
    }
    let listed = attempts(&app, &format!("/app/{}/attempt/endpoint/{}", a.id, ep.id), 3).await;
    let codes: Vec<i16> = listed.iter().map(|a| a.response_status_code).collect();
    assert_eq!(codes, [200, 503, 500], "newest first");
    let statuses: Vec<u8> = listed.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [0, 2, 2]);
    let (_, msgs) = app
        .call("GET", &format!("/app/{}/endpoint/{}/msg", a.id, ep.id), None)
        .await;
    assert_eq!(msgs["data"][0]["status"], 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.received("/flaky").len(), 3, "no attempt after success");
}

#[tokio::test]
async fn exhausted_schedule_marks_destination_failed() {
    let app = spawn_app_with(&[("XWEBHOOK_RETRY_SCHEDULE", "0.2")]).await;
    let rx = Receiver::start().await;
    rx.script("/down", &[500, 500, 500]);
    let (a, ep, _) = app.app_with_endpoint(&rx.url("/down")).await;
    let msg = app.send(&a.id, "a", json!({})).await;
    rx.wait_for("/down", 2).await;
    let destinations = format!("/app/{}/msg/{}/endpoint", a.id, msg.id);
    let status = eventually("destination to fail", || async {
        let d: ListResponse<MessageEndpointOut> = app.list(&destinations).await;
        d.data.into_iter().find(|d| d.status == 2).map(|d| d.status_text)
    })
    .await;
    assert_eq!(status, "fail");
    let listed = attempts(
        &app,
        &format!("/app/{}/attempt/endpoint/{}?status=2", a.id, ep.id),
        2,
    )
    .await;
    assert_eq!(listed.len(), 2);
}

/// Private addresses are refused, whether the URL names the IP or a host that resolves to it, as a failed
/// attempt with a clear message.
#[tokio::test]
async fn private_addresses_are_refused_as_failed_attempts() {
    let app = spawn_app_with(&[("XWEBHOOK_ALLOW_SUBNETS", ""), ("XWEBHOOK_RETRY_SCHEDULE", "")]).await;
    let rx = Receiver::start().await;
    let port = rx.addr.port();
    for (url, path) in [
        (rx.url("/literal"), "/literal"),
        (format!("http://localhost:{port}/named"), "/named"),
    ] {
        let (a, _, _) = app.app_with_endpoint(&url).await;
        let msg = app.send(&a.id, "a", json!({})).await;
        let listed = attempts(&app, &format!("/app/{}/attempt/msg/{}", a.id, msg.id), 1).await;
        assert_eq!(listed[0].response_status_code, 0, "{url}");
        let response = &listed[0].response;
        assert!(response.contains("refused"), "{url}: {response}");
        assert!(rx.received(path).is_empty(), "{url}");
    }
}

#[tokio::test]
async fn a_slow_endpoint_does_not_delay_the_others() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    rx.delay("/slow", Duration::from_secs(3));
    let a = app.create_app("mixed").await;
    for path in ["/slow", "/fast"] {
        app.create_endpoint(&a.id, &rx.url(path)).await;
    }
    for i in 0..40 {
        app.send(&a.id, "tick", json!({"i": i})).await;
    }
    rx.wait_for("/fast", 40).await;
    assert!(
        rx.received("/slow").is_empty(),
        "the fast endpoint finished before the slow one answered once"
    );
    rx.wait_for("/slow", 40).await;
}

#[tokio::test]
async fn filters_route_by_event_type_and_channel() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    app.create("/event-type", json!({"name": "user.signup", "description": "d"}))
        .await;
    let a = app.create_app("routing").await;
    let app_id = &a.id;
    app.create(
        &format!("/app/{app_id}/endpoint"),
        json!({"url": rx.url("/typed"), "filterTypes": ["user.signup"]}),
    )
    .await;
    app.create(
        &format!("/app/{app_id}/endpoint"),
        json!({"url": rx.url("/chan"), "channels": ["eu"]}),
    )
    .await;
    app.create_endpoint(app_id, &rx.url("/all")).await;
    app.send(app_id, "user.signup", json!({"n": 1})).await;
    app.create(
        &format!("/app/{app_id}/msg"),
        json!({"eventType": "other", "payload": {"n": 2}, "channels": ["eu"]}),
    )
    .await;
    app.create(
        &format!("/app/{app_id}/msg"),
        json!({"eventType": "other", "payload": {"n": 3}, "channels": ["us"]}),
    )
    .await;
    rx.wait_for("/all", 3).await;
    rx.wait_for("/typed", 1).await;
    rx.wait_for("/chan", 1).await;
    let body = |path: &str| -> Vec<Value> {
        rx.received(path)
            .iter()
            .map(|r| serde_json::from_slice(&r.body).expect("json"))
            .collect()
    };
    assert_eq!(body("/typed"), [json!({"n": 1})]);
    assert_eq!(body("/chan"), [json!({"n": 2})]);
    let listed: ListResponse<MessageOut> = app.list(&format!("/app/{app_id}/msg?channel=eu")).await;
    assert_eq!(listed.data.len(), 1);
    let listed: ListResponse<MessageOut> = app
        .list(&format!("/app/{app_id}/msg?event_types=user.signup,other"))
        .await;
    assert_eq!(listed.data.len(), 3);
}

#[tokio::test]
async fn rotation_signs_with_old_and_new_secrets() {
    let app = spawn_app_with(&[("XWEBHOOK_SVIX_HEADERS", "true")]).await;
    let rx = Receiver::start().await;
    let (a, ep, old) = app.app_with_endpoint(&rx.url("/rot")).await;
    let (app_id, ep_id) = (&a.id, &ep.id);
    let rotated: EndpointSecretOut = app
        .post(
            &format!("/app/{app_id}/endpoint/{ep_id}/secret/rotate"),
            json!({}),
        )
        .await;
    let new = rotated.key;
    assert_ne!(new, old);
    assert_eq!(app.endpoint_secret(app_id, ep_id).await, new);
    app.call(
        "PUT",
        &format!("/app/{app_id}/endpoint/{ep_id}/headers"),
        Some(json!({"headers": {"X-Tenant": "t1", "Authorization": "Bearer s3cret"}})),
    )
    .await;
    app.send(app_id, "a", json!({"rotated": true})).await;
    let r = &rx.wait_for("/rot", 1).await[0];
    assert!(signed_by(r, &old) && signed_by(r, &new));
    assert_eq!(header(r, "webhook-signature").split(' ').count(), 2);
    assert_eq!(header(r, "svix-signature"), header(r, "webhook-signature"));
    assert_eq!(header(r, "x-tenant"), "t1");
    assert_eq!(header(r, "authorization"), "Bearer s3cret");
    let shown: EndpointHeadersOut = app.get(&format!("/app/{app_id}/endpoint/{ep_id}/headers")).await;
    assert_eq!(
        (shown.headers, shown.sensitive),
        (
            [("x-tenant".to_owned(), "t1".to_owned())].into(),
            vec!["authorization".to_owned()]
        )
    );
}

#[tokio::test]
async fn resend_makes_a_manual_attempt() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (a, ep, _) = app.app_with_endpoint(&rx.url("/again")).await;
    let (app_id, ep_id) = (&a.id, &ep.id);
    let msg_id = app.send(app_id, "a", json!({})).await.id;
    rx.wait_for("/again", 1).await;
    let (status, body) = app
        .call(
            "POST",
            &format!("/app/{app_id}/msg/{msg_id}/endpoint/{ep_id}/resend"),
            None,
        )
        .await;
    assert_eq!((status, body), (202, json!({})));
    rx.wait_for("/again", 2).await;
    let listed = attempts(&app, &format!("/app/{app_id}/attempt/msg/{msg_id}"), 2).await;
    assert_eq!(listed[0].trigger_type, 1);
}

#[tokio::test]
async fn event_id_is_unique_per_application() {
    let app = spawn_app().await;
    let app_id = app.create_app("dedupe").await.id;
    let body = json!({"eventType": "a", "eventId": "evt-1", "payload": {}});
    assert_eq!(
        app.call("POST", &format!("/app/{app_id}/msg"), Some(body.clone()))
            .await
            .0,
        202
    );
    let (status, out) = app.call("POST", &format!("/app/{app_id}/msg"), Some(body)).await;
    assert_eq!((status, out["code"].as_str()), (409, Some("conflict")));
}

#[tokio::test]
async fn send_example_reaches_only_that_endpoint() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let schemas = json!({"1": {"type": "object", "examples": [{"invoice": 42}, {"invoice": 43}]}});
    app.create(
        "/event-type",
        json!({"name": "invoice.paid", "description": "d", "schemas": schemas}),
    )
    .await;
    app.create(
        "/event-type",
        json!({"name": "plain", "description": "no example"}),
    )
    .await;
    let (a, ep, secret) = app.app_with_endpoint(&rx.url("/example")).await;
    app.create_endpoint(&a.id, &rx.url("/bystander")).await;
    let path = format!("/app/{}/endpoint/{}/send-example", a.id, ep.id);
    let (status, ping) = app
        .call("POST", &path, Some(json!({"eventType": "svix.ping"})))
        .await;
    assert_eq!(
        (status, &ping["payload"]),
        (200, &json!({"success": true})),
        "{ping}"
    );
    let (status, _) = app
        .call("POST", &path, Some(json!({"eventType": "invoice.paid"})))
        .await;
    assert_eq!(status, 200);
    let second = json!({"eventType": "invoice.paid", "exampleIndex": 1});
    let (status, out) = app.call("POST", &path, Some(second)).await;
    assert_eq!((status, &out["payload"]), (200, &json!({"invoice": 43})), "{out}");
    let past = json!({"eventType": "invoice.paid", "exampleIndex": 2});
    let (status, err) = app.call("POST", &path, Some(past)).await;
    assert_eq!(
        (status, &err["detail"][0]["loc"]),
        (422, &json!(["body", "exampleIndex"])),
        "{err}"
    );
    let got = rx.wait_for("/example", 3).await;
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("json"))
        .collect();
    for expected in [
        json!({"success": true}),
        json!({"invoice": 42}),
        json!({"invoice": 43}),
    ] {
        assert!(bodies.contains(&expected), "{expected} not in {bodies:?}");
    }
    assert!(got.iter().all(|r| signed_by(r, &secret)));
    let (status, err) = app.call("POST", &path, Some(json!({"eventType": "plain"}))).await;
    assert_eq!(status, 422, "{err}");
    assert!(
        rx.received("/bystander").is_empty(),
        "an example goes to the named endpoint only"
    );
}

#[tokio::test]
async fn recover_resends_what_failed_in_the_window() {
    // One attempt and no retries, so the destinations fail at once.
    let app = spawn_app_with(&[("XWEBHOOK_RETRY_SCHEDULE", "")]).await;
    let rx = Receiver::start().await;
    rx.script("/down", &[500, 500, 500]);
    let (a, ep, _) = app.app_with_endpoint(&rx.url("/down")).await;
    let (app_id, ep_id) = (&a.id, &ep.id);
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    let failed: Vec<MessageOut> =
        futures_util::future::join_all((0..3).map(|i| app.send(app_id, "a", json!({"i": i})))).await;
    rx.wait_for("/down", 3).await;
    eventually("three failed destinations", || async {
        let (_, msgs) = app
            .call(
                "GET",
                &format!("/app/{app_id}/endpoint/{ep_id}/msg?status=2"),
                None,
            )
            .await;
        (msgs["data"].as_array().map(Vec::len) == Some(3)).then_some(())
    })
    .await;
    let stats = format!("/app/{app_id}/endpoint/{ep_id}/stats");
    let (_, before) = app.call("GET", &stats, None).await;
    assert_eq!(
        before,
        json!({"success": 0, "pending": 0, "sending": 0, "fail": 3, "canceled": 0})
    );
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (_, none) = app
        .call(
            "GET",
            &format!("{stats}?since={}", later.replace('+', "%2B")),
            None,
        )
        .await;
    assert_eq!(none["fail"], 0, "a window after the messages counts none");
    let path = format!("/app/{app_id}/endpoint/{ep_id}/recover");
    let bad = json!({"since": since, "until": since - chrono::Duration::seconds(1)});
    assert_eq!(app.call("POST", &path, Some(bad)).await.0, 422);
    let (status, task) = app.call("POST", &path, Some(json!({"since": since}))).await;
    assert_eq!(status, 202, "{task}");
    assert!(
        task["id"].as_str().is_some_and(|id| id.starts_with("qtask_")),
        "{task}"
    );
    assert_eq!(task["task"], "endpoint.recover");
    rx.wait_for("/down", 6).await;
    let recovered: std::collections::BTreeSet<String> = rx.ids("/down");
    assert!(failed.iter().all(|m| recovered.contains(&m.id)));
    eventually("every destination to succeed", || async {
        let (_, msgs) = app
            .call(
                "GET",
                &format!("/app/{app_id}/endpoint/{ep_id}/msg?status=0"),
                None,
            )
            .await;
        (msgs["data"].as_array().map(Vec::len) == Some(3)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn expunged_content_is_gone_and_history_stays() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (a, _, _) = app.app_with_endpoint(&rx.url("/forget")).await;
    let app_id = &a.id;
    let msg_id = app.send(app_id, "a", json!({"card": "4111"})).await.id;
    let listed = attempts(&app, &format!("/app/{app_id}/attempt/msg/{msg_id}"), 1).await;
    let attempt_id = &listed[0].id;
    assert_eq!(
        app.call("DELETE", &format!("/app/{app_id}/msg/{msg_id}/content"), None)
            .await
            .0,
        204
    );
    let attempt_path = format!("/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}");
    assert_eq!(
        app.call("DELETE", &format!("{attempt_path}/content"), None)
            .await
            .0,
        204
    );
    let msg: MessageOut = app.get(&format!("/app/{app_id}/msg/{msg_id}")).await;
    assert_eq!((msg.payload.as_str(), msg.event_type.as_str()), ("{}", "a"));
    let attempt: MessageAttemptOut = app.get(&attempt_path).await;
    assert_eq!(
        (attempt.response.as_str(), attempt.response_status_code),
        ("", 200)
    );
    let missing = format!("/app/{app_id}/msg/{msg_id}/attempt/atmpt_01ARZ3NDEKTSV4RRFFQ69G5FAV/content");
    assert_eq!(app.call("DELETE", &missing, None).await.0, 404);
}
