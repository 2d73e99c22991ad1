//! The scripted webhook receiver the tests deliver to: it records every request and answers as each test
//! scripts it (statuses, delays), and lets a test await what arrived instead of sleeping.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::Notify;

use crate::helpers::DEADLINE;

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Per path, statuses to answer in order; then 200.
    script: Mutex<HashMap<String, VecDeque<u16>>>,
    /// Per path, how long to wait before answering.
    delays: Mutex<HashMap<String, Duration>>,
    /// Per path, the distinct `webhook-id`s seen, kept as requests arrive so waiting stays cheap.
    ids: Mutex<HashMap<String, std::collections::BTreeSet<String>>>,
    /// Per path, how many requests arrived.
    counts: Mutex<HashMap<String, usize>>,
    arrived: Notify,
}

/// A webhook receiver on `127.0.0.1:0` that records every request and answers as scripted.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        let state = Arc::new(ReceiverState::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| answer(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn script(&self, path: &str, statuses: &[u16]) {
        self.state
            .script
            .lock()
            .expect("lock")
            .insert(path.to_owned(), statuses.iter().copied().collect());
    }

    pub fn delay(&self, path: &str, delay: Duration) {
        self.state
            .delays
            .lock()
            .expect("lock")
            .insert(path.to_owned(), delay);
    }

    /// The distinct `webhook-id`s received at `path`.
    pub fn ids(&self, path: &str) -> std::collections::BTreeSet<String> {
        self.state
            .ids
            .lock()
            .expect("lock")
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    fn distinct(&self, path: &str) -> usize {
        self.state
            .ids
            .lock()
            .expect("lock")
            .get(path)
            .map_or(0, |s| s.len())
    }

    fn count(&self, path: &str) -> usize {
        self.state
            .counts
            .lock()
            .expect("lock")
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Waits until every id in `ids` has been received at `path` (at least once).
    pub async fn wait_for_ids(&self, path: &str, ids: &std::collections::BTreeSet<String>) {
        let deadline = tokio::time::Instant::now() + DEADLINE * 4;
        loop {
            let notified = self.state.arrived.notified();
            if self.distinct(path) >= ids.len() && self.ids(path).is_superset(ids) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let got = self.ids(path);
                panic!(
                    "timed out: {} of {} messages arrived at {path}",
                    ids.intersection(&got).count(),
                    ids.len()
                );
            }
        }
    }

    pub fn received(&self, path: &str) -> Vec<Received> {
        self.state
            .received
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits until `path` has received at least `n` requests.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let notified = self.state.arrived.notified();
            if self.count(path) >= n {
                return self.received(path);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out waiting for {n} requests to {path}; got {}",
                    self.received(path).len()
                );
            }
        }
    }
}

async fn answer(
    state: Arc<ReceiverState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let headers = req.headers().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let delay = state.delays.lock().expect("lock").get(&path).copied();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let status = state
        .script
        .lock()
        .expect("lock")
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .unwrap_or(200);
    // Recorded before counted, so a waiter that sees the count also sees the request.
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state.received.lock().expect("lock").push(Received {
        path: path.clone(),
        headers,
        body,
        at: Instant::now(),
    });
    if let Some(id) = id {
        state
            .ids
            .lock()
            .expect("lock")
            .entry(path.clone())
            .or_default()
            .insert(id);
    }
    *state.counts.lock().expect("lock").entry(path).or_default() += 1;
    state.arrived.notify_waiters();
    let mut res = Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")));
    *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    Ok(res)
}
