//! Endpoint signing secrets and their rotation: an HMAC key (`whsec_` + base64, the Standard Webhooks `v1`
//! scheme) or an ed25519 keypair (`whsk_` + base64, Svix's asymmetric `v1a` scheme, see [`super::ed25519_key`]).
//!
//! Stored records hold the `whsec_`/`whsk_` string, so records written before ed25519 existed still load.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use super::ed25519_key::{self, Ed25519Key, Ed25519KeyError};

const PREFIX: &str = "whsec_";
/// 24 random bytes encode to 32 base64 characters, the shortest key the Svix contract accepts.
const GENERATED_KEY_BYTES: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("must be `whsec_` followed by 32 to 100 base64 characters, or a `whsk_` ed25519 key")]
    BadFormat,
    #[error("key must decode to 24 to 75 bytes")]
    BadLength,
    #[error(transparent)]
    Ed25519(#[from] Ed25519KeyError),
}

/// An endpoint's signing key. `Debug` never prints key material.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EndpointSecret(Key);

#[derive(Clone, PartialEq, Eq)]
enum Key {
    Hmac(Vec<u8>),
    Ed25519(Ed25519Key),
}

/// The key material a signer needs, by scheme. `Debug` names the scheme only.
#[derive(Clone, Copy)]
pub enum SigningKey<'a> {
    /// HMAC-SHA256 key bytes, for `v1,` signatures.
    Hmac(&'a [u8]),
    /// An ed25519 keypair, for `v1a,` signatures.
    Ed25519(&'a Ed25519Key),
}

impl fmt::Debug for SigningKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hmac(_) => f.write_str("SigningKey::Hmac(***)"),
            Self::Ed25519(_) => f.write_str("SigningKey::Ed25519(***)"),
        }
    }
}

impl EndpointSecret {
    /// A new HMAC secret, the default kind (as in svix-server).
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_KEY_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        Self(Key::Hmac(key))
    }

    pub fn generate_ed25519() -> Self {
        Self(Key::Ed25519(Ed25519Key::generate()))
    }

    /// Accepts the contract's form `^(whsec_)?[a-zA-Z0-9+/=]{32,100}$`, and svix-server's `whsk_` keypairs (which
    /// the contract's pattern does not describe but svix-server reads by their prefix).
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        if let Some(body) = s.strip_prefix(ed25519_key::SECRET_PREFIX) {
            return Ok(Self(Key::Ed25519(Ed25519Key::from_base64(body)?)));
        }
        if s.starts_with(ed25519_key::PUBLIC_PREFIX) {
            return Err(Ed25519KeyError::PublicKeyOnly.into());
        }
        let body = s.strip_prefix(PREFIX).unwrap_or(s);
        let well_formed = (32..=100).contains(&body.len())
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        if !well_formed {
            return Err(SecretError::BadFormat);
        }
        let key = STANDARD.decode(body).map_err(|_| SecretError::BadFormat)?;
        if !(24..=75).contains(&key.len()) {
            return Err(SecretError::BadLength);
        }
        Ok(Self(Key::Hmac(key)))
    }

    pub fn signing_key(&self) -> SigningKey<'_> {
        match &self.0 {
            Key::Hmac(key) => SigningKey::Hmac(key),
            Key::Ed25519(key) => SigningKey::Ed25519(key),
        }
    }

    /// The secret form (`whsec_…` or `whsk_…`): what is stored, and what a client passes in to set it.
    pub fn expose(&self) -> String {
        match &self.0 {
            Key::Hmac(key) => format!("{PREFIX}{}", STANDARD.encode(key)),
            Key::Ed25519(key) => key.expose(),
        }
    }

    /// What `GET …/secret` shows, as svix-server does: an HMAC secret itself, or an ed25519 key's `whpk_…`
    /// public half, which is all a receiver needs to verify `v1a` signatures.
    pub fn public(&self) -> String {
        match &self.0 {
            Key::Hmac(_) => self.expose(),
            Key::Ed25519(key) => key.public(),
        }
    }
}

impl fmt::Debug for EndpointSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Key::Hmac(_) => f.write_str("EndpointSecret(hmac, ***)"),
            Key::Ed25519(_) => f.write_str("EndpointSecret(ed25519, ***)"),
        }
    }
}

impl TryFrom<String> for EndpointSecret {
    type Error = SecretError;
    fn try_from(s: String) -> Result<Self, SecretError> {
        Self::parse(&s)
    }
}

impl From<EndpointSecret> for String {
    fn from(s: EndpointSecret) -> String {
        s.expose()
    }
}

