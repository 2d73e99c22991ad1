//! The accept loop: our own, on hyper's HTTP/1 server, so that slow or idle clients cannot hold the API's
//! connections (and file descriptors) for ever. `axum::serve` has no timeouts and no connection cap.

mod body;
mod io;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt as _;
use tower_http::normalize_path::NormalizePath;
use tracing::{debug, error};

pub use body::BodyReadTimeout;
use body::DeadlineBody;
use io::{GuardedIo, Requests, Timeouts};

/// How long clients may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From a request head's first byte (or from accept, for a connection's first request) to its last.
    pub header_read_timeout: Duration,
    /// From a request head's arrival to its body's last byte; a late body gets 408 and the connection closes.
    pub body_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request (or stall reading a response).
    pub idle_timeout: Duration,
    /// Connections served at once; further clients wait in the kernel's accept backlog.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    /// Heads are one or two packets, so 10 s is long even on a poor mobile link. A full 1 MiB body over a
    /// 512 kbit/s link takes ~16 s: 30 s leaves room. The keep-alive wait outlasts the common 60 s idle timeout
    /// of load balancers and client pools, so that they, not we, close idle connections: a request sent on a
    /// connection we are closing at that instant would fail.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
            max_connections: 1024,
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    app: NormalizePath<Router>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = u32::try_from(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(max as usize));
    let (draining, drain) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A slot is taken before accepting: when all are taken, new clients wait in the kernel's backlog
        // (their connect succeeds, their request is read once a slot frees) instead of being accepted and
        // closed. Accepting would spend the file descriptor the cap protects, and a closed client just retries;
        // a waiting one is served as soon as a slow client times out.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        let connection = Connection {
            app: app.clone(),
            limits,
            drain: drain.clone(),
            _slot: slot,
        };
        tokio::spawn(connection.run(stream));
    }
    drop(listener);
    let _ = draining.send(true);
    // Every connection holds a slot until it ends: holding them all means every request has been answered.
    let _all = slots.acquire_many(max).await;
    Ok(())
}

/// Per-connection errors (the client left before we accepted it) need nothing; running out of file
/// descriptors does, and retrying at once would spin: wait a little, as `axum::serve` does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// One client connection; it frees its slot when dropped.
struct Connection {
    app: NormalizePath<Router>,
    limits: ConnectionLimits,
    drain: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let requests = Arc::new(Requests::default());
        let timeouts = Timeouts {
            header: self.limits.header_read_timeout,
            idle: self.limits.idle_timeout,
        };
        let io = TokioIo::new(GuardedIo::new(stream, Arc::clone(&requests), timeouts));
        let (app, body_timeout) = (self.app.clone(), self.limits.body_read_timeout);
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let in_flight = requests.enter();
            let req = req.map(|body| axum::body::Body::new(DeadlineBody::new(body, body_timeout)));
            let app = app.clone();
            async move {
                let _in_flight = in_flight;
                app.oneshot(req).await
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        // Our socket keeps the head deadline (see `io`); hyper's own would also cut the keep-alive wait short.
        builder.header_read_timeout(None);
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let ended = tokio::select! {
            ended = conn.as_mut() => ended,
            // The only change ever sent is the start of the drain.
            _ = self.drain.changed() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = ended {
            debug!(error = %e, "client connection ended with an error");
        }
    }
}
