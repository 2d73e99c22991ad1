//! Sending one signed delivery: a pooled keep-alive `hyper` client, a DNS resolver that refuses blocked
//! addresses, a deadline, and a bounded read of the response.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;

use super::address::AddressPolicy;

/// Receivers' answers are kept for the attempt log up to this size.
pub const MAX_RESPONSE_BODY: usize = 20 * 1024;

/// The result of one HTTP delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The receiver answered (any status).
    Response {
        status: u16,
        body: String,
        retry_after: Option<String>,
    },
    /// No answer: the attempt failed before or while waiting for one.
    Failed { kind: FailureKind, detail: String },
}

/// One request sent: what came of it, and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub outcome: SendOutcome,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Timeout,
    Connect,
    /// The destination resolved only to addresses the policy blocks.
    Refused,
}

/// One outgoing request, ready to go.
#[derive(Debug)]
pub struct OutgoingRequest {
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A refused destination, raised by the resolver and recognised in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("refused to deliver to {host}: it resolves only to non-public addresses")]
struct BlockedDestination {
    host: String,
}

/// Resolves with the system resolver and drops addresses the policy blocks.
#[derive(Clone)]
struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    BlockedDestination { host },
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

type HttpsConnector = hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>;

/// The shared client: one connection pool per destination, reused across deliveries.
#[derive(Clone)]
pub struct HttpSender {
    client: Client<HttpsConnector, Full<Bytes>>,
    policy: Arc<AddressPolicy>,
    timeout: Duration,
}

impl HttpSender {
    pub fn new(policy: AddressPolicy, timeout: Duration) -> Self {
        let policy = Arc::new(policy);
        let mut http = HttpConnector::new_with_resolver(GuardedResolver {
            policy: policy.clone(),
        });
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .build(https);
        Self {
            client,
            policy,
            timeout,
        }
    }

    /// Sends one request. Redirects are not followed: a 3xx is the receiver's answer.
    pub async fn send(&self, req: OutgoingRequest) -> Sent {
        let _in_flight = crate::metrics::InFlight::enter();
        let started = Instant::now();
        let outcome = match self.refuse_literal(&req.url) {
            Some(refused) => refused,
            None => match tokio::time::timeout(self.timeout, self.exchange(req)).await {
                Ok(outcome) => outcome,
                Err(_) => SendOutcome::Failed {
                    kind: FailureKind::Timeout,
                    detail: format!("no response within {} s", self.timeout.as_secs_f64()),
                },
            },
        };
        Sent {
            outcome,
            elapsed: started.elapsed(),
        }
    }

    /// The resolver never sees IP-literal hosts, so they are checked here.
    fn refuse_literal(&self, url: &url::Url) -> Option<SendOutcome> {
        let ip = match url.host()? {
            url::Host::Ipv4(ip) => std::net::IpAddr::V4(ip),
            url::Host::Ipv6(ip) => std::net::IpAddr::V6(ip),
            url::Host::Domain(_) => return None,
        };
        (!self.policy.permits(ip)).then(|| SendOutcome::Failed {
            kind: FailureKind::Refused,
            detail: format!("refused to deliver to {ip}: not a public address"),
        })
    }

    async fn exchange(&self, req: OutgoingRequest) -> SendOutcome {
        let mut builder = Request::post(req.url.as_str());
        if let Some(headers) = builder.headers_mut() {
            *headers = req.headers;
        }
        let request = match builder.body(Full::new(req.body)) {
            Ok(r) => r,
            Err(e) => {
                return SendOutcome::Failed {
                    kind: FailureKind::Connect,
                    detail: e.to_string(),
                };
            }
        };
        let response = match self.client.request(request).await {
            Ok(r) => r,
            Err(e) => return classify_error(&e),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_bounded(response.into_body()).await;
        SendOutcome::Response {
            status,
            body,
            retry_after,
        }
    }
}

fn classify_error(e: &hyper_util::client::legacy::Error) -> SendOutcome {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(blocked) = err.downcast_ref::<BlockedDestination>() {
            return SendOutcome::Failed {
                kind: FailureKind::Refused,
                detail: blocked.to_string(),
            };
        }
        source = err.source();
    }
    SendOutcome::Failed {
        kind: FailureKind::Connect,
        detail: error_chain(e),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}

/// Reads at most [`MAX_RESPONSE_BODY`] bytes; a longer body is cut (and its connection not reused).
async fn read_bounded(mut body: hyper::body::Incoming) -> String {
    let mut buf = Vec::new();
    while buf.len() < MAX_RESPONSE_BODY {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    buf.extend_from_slice(data);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    buf.truncate(MAX_RESPONSE_BODY);
    response_text(&buf)
}

/// A receiver's answer as attempt-log text: invalid UTF-8 and NUL characters become U+FFFD. PostgreSQL cannot
/// store NUL in `jsonb`, so without this one odd receiver would fail every attempt record on that backend only.
fn response_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.into_owned()
    }
}

/// Header helpers for building an [`OutgoingRequest`].
pub fn header(name: &'static str, value: &str) -> Option<(HeaderName, HeaderValue)> {
    Some((HeaderName::from_static(name), HeaderValue::from_str(value).ok()?))
}

#[cfg(test)]
mod tests {
    use super::response_text;

    #[test]
    fn response_text_is_storable_everywhere() {
        let cases: &[(&[u8], &str)] = &[(b"ok", "ok"), (b"a\0b", "a\u{FFFD}b"), (b"\xff", "\u{FFFD}")];
        for (body, expected) in cases {
            assert_eq!(response_text(body), *expected, "{body:?}");
        }
    }
}