/// The current secret plus those retired by a rotation that still sign until their grace period ends, so that
/// receivers can switch keys without dropping a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretSet {
    pub current: EndpointSecret,
    #[serde(default)]
    pub retiring: Vec<RetiringSecret>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiringSecret {
    pub secret: EndpointSecret,
    pub until: DateTime<Utc>,
}

impl SecretSet {
    pub fn new(current: EndpointSecret) -> Self {
        Self {
            current,
            retiring: Vec::new(),
        }
    }

    /// Makes `next` current; the old one keeps signing until `now + grace`. Expired ones are dropped.
    pub fn rotate(&mut self, next: EndpointSecret, now: DateTime<Utc>, grace: chrono::Duration) {
        let old = std::mem::replace(&mut self.current, next);
        self.retiring.retain(|r| r.until > now);
        if !grace.is_zero() {
            self.retiring.push(RetiringSecret {
                secret: old,
                until: now + grace,
            });
        }
    }

    /// Every secret that signs a delivery made at `now`, current first.
    pub fn signing_at(&self, now: DateTime<Utc>) -> impl Iterator<Item = &EndpointSecret> {
        std::iter::once(&self.current).chain(
            self.retiring
                .iter()
                .filter(move |r| r.until > now)
                .map(|r| &r.secret),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_contract_forms() {
        let s = EndpointSecret::generate();
        assert_eq!(EndpointSecret::parse(&s.expose()), Ok(s.clone()));
        let bare = s.expose().trim_start_matches(PREFIX).to_string();
        assert_eq!(EndpointSecret::parse(&bare), Ok(s));
        assert_eq!(EndpointSecret::parse("whsec_short"), Err(SecretError::BadFormat));
        assert_eq!(
            EndpointSecret::parse(&format!("whsec_{}", "!".repeat(40))),
            Err(SecretError::BadFormat)
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let s = EndpointSecret::generate();
        assert!(!format!("{s:?}").contains(&s.expose()[6..]));
        assert_eq!(format!("{:?}", s.signing_key()), "SigningKey::Hmac(***)");
        let ed = EndpointSecret::generate_ed25519();
        let shown = format!("{ed:?}");
        assert!(!shown.contains(&ed.expose()[5..20]));
        assert!(!shown.contains(&ed.public()[5..20]));
        assert_eq!(format!("{:?}", ed.signing_key()), "SigningKey::Ed25519(***)");
    }

    #[test]
    fn ed25519_secrets_parse_and_show_their_public_half() {
        let ed = EndpointSecret::generate_ed25519();
        assert!(ed.expose().starts_with("whsk_"));
        assert!(ed.public().starts_with("whpk_"));
        assert_eq!(EndpointSecret::parse(&ed.expose()), Ok(ed.clone()));
        assert!(matches!(ed.signing_key(), SigningKey::Ed25519(_)));
        assert_eq!(
            EndpointSecret::parse(&ed.public()),
            Err(SecretError::Ed25519(Ed25519KeyError::PublicKeyOnly))
        );
        assert_eq!(
            EndpointSecret::parse("whsk_AAAA"),
            Err(SecretError::Ed25519(Ed25519KeyError::BadFormat))
        );
        let hmac = EndpointSecret::generate();
        assert_eq!(hmac.public(), hmac.expose());
    }

    #[test]
    fn stored_forms_round_trip_through_serde() {
        // A record written before ed25519 existed holds a bare `whsec_` string; it must still load.
        let legacy = "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"";
        let hmac: EndpointSecret = serde_json::from_str(legacy).expect("legacy secret loads");
        assert_eq!(serde_json::to_string(&hmac).expect("serializes"), legacy);
        let ed = EndpointSecret::generate_ed25519();
        let stored = serde_json::to_string(&ed).expect("serializes");
        assert_eq!(serde_json::from_str::<EndpointSecret>(&stored).ok(), Some(ed));
    }

    #[test]
    fn rotation_keeps_old_secret_for_grace_period() {
        let now = Utc::now();
        let first = EndpointSecret::generate();
        let second = EndpointSecret::generate();
        let mut set = SecretSet::new(first.clone());
        set.rotate(second.clone(), now, chrono::Duration::hours(1));
        let signing: Vec<_> = set.signing_at(now).cloned().collect();
        assert_eq!(signing, vec![second.clone(), first]);
        let later: Vec<_> = set
            .signing_at(now + chrono::Duration::hours(2))
            .cloned()
            .collect();
        assert_eq!(later, vec![second]);
    }
}
