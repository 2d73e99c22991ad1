//! The receiving sink: a `hyper` server on loopback whose path `/e/{index}` names the endpoint, so that each
//! endpoint plays its part (see `behaviour`). `/d/{index}` names a FIFO destination, which answers 200 and
//! receives batches (JSON arrays of events) whose order it checks. It verifies signatures when it has the
//! endpoint's or destination's secret, and records end-to-end latency from the stamp the driver put in the
//! payload. `/ceiling` answers the ceiling blast.
//!
//! Layout: `behaviour` (how an endpoint answers), `stats` (what is recorded), `order` (a FIFO destination's
//! order check).

pub mod behaviour;
mod order;
pub mod stats;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::Notify;

use crate::payload::{read_batch, read_stamp};
use crate::signature::{Signed, Verifier};
use crate::unix_micros;
use behaviour::Behaviour;
use stats::{Arrival, Carried, GroupStats, Recorder, latency_histogram};

/// The report group of FIFO destinations.
pub const FIFO_GROUP: &str = "fifo";

struct Slot {
    behaviour: Behaviour,
    /// A FIFO destination's: each request is a batch.
    batches: bool,
    group: usize,
    verifier: OnceLock<Verifier>,
    requests: AtomicU64,
}

struct Shared {
    /// The endpoints' slots, then the destinations'.
    slots: Vec<Slot>,
    endpoints: usize,
    recorder: Mutex<Recorder>,
    started: OnceLock<Instant>,
    /// New accepted deliveries at endpoints that must receive everything.
    owed_accepted: AtomicU64,
    accepted: AtomicU64,
    ceiling_requests: AtomicU64,
    arrived: Notify,
    listener: OnceLock<tokio::task::AbortHandle>,
}

