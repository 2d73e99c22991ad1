//! Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}")).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::EndpointSecret;

/// The `v1,<base64>` signature of one delivery with one secret.
pub fn sign(secret: &EndpointSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.key())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(3 + 44);
    out.push_str("v1,");
    STANDARD.encode_string(digest, &mut out);
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
    fn header_signs_with_every_secret() {
        let a = EndpointSecret::parse(SECRET).expect("vector secret parses");
        let b = EndpointSecret::generate();
        let header = signature_header([&a, &b], MSG_ID, TIMESTAMP, BODY.as_bytes());
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], EXPECTED);
        assert_eq!(parts[1], sign(&b, MSG_ID, TIMESTAMP, BODY.as_bytes()));
    }
}
