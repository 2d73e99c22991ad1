//! Endpoint secrets (`whsec_…`, `whsk_…`) and the Standard Webhooks signature header we send (`v1,` HMAC-SHA256,
//! `v1a,` ed25519). The input is `secret\ntimestamp\nbody`. A secret either fails to parse or round-trips
//! through its stored form; every delivery's header verifies, the way a receiver checks it, with the secret (or
//! the `whpk_` public key) the API shows, and fails for any other timestamp.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use hmac::{Hmac, Mac as _};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use xwebhook_engine::domain::{Ed25519KeyError, EndpointSecret, SecretError};
use xwebhook_engine::signing::{signature_header, signed_content};

const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let (Some(secret), timestamp, body) = (parts.next(), parts.next(), parts.next().unwrap_or(b"")) else {
        return;
    };
    let Ok(secret) = std::str::from_utf8(secret) else {
        return;
    };
    let timestamp = timestamp
        .and_then(|t| std::str::from_utf8(t).ok())
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(1_614_265_330);
    let Ok(secret) = EndpointSecret::parse(secret) else {
        return;
    };
    round_trips(&secret);
    let other = EndpointSecret::generate();
    let header = signature_header([&secret, &other], MSG_ID, timestamp, body);
    let public = secret.public();
    assert!(
        verify(&header, &public, timestamp, body),
        "our own header does not verify: {header}"
    );
    assert!(verify(&header, &other.public(), timestamp, body));
    let later = timestamp.wrapping_add(1);
    assert!(
        !verify(&header, &public, later, body),
        "a header verified for another timestamp"
    );
    // The body doubles as a hostile header: checking it must never panic.
    if let Ok(forged) = std::str::from_utf8(body) {
        let _ = verify(forged, &public, timestamp, body);
    }
});

fn round_trips(secret: &EndpointSecret) {
    let stored = secret.expose();
    assert_eq!(
        EndpointSecret::parse(&stored).as_ref(),
        Ok(secret),
        "stored form does not load"
    );
    let public = secret.public();
    if public.starts_with("whpk_") {
        assert_eq!(
            EndpointSecret::parse(&public),
            Err(SecretError::Ed25519(Ed25519KeyError::PublicKeyOnly))
        );
    } else {
        assert_eq!(public, stored, "an HMAC secret is shown as it is stored");
    }
}

/// A receiver's check: some space-separated `version,signature` matches the key it holds (`whsec_` or `whpk_`).
fn verify(header: &str, key: &str, timestamp: i64, body: &[u8]) -> bool {
    let content = signed_content(MSG_ID, timestamp, body);
    header.split(' ').any(|candidate| {
        let Some((version, b64)) = candidate.split_once(',') else {
            return false;
        };
        let Ok(signature) = STANDARD.decode(b64) else {
            return false;
        };
        match (version, key.split_once('_')) {
            ("v1", Some(("whsec", secret))) => hmac_matches(secret, &content, &signature),
            ("v1a", Some(("whpk", public))) => ed25519_matches(public, &content, &signature),
            _ => false,
        }
    })
}

fn hmac_matches(secret: &str, content: &[u8], signature: &[u8]) -> bool {
    let key = STANDARD.decode(secret).expect("a shown secret is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(content);
    mac.verify_slice(signature).is_ok()
}

fn ed25519_matches(public: &str, content: &[u8], signature: &[u8]) -> bool {
    let key: [u8; 32] = STANDARD
        .decode(public)
        .expect("a shown public key is base64")
        .try_into()
        .expect("a shown public key has 32 bytes");
    let key = VerifyingKey::from_bytes(&key).expect("a shown public key is a curve point");
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    key.verify(content, &Signature::from_bytes(&signature)).is_ok()
}
