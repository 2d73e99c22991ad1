//! `fifoEndpoint`: the destination's events in order, in batches, each batch one HTTP POST of a JSON array,
//! signed as Standard Webhooks signs a body (`webhook-id` is the batch's id). A batch counts as delivered on a
//! 2xx only.

use std::collections::BTreeMap;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use xwebhook_engine::delivery::{HttpSender, OutgoingRequest, RESERVED_HEADERS, SendOutcome, USER_AGENT};
use xwebhook_engine::domain::{EndpointUrl, SecretSet, Sink};
use xwebhook_engine::signing;
use xwebhook_engine::sink::{Batch, BatchSender, ConfigError, SendContext, SendFailure, SinkType};

/// What a failure reason keeps of a receiver's answer.
const REASON_BODY: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FifoConfig {
    pub url: String,
    /// Sent with every batch (names lower-cased).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The signing secret the caller chose; taken out at creation and kept as the destination's secret.
    #[serde(default, skip_serializing)]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FifoPatch {
    pub url: Option<String>,
}

#[derive(Debug)]
pub struct FifoEndpoint;

impl SinkType for FifoEndpoint {
    const NAME: &'static str = "fifoEndpoint";
    const PUSHES: bool = true;
    type Config = FifoConfig;
    type Patch = FifoPatch;

    fn check(config: &FifoConfig) -> Result<(), ConfigError> {
        EndpointUrl::try_from(config.url.clone())
            .map_err(|e| ConfigError::new(format!("config.url: {e}")))?;
        for (name, value) in &config.headers {
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(ConfigError::new(format!(
                    "config.headers: `{name}` is set by Xwebhook"
                )));
            }
            HeaderName::try_from(lower)
                .map_err(|_| ConfigError::new(format!("config.headers: `{name}` is not a header name")))?;
            HeaderValue::try_from(value.as_str()).map_err(|_| {
                ConfigError::new(format!(
                    "config.headers: the value of `{name}` is not a header value"
                ))
            })?;
        }
        Ok(())
    }

    fn apply(config: &mut FifoConfig, patch: FifoPatch) {
        if let Some(url) = patch.url {
            config.url = url;
        }
    }

    /// The SDK's `SinkHttpConfigOut`: the URL and the headers (none of them sensitive).
    fn shown(config: &FifoConfig) -> Value {
        json!({
            "url": config.url,
            "headers": { "headers": config.headers, "sensitive": [] },
        })
    }

    fn sender(config: FifoConfig, sink: &Sink, cx: &SendContext) -> Option<Box<dyn BatchSender>> {
        Some(Box::new(FifoSender {
            http: cx.http.clone(),
            url: url::Url::parse(&config.url).ok(),
            headers: config.headers,
            secrets: sink.secrets.clone(),
        }))
    }

    fn signs() -> bool {
        true
    }

    fn take_secret(config: &mut FifoConfig) -> Option<String> {
        config.key.take()
    }
}

struct FifoSender {
    http: HttpSender,
    /// `None` if the stored URL no longer parses (checked when stored, so never in practice).
    url: Option<url::Url>,
    headers: BTreeMap<String, String>,
    secrets: SecretSet,
}

impl FifoSender {
    fn request(&self, url: url::Url, batch: &Batch) -> OutgoingRequest {
        let body = Bytes::from(batch.body());
        let now = chrono::Utc::now();
        let id = batch.id();
        let signature = signing::signature_header(self.secrets.signing_at(now), &id, now.timestamp(), &body);
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                headers.insert(name, value);
            }
        }
        let ours = [
            ("webhook-id", id),
            ("webhook-timestamp", now.timestamp().to_string()),
            ("webhook-signature", signature),
            ("content-type", "application/json".to_owned()),
            ("user-agent", USER_AGENT.to_owned()),
        ];
        for (name, value) in ours {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        OutgoingRequest { url, headers, body }
    }
}

#[async_trait]
impl BatchSender for FifoSender {
    async fn send(&mut self, batch: &Batch) -> Result<(), SendFailure> {
        let url = self
            .url
            .clone()
            .ok_or_else(|| SendFailure("the URL does not parse".to_owned()))?;
        let sent = self.http.send(self.request(url, batch)).await;
        match sent.outcome {
            SendOutcome::Response { status, .. } if (200..300).contains(&status) => Ok(()),
            SendOutcome::Response { status, body, .. } => {
                let body: String = body.chars().take(REASON_BODY).collect();
                Err(SendFailure(format!("HTTP {status}: {body}")))
            }
            SendOutcome::Failed { detail, .. } => Err(SendFailure(detail)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(value: Value) -> Result<FifoConfig, String> {
        let config: FifoConfig = serde_json::from_value(value).map_err(|e| e.to_string())?;
        FifoEndpoint::check(&config).map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn refuses_unknown_fields_bad_urls_and_our_own_headers_by_name() {
        let err = config(json!({"url": "https://example.com", "batchMode": 1})).expect_err("refused");
        assert!(err.contains("unknown field `batchMode`"), "{err}");
        let err = config(json!({"url": "ftp://example.com"})).expect_err("refused");
        assert!(err.starts_with("config.url"), "{err}");
        let err = config(json!({"url": "https://example.com", "headers": {"Webhook-Id": "x"}}))
            .expect_err("refused");
        assert!(err.contains("`Webhook-Id` is set by Xwebhook"), "{err}");
        assert!(config(json!({"url": "https://example.com", "headers": {"x-a": "1"}})).is_ok());
    }

    #[test]
    fn the_key_is_taken_out_and_never_shown() {
        let mut c = config(json!({"url": "https://example.com", "key": "whsec_abc"})).expect("valid");
        assert_eq!(FifoEndpoint::take_secret(&mut c).as_deref(), Some("whsec_abc"));
        let shown = FifoEndpoint::shown(&c);
        assert_eq!(
            shown,
            json!({"url": "https://example.com", "headers": {"headers": {}, "sensitive": []}})
        );
    }
}
