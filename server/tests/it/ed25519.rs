//! Asymmetric (`whsk_`/`whpk_`) endpoint keys end to end: deliveries carry `v1a` ed25519 signatures that verify
//! with the public key the API shows, alongside the old HMAC signature while a rotation's grace period runs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use serde_json::json;
use xwebhook_engine::domain::EndpointSecret;
use xwebhook_engine::signing::{sign, signed_content};

use crate::helpers::{Receiver, spawn_app};
use crate::receiver::Received;

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Whether some `v1a` signature of the delivery verifies with the `whpk_…` key.
fn verified_by_public_key(r: &Received, whpk: &str) -> bool {
    let raw = STANDARD
        .decode(whpk.strip_prefix("whpk_").expect("a whpk_ key"))
        .expect("base64 public key");
    let key = VerifyingKey::try_from(raw.as_slice()).expect("a 32-byte ed25519 public key");
    let ts: i64 = header(r, "webhook-timestamp").parse().expect("numeric timestamp");
    let content = signed_content(header(r, "webhook-id"), ts, &r.body);
    header(r, "webhook-signature")
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1a,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .filter_map(|raw| Signature::from_slice(&raw).ok())
        .any(|sig| key.verify(&content, &sig).is_ok())
}

fn hmac_signed_by(r: &Received, whsec: &str) -> bool {
    let secret = EndpointSecret::parse(whsec).expect("valid secret");
    let ts: i64 = header(r, "webhook-timestamp").parse().expect("numeric timestamp");
    let expected = sign(&secret, header(r, "webhook-id"), ts, &r.body);
    header(r, "webhook-signature").split(' ').any(|s| s == expected)
}

#[tokio::test]
async fn ed25519_endpoint_deliveries_verify_with_the_shown_public_key() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let app_id = app.create("/app", json!({"name": "asym"})).await["id"]
        .as_str()
        .expect("app id")
        .to_owned();
    let key = EndpointSecret::generate_ed25519();
    let ep = app
        .create(
            &format!("/app/{app_id}/endpoint"),
            json!({"url": rx.url("/ed"), "secret": key.expose()}),
        )
        .await;
    let ep_id = ep["id"].as_str().expect("endpoint id");
    let (status, shown) = app
        .call("GET", &format!("/app/{app_id}/endpoint/{ep_id}/secret"), None)
        .await;
    assert_eq!(status, 200);
    let whpk = shown["key"].as_str().expect("key").to_owned();
    assert_eq!(
        whpk,
        key.public(),
        "the API shows the public half, never the whsk_ key"
    );

    app.send(&app_id, "test.event", json!({"signed": "ed25519"}))
        .await;
    let r = &rx.wait_for("/ed", 1).await[0];
    let signatures: Vec<&str> = header(r, "webhook-signature").split(' ').collect();
    assert_eq!(signatures.len(), 1);
    assert!(signatures[0].starts_with("v1a,"));
    assert!(verified_by_public_key(r, &whpk));
    let stranger = EndpointSecret::generate_ed25519().public();
    assert!(!verified_by_public_key(r, &stranger));
}

#[tokio::test]
async fn rotation_from_hmac_to_ed25519_signs_with_both_during_grace() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (app_out, ep_out, whsec) = app.app_with_endpoint(&rx.url("/rot")).await;
    let (app_id, ep_id) = (app_out.id, ep_out.id);
    let next = EndpointSecret::generate_ed25519();
    let rotated = app
        .create(
            &format!("/app/{app_id}/endpoint/{ep_id}/secret/rotate"),
            json!({"key": next.expose()}),
        )
        .await;
    assert_eq!(rotated["key"], next.public().as_str());

    app.send(&app_id, "test.event", json!({"rotated": true})).await;
    let r = &rx.wait_for("/rot", 1).await[0];
    assert_eq!(header(r, "webhook-signature").split(' ').count(), 2);
    assert!(verified_by_public_key(r, &next.public()));
    assert!(hmac_signed_by(r, &whsec));
}

#[tokio::test]
async fn bad_ed25519_keys_are_refused_with_a_precise_reason() {
    let app = spawn_app().await;
    let app_id = app.create("/app", json!({"name": "bad"})).await["id"]
        .as_str()
        .expect("app id")
        .to_owned();
    let public_only = EndpointSecret::generate_ed25519().public();
    let cases = [
        (public_only, "a `whpk_` public key cannot sign"),
        ("whsk_AAAA".to_owned(), "64-byte ed25519 keypair"),
    ];
    for (secret, reason) in cases {
        let (status, body) = app
            .call(
                "POST",
                &format!("/app/{app_id}/endpoint"),
                Some(json!({"url": "https://example.com/hook", "secret": secret})),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["detail"][0]["loc"], json!(["body", "secret"]));
        let msg = body["detail"][0]["msg"].as_str().expect("message");
        assert!(msg.contains(reason), "{msg}");
    }
}
