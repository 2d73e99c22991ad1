//! The App Portal page as the server serves it: public, with the configured frame-ancestors in a strict CSP, the
//! right content types, and its assets. (What the page does is tested in a real browser: `tests/portal/`.)

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use crate::helpers::spawn_app_with;

/// A GET without any token: the page must not need one.
async fn get(url: &str) -> (u16, HeaderMap, String) {
    let client = HyperClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::get(url).body(Full::default()).expect("valid request");
    let response = client.request(request).await.expect("the server answers");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("a body").to_bytes();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn the_page_is_public_framed_only_where_configured_and_branded() {
    let app = spawn_app_with(&[
        (
            "XWEBHOOK_PORTAL_FRAME_ANCESTORS",
            "'self' https://app.example.com",
        ),
        ("XWEBHOOK_PORTAL_BRAND_NAME", "Acme <Hooks>"),
        ("XWEBHOOK_PORTAL_BRAND_COLOR", "#112233"),
    ])
    .await;
    let (status, headers, body) = get(&format!("{}/app-portal", app.base)).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert_eq!(
        header(&headers, "content-security-policy"),
        "default-src 'self'; frame-ancestors 'self' https://app.example.com"
    );
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    assert!(
        body.contains("Acme &lt;Hooks&gt;"),
        "the brand name, escaped: {body}"
    );
    assert!(body.contains(r##"content="#112233""##));
    // No inline script: the strict CSP would block it.
    assert!(!body.contains("<script>"), "{body}");
}

#[tokio::test]
async fn the_assets_are_served_with_their_types_and_unknown_ones_are_not() {
    let app = spawn_app_with(&[]).await;
    let base = format!("{}/app-portal", app.base);
    for (file, content_type) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("messages.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let (status, headers, body) = get(&format!("{base}/{file}")).await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(header(&headers, "content-type"), content_type, "{file}");
        assert_eq!(
            header(&headers, "content-security-policy"),
            "default-src 'self'; frame-ancestors 'self'",
            "{file}: the default allows framing by the portal's own origin only"
        );
        assert!(header(&headers, "cache-control").contains("max-age="), "{file}");
        assert!(!body.is_empty(), "{file}");
    }
    let (status, _, _) = get(&format!("{base}/nope.js")).await;
    assert_eq!(status, 404);
}
