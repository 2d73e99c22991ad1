//! The embedded files and the headers every portal response carries.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderValue, StatusCode};

use crate::config::PortalConfig;

/// The files under `/app-portal/`, by name: (content type, body).
const FILES: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("../assets/app.js")),
    ("api.js", JS, include_str!("../assets/api.js")),
    ("ui.js", JS, include_str!("../assets/ui.js")),
    ("endpoints.js", JS, include_str!("../assets/endpoints.js")),
    ("endpoint.js", JS, include_str!("../assets/endpoint.js")),
    ("messages.js", JS, include_str!("../assets/messages.js")),
    ("catalog.js", JS, include_str!("../assets/catalog.js")),
    ("chart.js", JS, include_str!("../assets/chart.js")),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../assets/style.css"),
    ),
    ("icon.svg", "image/svg+xml", include_str!("../assets/icon.svg")),
];

const JS: &str = "text/javascript; charset=utf-8";

/// Short: a new release's assets reach browsers within minutes, without hashed names.
const CACHE_ASSETS: &str = "public, max-age=300";

/// The page with the operator's brand written in, and the CSP that goes with every response.
#[derive(Clone)]
pub(crate) struct Page(Arc<Inner>);

struct Inner {
    /// Shared by every response; the body clones the handle, not the text.
    index: Bytes,
    csp: HeaderValue,
}

impl Page {
    pub(crate) fn new(config: &PortalConfig) -> Self {
        // The brand travels in <meta> tags, not an inline script, so the CSP needs no 'unsafe-inline'.
        let index = include_str!("../assets/index.html")
            .replace("{{brand_name}}", &escape_html(config.brand_name.as_str()))
            .replace("{{brand_color}}", config.brand_color.as_str());
        let csp = format!("default-src 'self'; frame-ancestors {}", config.frame_ancestors);
        // FrameAncestors admits only header-safe characters.
        let csp =
            HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
        Self(Arc::new(Inner {
            index: Bytes::from(index),
            csp,
        }))
    }

    fn respond(&self, content_type: &'static str, cache: &'static str, body: impl Into<Body>) -> Response {
        let mut response = (StatusCode::OK, body.into()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(CONTENT_SECURITY_POLICY, self.0.csp.clone());
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        response
    }
}

/// `GET /app-portal`: the page. `no-cache` so a changed brand or release shows on the next visit.
pub(crate) async fn index(State(page): State<Page>) -> Response {
    page.respond("text/html; charset=utf-8", "no-cache", page.0.index.clone())
}

/// `GET /app-portal/{file}`: one of the embedded assets.
pub(crate) async fn file(State(page): State<Page>, Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => page.respond(content_type, CACHE_ASSETS, *body),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrandName;

    #[test]
    fn the_brand_name_is_escaped_into_the_page() {
        let config = PortalConfig {
            brand_name: BrandName::parse("<Acme & \"Co\">").expect("valid"),
            ..PortalConfig::default()
        };
        let page = Page::new(&config);
        let index = String::from_utf8_lossy(&page.0.index);
        assert!(index.contains("&lt;Acme &amp; &quot;Co&quot;&gt;"));
        assert!(!index.contains("<Acme"));
    }
}
