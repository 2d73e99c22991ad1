//! The idempotency cache port: one claim per key among racing requests, then the response to replay.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreResult;

/// A response kept for replay under an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedResponse {
    pub status: u16,
    /// Base64 in a backend's JSON: a byte array would store a 1 MiB body as ~3.6 MiB of digits and commas.
    #[serde(with = "body_encoding")]
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyState {
    /// The caller holds the key and must `complete` or `abandon` it.
    Started,
    /// Another request holds the key and has not finished.
    InProgress,
    /// A request with this key finished; replay its response.
    Completed(CachedResponse),
}

#[async_trait]
pub trait IdempotencyCache: Send + Sync {
    /// Claims `key` atomically for `lock_ttl` (after which a crashed holder's claim lapses), or reports who has it.
    async fn begin(&self, key: &str, lock_ttl: Duration) -> StoreResult<IdempotencyState>;

    /// Stores the response to replay for `ttl`, replacing a claim or an earlier response. Every body the API can
    /// produce must fit (several MiB at least): a response that cannot be kept makes its request's retry unsafe.
    async fn complete(&self, key: &str, response: &CachedResponse, ttl: Duration) -> StoreResult<()>;

    /// Releases a claim without a response (the request failed), so that a retry runs afresh.
    async fn abandon(&self, key: &str) -> StoreResult<()>;

    /// Answers `Ok` when the cache is reachable, for health checks; reads and writes nothing. No default: no
    /// method above can be called without a side effect.
    async fn probe(&self) -> StoreResult<()>;
}

/// The body as a base64 string; reading also accepts the byte array that earlier versions wrote, so entries
/// cached before an upgrade still replay.
mod body_encoding {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(body))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Base64(String),
        Bytes(Vec<u8>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match Stored::deserialize(d)? {
            Stored::Base64(text) => STANDARD.decode(text).map_err(serde::de::Error::custom),
            Stored::Bytes(bytes) => Ok(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CachedResponse;

    #[test]
    fn the_body_is_stored_as_base64_and_the_old_array_form_still_reads() {
        let response = CachedResponse {
            status: 202,
            body: vec![0, 159, 146, 150, b'{'],
        };
        let json = serde_json::to_string(&response).expect("encodes");
        assert_eq!(json, r#"{"status":202,"body":"AJ+Slns="}"#);
        assert_eq!(
            serde_json::from_str::<CachedResponse>(&json).expect("decodes"),
            response
        );
        let old = r#"{"status":202,"body":[0,159,146,150,123]}"#;
        assert_eq!(
            serde_json::from_str::<CachedResponse>(old).expect("decodes"),
            response
        );
    }
}
