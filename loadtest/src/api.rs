//! A minimal client of the Svix API: just what the harness needs (applications, endpoints, their secrets,
//! FIFO destinations, messages), with `serde_json` values so that it drives any Svix-compatible server.

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::scenario::fifo;

#[derive(Clone)]
pub struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    auth: String,
}

/// An API answer, whatever its status.
pub struct Answer {
    pub status: StatusCode,
    /// Whether it carried `Retry-After`.
    pub retry_after: bool,
    pub body: Bytes,
}

/// What an endpoint is created with.
pub struct EndpointSpec {
    pub url: String,
    pub rate_limit: Option<u16>,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(4096)
            .build(connector);
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            auth: format!("Bearer {token}"),
        }
    }

    /// One API call; `path` is below `/api/v1`. Returns the status and the body, whatever the status.
    async fn call(&self, method: Method, path: &str, body: Bytes) -> anyhow::Result<(StatusCode, Bytes)> {
        let answer = self.answer(method, path, body).await?;
        Ok((answer.status, answer.body))
    }

    /// One API call, with the headers the caller may act on.
    async fn answer(&self, method: Method, path: &str, body: Bytes) -> anyhow::Result<Answer> {
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}/api/v1{path}", self.base))
            .header("authorization", &self.auth)
            .header("content-type", "application/json")
            .body(Full::new(body))?;
        let res = self.client.request(req).await.context("API request failed")?;
        let status = res.status();
        let retry_after = res.headers().get(hyper::header::RETRY_AFTER).is_some();
        let body = res.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    async fn json(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let (status, bytes) = self.call(method.clone(), path, bytes).await?;
        if !status.is_success() {
            bail!("{method} {path} → {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    pub async fn health(&self) -> anyhow::Result<()> {
        let (status, _) = self.call(Method::GET, "/health/ping", Bytes::new()).await?;
        if !status.is_success() {
            bail!("health ping → {status}");
        }
        Ok(())
    }

    /// A fresh application; returns its id.
    pub async fn create_app(&self, name: &str) -> anyhow::Result<String> {
        let app = self
            .json(Method::POST, "/app", Some(&json!({"name": name})))
            .await?;
        Ok(app["id"].as_str().context("application id")?.to_owned())
    }

    /// A fresh endpoint; returns its id.
    pub async fn create_endpoint(&self, app_id: &str, spec: &EndpointSpec) -> anyhow::Result<String> {
        let mut body = json!({"url": spec.url});
        if let Some(limit) = spec.rate_limit {
            body["rateLimit"] = json!(limit);
        }
        let path = format!("/app/{app_id}/endpoint");
        let endpoint = self.json(Method::POST, &path, Some(&body)).await?;
        Ok(endpoint["id"].as_str().context("endpoint id")?.to_owned())
    }

    /// The endpoint's signing secret (`whsec_…`).
    pub async fn endpoint_secret(&self, app_id: &str, endpoint_id: &str) -> anyhow::Result<String> {
        let path = format!("/app/{app_id}/endpoint/{endpoint_id}/secret");
        let secret = self.json(Method::GET, &path, None).await?;
        Ok(secret["key"].as_str().context("endpoint secret")?.to_owned())
    }

    /// A fresh `fifoEndpoint` destination that sends each batch as soon as anything waits (`maxWaitSecs` 0),
    /// signed with `key` (`whsec_…`); returns its id.
    pub async fn create_fifo_destination(
        &self,
        app_id: &str,
        url: &str,
        destination: fifo::Destination,
        key: &str,
    ) -> anyhow::Result<String> {
        let body = json!({
            "type": "fifoEndpoint",
            "batchSize": destination.batch_size,
            "maxWaitSecs": destination.max_wait_secs,
            "config": {"url": url, "key": key},
        });
        let path = format!("/app/{app_id}/destination");
        let destination = self.json(Method::POST, &path, Some(&body)).await?;
        Ok(destination["id"].as_str().context("destination id")?.to_owned())
    }

    /// The destination as the server shows it (`DestinationOut`: `status`, `failureReason`, …).
    pub async fn destination(&self, app_id: &str, destination_id: &str) -> anyhow::Result<Value> {
        let path = format!("/app/{app_id}/destination/{destination_id}");
        self.json(Method::GET, &path, None).await
    }

    /// Sends a message whose body (`{"eventType", "payload"}`) is already serialized; errors on any non-2xx.
    pub async fn send_message(&self, app_id: &str, body: Bytes) -> anyhow::Result<()> {
        let path = format!("/app/{app_id}/msg");
        let (status, bytes) = self.call(Method::POST, &path, body).await?;
        if !status.is_success() {
            bail!("POST {path} → {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(())
    }

    /// Sends a message and returns the answer as it is, for callers that judge every status.
    pub async fn try_send_message(&self, app_id: &str, body: Bytes) -> anyhow::Result<Answer> {
        self.answer(Method::POST, &format!("/app/{app_id}/msg"), body)
            .await
    }

    /// Every message of the application, newest first, without payloads.
    pub async fn list_messages(&self, app_id: &str) -> anyhow::Result<Vec<Value>> {
        let mut all = Vec::new();
        let mut iterator: Option<String> = None;
        loop {
            let mut path = format!("/app/{app_id}/msg?limit=250&with_content=false");
            if let Some(it) = &iterator {
                path.push_str(&format!("&iterator={it}"));
            }
            let page = self.json(Method::GET, &path, None).await?;
            all.extend(page["data"].as_array().cloned().unwrap_or_default());
            iterator = page["iterator"].as_str().map(str::to_owned);
            if page["done"].as_bool().unwrap_or(true) || iterator.is_none() {
                return Ok(all);
            }
        }
    }
}
