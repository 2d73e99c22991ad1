//! What every request leaves for operators: a request id, taken from the caller (`x-request-id`, or the
//! `svix-req-id` the Svix SDKs send) or made, echoed in the response and carried by the request's tracing span;
//! and the request's duration in the metrics, by route template.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use http::{HeaderMap, HeaderName, Method};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;
use xwebhook_engine::metrics;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const SVIX_REQ_ID: HeaderName = HeaderName::from_static("svix-req-id");

/// A caller's id longer than this (or not printable ASCII) is not trusted into logs: a fresh one replaces it.
const MAX_REQUEST_ID: usize = 128;

/// Wraps `router` in the request id, tracing and metrics layers.
pub fn layer(router: Router) -> Router {
    // The last layer added runs first.
    router
        .layer(middleware::from_fn(record_duration))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(SVIX_REQ_ID))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, MakeId))
        .layer(middleware::map_request(drop_untrusted_ids))
}

/// Ids for requests without an `x-request-id`: the `svix-req-id` when the caller sent one, else a fresh ULID.
#[derive(Debug, Clone, Copy)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, request: &http::Request<B>) -> Option<RequestId> {
        let id = match request.headers().get(SVIX_REQ_ID) {
            Some(svix) => svix.clone(),
            None => ulid::Ulid::new().to_string().parse().ok()?,
        };
        Some(RequestId::new(id))
    }
}

async fn drop_untrusted_ids(mut req: Request) -> Request {
    drop_untrusted(req.headers_mut(), &X_REQUEST_ID);
    drop_untrusted(req.headers_mut(), &SVIX_REQ_ID);
    req
}

fn drop_untrusted(headers: &mut HeaderMap, name: &HeaderName) {
    let trusted = headers.get(name).is_none_or(|v| is_printable_id(v.as_bytes()));
    if !trusted {
        headers.remove(name);
    }
}

fn is_printable_id(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.iter().all(u8::is_ascii_graphic)
}

fn request_span(req: &http::Request<axum::body::Body>) -> Span {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
}

async fn record_duration(req: Request, next: Next) -> Response {
    let started = Instant::now();
    // The template, never the concrete path: ids in paths would make one series per resource.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = method_label(req.method());
    let response = next.run(req).await;
    metrics::http_request(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// Methods outside the standard set are one label, so that callers cannot mint series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_printable_ids_are_kept() {
        let cases: [(&[u8], bool); 5] = [
            (b"abc-123", true),
            (b"12345678901234567890", true),
            (b"", false),
            (b"has space", false),
            (&[b'x'; MAX_REQUEST_ID + 1], false),
        ];
        for (id, kept) in cases {
            assert_eq!(is_printable_id(id), kept, "{id:?}");
        }
    }
}
