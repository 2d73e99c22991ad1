//! The receiving sink: a `hyper` server on loopback that counts deliveries, spots duplicates and measures
//! end-to-end latency from the send time the driver put in each payload.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::sync::Notify;

#[derive(Deserialize)]
struct Stamp {
    /// Unix time in microseconds when the driver sent the message.
    #[serde(rename = "sentAtUs")]
    sent_at_us: u64,
}

pub struct SinkStats {
    pub seen: HashSet<String>,
    pub deliveries: u64,
    pub duplicates: u64,
    /// End-to-end latency in microseconds.
    pub latency: Histogram<u64>,
}

#[derive(Clone)]
pub struct Sink {
    pub addr: SocketAddr,
    stats: Arc<Mutex<SinkStats>>,
    arrived: Arc<Notify>,
}

impl Sink {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Mutex::new(SinkStats {
            seen: HashSet::new(),
            deliveries: 0,
            duplicates: 0,
            latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        }));
        let sink = Self {
            addr,
            stats,
            arrived: Arc::new(Notify::new()),
        };
        let server = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let sink = server.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| sink.clone().receive(req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(sink)
    }

    async fn receive(self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let id = req
            .headers()
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let now_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let sent = serde_json::from_slice::<Stamp>(&body).map(|s| s.sent_at_us).ok();
        {
            let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
            stats.deliveries += 1;
            if id.is_some_and(|id| !stats.seen.insert(id)) {
                stats.duplicates += 1;
            }
            if let Some(sent) = sent {
                let _ = stats.latency.record(now_us.saturating_sub(sent).max(1));
            }
        }
        self.arrived.notify_waiters();
        Ok(Response::new(Full::new(Bytes::new())))
    }

    pub fn unique(&self) -> usize {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).seen.len()
    }

    pub fn with_stats<T>(&self, f: impl FnOnce(&SinkStats) -> T) -> T {
        f(&self.stats.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits until `n` distinct messages arrived or `deadline` passes; returns how many arrived.
    pub async fn wait_for(&self, n: usize, deadline: tokio::time::Instant) -> usize {
        loop {
            let notified = self.arrived.notified();
            let got = self.unique();
            if got >= n || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.unique();
            }
        }
    }
}
