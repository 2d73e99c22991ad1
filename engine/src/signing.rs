//! Webhook signatures over `"{msg_id}.{timestamp}.{body}"`: Standard Webhooks' `v1,` + base64(HMAC-SHA256) for
//! `whsec_` secrets, and Svix's asymmetric `v1a,` + base64(ed25519 signature) for `whsk_` keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::digest::{Digest as _, KeyInit};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::domain::{EndpointSecret, SigningKey};

/// The `v1,<base64>` or `v1a,<base64>` signature of one delivery with one secret.
pub fn sign(secret: &EndpointSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    match secret.signing_key() {
        SigningKey::Hmac(key) => {
            let mut mac = hmac_sha256(key);
            mac.update(msg_id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            with_version("v1,", &mac.finalize().into_bytes())
        }
        SigningKey::Ed25519(key) => {
            // ed25519 hashes its input twice, so it needs the whole content at once, not streamed.
            let content = signed_content(msg_id, timestamp, body);
            with_version("v1a,", &key.sign(&content))
        }
    }
}

/// An HMAC-SHA256 keyed with `key` of any length. HMAC (RFC 2104) first brings a key to one hash block: a
/// longer key is hashed, then it is padded with zeros. Done here, the key has the block size that the
/// infallible `KeyInit::new` takes, where `new_from_slice` would return an error that cannot happen.
fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    let mut block = hmac::digest::Key::<Hmac<Sha256>>::default();
    if key.len() > block.len() {
        let digest = Sha256::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <Hmac<Sha256> as KeyInit>::new(&block)
}

/// The bytes both schemes sign.
pub fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let timestamp = timestamp.to_string();
    let mut content = Vec::with_capacity(msg_id.len() + timestamp.len() + body.len() + 2);
    content.extend_from_slice(msg_id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}

fn with_version(version: &str, signature: &[u8]) -> String {
    let mut out = String::with_capacity(version.len() + signature.len().div_ceil(3) * 4);
    out.push_str(version);
    STANDARD.encode_string(signature, &mut out);
    out
}

/// The `webhook-signature` header value: one signature per secret, space-separated, so that receivers still
/// holding a retiring secret accept the delivery during a rotation.
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a EndpointSecret>,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .into_iter()
        .map(|s| sign(s, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector published with the Standard Webhooks specification and every Svix library.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_standard_webhooks_vector() {
        let secret = EndpointSecret::parse(SECRET).expect("vector secret parses");
        assert_eq!(sign(&secret, MSG_ID, TIMESTAMP, BODY.as_bytes()), EXPECTED);
    }

    #[test]
    fn any_change_changes_the_signature() {
        let secret = EndpointSecret::parse(SECRET).expect("vector secret parses");
        assert_ne!(sign(&secret, MSG_ID, TIMESTAMP + 1, BODY.as_bytes()), EXPECTED);
        assert_ne!(sign(&secret, "msg_other", TIMESTAMP, BODY.as_bytes()), EXPECTED);
        assert_ne!(
            sign(&secret, MSG_ID, TIMESTAMP, br#"{"test": 2432232315}"#),
            EXPECTED
        );
    }

    #[test]
    fn keys_of_any_length_sign_as_hmac_defines() {
        for len in [0, 24, 63, 64, 65, 75, 200] {
            let key: Vec<u8> = (0..len)
                .map(|i| u8::try_from(i % 251).expect("below 251"))
                .collect();
            let mut ours = hmac_sha256(&key);
            let mut reference = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&key).expect("any length");
            ours.update(BODY.as_bytes());
            reference.update(BODY.as_bytes());
            assert_eq!(
                ours.finalize().into_bytes(),
                reference.finalize().into_bytes(),
                "key of {len} bytes"
            );
        }
    }

    #[test]
    fn header_signs_with_every_secret() {
        let a = EndpointSecret::parse(SECRET).expect("vector secret parses");
        let b = EndpointSecret::generate();
        let header = signature_header([&a, &b], MSG_ID, TIMESTAMP, BODY.as_bytes());
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], EXPECTED);
        assert_eq!(parts[1], sign(&b, MSG_ID, TIMESTAMP, BODY.as_bytes()));
    }

    #[test]
    fn ed25519_signature_verifies_with_the_public_key() {
        use ed25519_dalek::{Signature, Verifier as _};
        let secret = EndpointSecret::generate_ed25519();
        let SigningKey::Ed25519(key) = secret.signing_key() else {
            panic!("generate_ed25519 made {:?}", secret.signing_key());
        };
        let signed = sign(&secret, MSG_ID, TIMESTAMP, BODY.as_bytes());
        let b64 = signed.strip_prefix("v1a,").expect("v1a version");
        let bytes: [u8; 64] = STANDARD
            .decode(b64)
            .expect("base64 signature")
            .try_into()
            .expect("64-byte signature");
        let signature = Signature::from_bytes(&bytes);
        let content = signed_content(MSG_ID, TIMESTAMP, BODY.as_bytes());
        assert!(key.verifying_key().verify(&content, &signature).is_ok());
        let other = signed_content(MSG_ID, TIMESTAMP + 1, BODY.as_bytes());
        assert!(key.verifying_key().verify(&other, &signature).is_err());
    }

    #[test]
    fn rotation_from_hmac_to_ed25519_signs_with_both() {
        let hmac = EndpointSecret::parse(SECRET).expect("vector secret parses");
        let ed = EndpointSecret::generate_ed25519();
        let header = signature_header([&ed, &hmac], MSG_ID, TIMESTAMP, BODY.as_bytes());
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].starts_with("v1a,"));
        assert_eq!(parts[1], EXPECTED);
    }
}