#[derive(Clone)]
pub struct Sink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Sink {
    /// Starts a sink whose endpoint `i` behaves as `endpoints[i]`, with `destinations` FIFO destinations besides.
    pub async fn start(endpoints: &[Behaviour], destinations: usize) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut group_index: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut groups: Vec<GroupStats> = Vec::new();
        let mut slots = Vec::with_capacity(endpoints.len() + destinations);
        let destination = std::iter::repeat_n((Behaviour::Ok, true), destinations);
        for (behaviour, batches) in endpoints.iter().map(|&b| (b, false)).chain(destination) {
            let name = if batches { FIFO_GROUP } else { behaviour.group() };
            let group = *group_index.entry(name).or_insert_with(|| {
                groups.push(GroupStats {
                    name,
                    delivers: behaviour.delivers(),
                    endpoints: 0,
                    requests: 0,
                    accepted: 0,
                    duplicates: 0,
                    latency: latency_histogram(),
                    last_accepted: None,
                });
                groups.len() - 1
            });
            groups[group].endpoints += 1;
            slots.push(Slot {
                behaviour,
                batches,
                group,
                verifier: OnceLock::new(),
                requests: AtomicU64::new(0),
            });
        }
        let shared = Arc::new(Shared {
            recorder: Mutex::new(Recorder::new(slots.len(), groups, unix_micros())),
            slots,
            endpoints: endpoints.len(),
            started: OnceLock::new(),
            owed_accepted: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            ceiling_requests: AtomicU64::new(0),
            arrived: Notify::new(),
            listener: OnceLock::new(),
        });
        let accepting = tokio::spawn(serve(listener, shared.clone()));
        let _ = shared.listener.set(accepting.abort_handle());
        Ok(Self { addr, shared })
    }

    /// Stops accepting connections (a suite runs many sinks in one process).
    pub fn stop(&self) {
        if let Some(accepting) = self.shared.listener.get() {
            accepting.abort();
        }
    }

    pub fn endpoint_url(&self, index: usize) -> String {
        format!("http://{}/e/{index}", self.addr)
    }

    pub fn destination_url(&self, index: usize) -> String {
        format!("http://{}/d/{index}", self.addr)
    }

    pub fn ceiling_url(&self) -> String {
        format!("http://{}/ceiling", self.addr)
    }

    /// Verify the signatures of endpoint `index` from now on.
    pub fn set_verifier(&self, index: usize, verifier: Verifier) {
        let _ = self.shared.slots[index].verifier.set(verifier);
    }

    /// Verify the signatures of FIFO destination `index` from now on.
    pub fn set_destination_verifier(&self, index: usize, verifier: Verifier) {
        self.set_verifier(self.shared.endpoints + index, verifier);
    }

    /// Starts the clock of time-dependent behaviours (fail-until); the first call wins.
    pub fn mark_start(&self, at: Instant) {
        let _ = self.shared.started.set(at);
    }

    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    pub fn ceiling_requests(&self) -> u64 {
        self.shared.ceiling_requests.load(Ordering::Relaxed)
    }

    pub fn recorder(&self) -> MutexGuard<'_, Recorder> {
        self.shared.recorder.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `owed` deliveries arrived at the endpoints that must receive everything, or `deadline`
    /// passes; returns whether they all arrived.
    pub async fn wait_for(&self, owed: u64, deadline: tokio::time::Instant) -> bool {
        loop {
            // Created before the check: `notify_waiters` reaches every `Notified` that exists when it is called.
            let notified = self.shared.arrived.notified();
            if self.shared.owed_accepted.load(Ordering::Acquire) >= owed {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.shared.owed_accepted.load(Ordering::Acquire) >= owed;
            }
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| receive(shared.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn receive(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    if path == "/ceiling" {
        return Ok(ceiling(&shared, req).await);
    }
    let Some((index, slot)) = slot(&shared, path) else {
        return Ok(respond(404, None));
    };
    let (id, timestamp, signatures) = (
        header(&req, "webhook-id").to_owned(),
        header(&req, "webhook-timestamp").to_owned(),
        header(&req, "webhook-signature").to_owned(),
    );
    let body = read_body(req).await;
    let now_micros = unix_micros();
    let nth = slot.requests.fetch_add(1, Ordering::Relaxed);
    let elapsed = shared.started.get().map(Instant::elapsed).unwrap_or_default();
    let answer = slot.behaviour.answer(nth, elapsed);
    let signature_ok = slot.verifier.get().is_none_or(|v| {
        let signed = Signed {
            id: &id,
            timestamp: &timestamp,
            signatures: &signatures,
        };
        v.verify(&signed, &body)
    });
    let carried = if slot.batches {
        Carried::Batch(read_batch(&body))
    } else {
        Carried::Message(read_stamp(&body))
    };
    let arrival = Arrival {
        endpoint: index,
        group: slot.group,
        accepted: answer.accepted(),
        signature_ok,
        id: &id,
        carried,
        now_micros,
    };
    note_arrival(&shared, slot, &arrival);
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    Ok(respond(answer.status, answer.retry_after))
}

/// The slot a path names, and its index: `/e/{i}` the endpoint's, `/d/{i}` the destination's.
fn slot<'a>(shared: &'a Shared, path: &str) -> Option<(usize, &'a Slot)> {
    let index = |prefix| path.strip_prefix(prefix).and_then(|i| i.parse::<usize>().ok());
    let index = match (index("/e/"), index("/d/")) {
        (Some(i), _) if i < shared.endpoints => i,
        (_, Some(i)) => shared.endpoints + i,
        _ => return None,
    };
    Some((index, shared.slots.get(index)?))
}

/// A ceiling request: read as a delivery is (so the ceiling is a like-for-like request), counted, answered.
async fn ceiling(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = read_body(req).await;
    std::hint::black_box(read_stamp(&body));
    shared.ceiling_requests.fetch_add(1, Ordering::Relaxed);
    respond(200, None)
}

/// The whole body; a body cut short counts as empty (its stamp and signature then fail, and are counted).
async fn read_body(req: Request<Incoming>) -> Bytes {
    req.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

/// Records an arrival and wakes whoever waits for deliveries when it brought new accepted ones.
fn note_arrival(shared: &Shared, slot: &Slot, arrival: &Arrival<'_>) {
    let new = shared
        .recorder
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .record(arrival);
    if new > 0 {
        shared.accepted.fetch_add(new, Ordering::Relaxed);
        if slot.behaviour.delivers() {
            shared.owed_accepted.fetch_add(new, Ordering::Release);
        }
        shared.arrived.notify_waiters();
    }
}

fn respond(status: u16, retry_after: Option<u64>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    if let Some(seconds) = retry_after {
        res.headers_mut()
            .insert(hyper::header::RETRY_AFTER, seconds.into());
    }
    res
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::payload::PayloadBuilder;
    use base64::Engine as _;
    use hmac::Mac as _;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn sign(id: &str, timestamp: &str, body: &[u8]) -> String {
        let key = base64::engine::general_purpose::STANDARD
            .decode(&SECRET["whsec_".len()..])
            .expect("key");
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        let sig = mac.finalize().into_bytes();
        format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(sig))
    }

    async fn deliver(url: &str, id: &str, body: Bytes, signature: &str) -> u16 {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let req = Request::post(url)
            .header("webhook-id", id)
            .header("webhook-timestamp", "1700000000")
            .header("webhook-signature", signature)
            .body(Full::new(body))
            .expect("request");
        client.request(req).await.expect("sink answers").status().as_u16()
    }

    #[tokio::test]
    async fn records_deliveries_duplicates_and_bad_signatures_per_endpoint() {
        let sink = Sink::start(&[Behaviour::Ok, Behaviour::Fail], 0)
            .await
            .expect("sink");
        for index in 0..2 {
            sink.set_verifier(index, Verifier::from_secret(SECRET).expect("secret"));
        }
        let payload = PayloadBuilder::new(256);
        let first = payload.delivery(1, crate::unix_micros());
        let good = sign("msg_1", "1700000000", &first);
        assert_eq!(
            deliver(&sink.endpoint_url(0), "msg_1", first.clone(), &good).await,
            200
        );
        assert_eq!(
            deliver(&sink.endpoint_url(0), "msg_1", first.clone(), &good).await,
            200
        );
        assert_eq!(
            deliver(&sink.endpoint_url(1), "msg_1", first.clone(), &good).await,
            500
        );
        let second = payload.delivery(2, crate::unix_micros());
        assert_eq!(deliver(&sink.endpoint_url(0), "msg_2", second, &good).await, 200);

        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        assert!(sink.wait_for(2, deadline).await);
        let recorder = sink.recorder();
        let healthy = &recorder.groups[0];
        let failing = &recorder.groups[1];
        assert_eq!(
            (
                healthy.name,
                healthy.requests,
                healthy.accepted,
                healthy.duplicates
            ),
            ("healthy", 3, 2, 1)
        );
        assert_eq!(
            (failing.name, failing.requests, failing.accepted),
            ("failing", 1, 0)
        );
        assert_eq!(recorder.bad_signatures, 1, "msg_2 carried msg_1's signature");
        assert_eq!(recorder.messages(), 2);
        assert_eq!(recorder.latency.len(), 2);
    }

    /// A FIFO batch as the server sends it: the events' payloads as the driver wrote them.
    fn batch(payload: &PayloadBuilder, seqs: &[u64]) -> Bytes {
        let events: Vec<serde_json::Value> = seqs
            .iter()
            .map(|&seq| {
                let message: serde_json::Value =
                    serde_json::from_slice(&payload.message(seq, crate::unix_micros())).expect("JSON");
                serde_json::json!({"id": format!("msg_{seq}"), "eventType": "load.test",
                    "payload": message["payload"], "timestamp": "2026-12-07T00:00:00Z"})
            })
            .collect();
        Bytes::from(serde_json::to_vec(&events).expect("JSON"))
    }

    #[tokio::test]
    async fn checks_the_order_of_fifo_batches_and_counts_their_events() {
        let sink = Sink::start(&[Behaviour::Ok], 1).await.expect("sink");
        sink.set_destination_verifier(0, Verifier::from_secret(SECRET).expect("secret"));
        let payload = PayloadBuilder::new(128);
        let url = sink.destination_url(0);
        let send = |id: &'static str, seqs: &'static [u64]| {
            let (url, body) = (url.clone(), batch(&payload, seqs));
            async move {
                let signature = sign(id, "1700000000", &body);
                deliver(&url, id, body, &signature).await
            }
        };
        assert_eq!(send("b_0_10", &[0, 10]).await, 200);
        // Sent again from the same start, with one more event: allowed, two duplicates.
        assert_eq!(send("b_0_20", &[0, 10, 20]).await, 200);
        // 15 after 20: overtaken.
        assert_eq!(send("b_15_15", &[15]).await, 200);
        assert_eq!(
            deliver(&url, "b_x", Bytes::from_static(b"{}"), "v1,bm9wZQ==").await,
            200
        );

        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        assert!(sink.wait_for(4, deadline).await);
        let recorder = sink.recorder();
        let b = &recorder.batches;
        assert_eq!((b.batches, b.events, b.resent, b.violations), (3, 6, 1, 1));
        assert_eq!(
            b.first_violation.as_deref(),
            Some("batch b_15_15 (event 0 of 1): seq 15 came after seq 20 had been delivered")
        );
        let fifo = &recorder.groups[1];
        assert_eq!(
            (fifo.name, fifo.requests, fifo.accepted, fifo.duplicates),
            (FIFO_GROUP, 4, 4, 2)
        );
        assert_eq!((recorder.bad_signatures, recorder.unstamped), (1, 1));
        assert_eq!(recorder.groups[0].requests, 0, "the endpoint's slot is apart");
    }
}
