//! Endpoint signing secrets (`whsec_` + base64 key) and their rotation.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "whsec_";
/// 24 random bytes encode to 32 base64 characters, the shortest key the Svix contract accepts.
const GENERATED_KEY_BYTES: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("must be `whsec_` followed by 32 to 100 base64 characters")]
    BadFormat,
    #[error("key must decode to 24 to 75 bytes")]
    BadLength,
}

/// An HMAC-SHA256 signing key. `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EndpointSecret(Vec<u8>);

impl EndpointSecret {
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_KEY_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Accepts the contract's form `^(whsec_)?[a-zA-Z0-9+/=]{32,100}$`.
    pub fn parse(s: &str) -> Result<Self, SecretError> {
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
        Ok(Self(key))
    }

    pub fn key(&self) -> &[u8] {
        &self.0
    }

    /// The `whsec_…` form shown to API clients.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }
}

impl fmt::Debug for EndpointSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EndpointSecret(***)")
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
