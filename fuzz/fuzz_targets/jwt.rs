//! The bearer-token verifier (`JwtAuth::verify`). Half the inputs are taken as a whole token; the other half as
//! the claims of a token correctly signed with the server's secret, so the claim handling behind the signature
//! check is reached too. Either way: no panic, a refusal is a 401, and an accepted token names a valid
//! organization (and, for an application token, an application).
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use xwebhook_api::JwtAuth;
use xwebhook_api::fuzzing::status_of;
use xwebhook_engine::id::{AppId, OrgId};

const SECRET: &[u8] = b"fuzzing-secret-0123456789";

// Built once: libFuzzer calls the target millions of times in one process.
static AUTH: LazyLock<std::sync::Arc<JwtAuth>> = LazyLock::new(|| JwtAuth::new(SECRET));

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode & 1 == 0 {
        match std::str::from_utf8(rest) {
            Ok(token) => token.to_owned(),
            Err(_) => return,
        }
    } else {
        signed_token(rest)
    };
    match AUTH.verify(&token) {
        Ok(auth) => {
            assert!(OrgId::parse(auth.org_id.as_str()).is_ok());
            if let Some(app) = &auth.app_id {
                assert!(AppId::parse(app.as_str()).is_ok());
            }
            assert!(
                auth.token.is_none() || auth.app_id.is_some(),
                "only app tokens are revocable"
            );
        }
        Err(e) => {
            let status = status_of(e);
            assert_eq!(status, 401, "a token was refused with {status}");
        }
    }
});

/// An HS256 token over `claims` (any bytes), signed with the server's secret.
fn signed_token(claims: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("HMAC takes any key");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}
