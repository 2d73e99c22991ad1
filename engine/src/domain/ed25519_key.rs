//! Svix's asymmetric endpoint keys: `whsk_` + standard base64 of the 64-byte ed25519 keypair (32-byte seed, then
//! the 32-byte public key), published to receivers as `whpk_` + standard base64 of the public key.
//!
//! The keypair form (not the bare seed) is what svix-server reads and writes, so keys move between the two
//! services unchanged; carrying the public half lets a typo be caught, since it must match the seed.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{KEYPAIR_LENGTH, SECRET_KEY_LENGTH, Signer as _, SigningKey};
use rand::RngCore as _;

pub(super) const SECRET_PREFIX: &str = "whsk_";
pub(super) const PUBLIC_PREFIX: &str = "whpk_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ed25519KeyError {
    #[error(
        "`whsk_` must be followed by the standard base64 of a 64-byte ed25519 keypair (seed, then public key)"
    )]
    BadFormat,
    #[error("the public half of the `whsk_` keypair does not match its seed")]
    MismatchedPublicKey,
    #[error("a `whpk_` public key cannot sign; pass the endpoint's `whsk_` signing key")]
    PublicKeyOnly,
}

/// An ed25519 signing key. `Debug` never prints it; dalek zeroizes it on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Ed25519Key(SigningKey);

impl Ed25519Key {
    pub fn generate() -> Self {
        let mut seed = [0u8; SECRET_KEY_LENGTH];
        rand::thread_rng().fill_bytes(&mut seed);
        Self(SigningKey::from_bytes(&seed))
    }

    /// Parses the base64 keypair that follows `whsk_`.
    pub(super) fn from_base64(body: &str) -> Result<Self, Ed25519KeyError> {
        let bytes = STANDARD.decode(body).map_err(|_| Ed25519KeyError::BadFormat)?;
        let keypair: [u8; KEYPAIR_LENGTH] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Ed25519KeyError::BadFormat)?;
        SigningKey::from_keypair_bytes(&keypair)
            .map(Self)
            .map_err(|_| Ed25519KeyError::MismatchedPublicKey)
    }

    /// The `whsk_…` form: what is stored, and what a client passes in to set this key.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(self.0.to_keypair_bytes()))
    }

    /// The `whpk_…` form receivers verify with.
    pub fn public(&self) -> String {
        format!(
            "{PUBLIC_PREFIX}{}",
            STANDARD.encode(self.0.verifying_key().as_bytes())
        )
    }

    /// The raw 64-byte ed25519 signature of `content`.
    pub fn sign(&self, content: &[u8]) -> [u8; 64] {
        self.0.sign(content).to_bytes()
    }

    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.0.verifying_key()
    }
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519Key(***)")
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signature, Verifier as _};

    use super::*;

    /// The keypair and public key from svix-server's own endpoint-secret tests.
    const SVIX_KEYPAIR: &str =
        "6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
    const SVIX_PUBLIC: &str = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";

    #[test]
    fn reads_svix_keypair_and_derives_its_public_key() {
        let key = Ed25519Key::from_base64(SVIX_KEYPAIR).expect("svix's keypair parses");
        assert_eq!(key.public(), SVIX_PUBLIC);
        assert_eq!(key.expose(), format!("whsk_{SVIX_KEYPAIR}"));
    }

    #[test]
    fn expose_round_trips() {
        let key = Ed25519Key::generate();
        let body = key.expose();
        let again = Ed25519Key::from_base64(body.trim_start_matches(SECRET_PREFIX));
        assert_eq!(again, Ok(key));
    }

    #[test]
    fn signature_verifies_with_the_public_key() {
        let key = Ed25519Key::generate();
        let signature = Signature::from_bytes(&key.sign(b"msg_1.1700000000.{}"));
        let public = STANDARD
            .decode(key.public().trim_start_matches(PUBLIC_PREFIX))
            .expect("public key is base64");
        let verifying = ed25519_dalek::VerifyingKey::try_from(public.as_slice()).expect("32-byte key");
        assert!(verifying.verify(b"msg_1.1700000000.{}", &signature).is_ok());
        assert!(verifying.verify(b"msg_1.1700000001.{}", &signature).is_err());
    }

    #[test]
    fn bad_keys_are_rejected_precisely() {
        // svix-server's "bad SK" case: the keypair with its last base64 character cut off.
        let truncated = &SVIX_KEYPAIR[..SVIX_KEYPAIR.len() - 3];
        assert_eq!(
            Ed25519Key::from_base64(truncated),
            Err(Ed25519KeyError::BadFormat)
        );
        assert_eq!(
            Ed25519Key::from_base64("not base64!"),
            Err(Ed25519KeyError::BadFormat)
        );
        let seed_only = STANDARD.encode([7u8; 32]);
        assert_eq!(
            Ed25519Key::from_base64(&seed_only),
            Err(Ed25519KeyError::BadFormat)
        );
        // svix-server's mismatched-public-key case.
        let tampered =
            "6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlaaaaaaaaaaAJ6p9lMicMFs6Kvg==";
        assert_eq!(
            Ed25519Key::from_base64(tampered),
            Err(Ed25519KeyError::MismatchedPublicKey)
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let key = Ed25519Key::from_base64(SVIX_KEYPAIR).expect("svix's keypair parses");
        let shown = format!("{key:?}");
        assert!(!shown.contains(&SVIX_KEYPAIR[..16]));
        assert!(!shown.contains(&SVIX_PUBLIC[5..21]));
    }
}
