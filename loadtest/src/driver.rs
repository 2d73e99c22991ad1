//! The driver: sets up an application and endpoint through the API, then sends messages closed-loop with C
//! concurrent senders, timing each API call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    auth: String,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Self {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1024)
            .build_http();
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            auth: format!("Bearer {token}"),
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let req = hyper::Request::post(format!("{}/api/v1{path}", self.base))
            .header("authorization", &self.auth)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))?;
        let res = self.client.request(req).await.context("API request failed")?;
        let status = res.status();
        let bytes = res.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!("POST {path} → {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// A fresh application with one endpoint per sink URL; returns the application id.
    pub async fn setup(&self, sink_urls: &[String]) -> anyhow::Result<String> {
        let app = self.post("/app", &json!({"name": "loadtest"})).await?;
        let app_id = app["id"].as_str().context("application id")?.to_owned();
        for url in sink_urls {
            self.post(&format!("/app/{app_id}/endpoint"), &json!({"url": url}))
                .await?;
        }
        Ok(app_id)
    }
}

pub struct SendStats {
    pub sent: u64,
    pub errors: u64,
    /// API call latency in microseconds.
    pub latency: Histogram<u64>,
    pub elapsed: std::time::Duration,
}

/// Sends `total` messages with `concurrency` senders, each with a `payload_bytes` filler and a send timestamp.
pub async fn send_closed_loop(
    api: &Api,
    app_id: &str,
    total: u64,
    concurrency: usize,
    payload_bytes: usize,
) -> anyhow::Result<SendStats> {
    let next = Arc::new(AtomicU64::new(0));
    let filler = "x".repeat(payload_bytes.saturating_sub(64));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (api, next, filler, path) = (
            api.clone(),
            next.clone(),
            filler.clone(),
            format!("/app/{app_id}/msg"),
        );
        senders.spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let (mut sent, mut errors) = (0u64, 0u64);
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let now_us = SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros() as u64;
                let body =
                    json!({"eventType": "load.test", "payload": {"sentAtUs": now_us, "filler": filler}});
                let t = Instant::now();
                match api.post(&path, &body).await {
                    Ok(_) => sent += 1,
                    Err(_) => errors += 1,
                }
                latency.record(t.elapsed().as_micros().max(1) as u64)?;
            }
            anyhow::Ok((sent, errors, latency))
        });
    }
    let mut stats = SendStats {
        sent: 0,
        errors: 0,
        latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        elapsed: Default::default(),
    };
    while let Some(done) = senders.join_next().await {
        let (sent, errors, latency) = done??;
        stats.sent += sent;
        stats.errors += errors;
        stats.latency.add(latency)?;
    }
    stats.elapsed = started.elapsed();
    Ok(stats)
}
