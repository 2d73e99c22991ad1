//! `/endpoint/{id}/headers`: custom headers sent with every delivery. Values of sensitive headers (credentials)
//! are accepted and sent but never shown again.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use xwebhook_engine::delivery::RESERVED_HEADERS;

use super::lookup;
use crate::auth::Auth;
use crate::dto::endpoint::{EndpointHeadersIn, EndpointHeadersOut, EndpointHeadersPatchIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;

/// Header names whose values are credentials.
const SENSITIVE: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-access-token",
];

/// At most this many custom headers per endpoint, and this many bytes of names and values in all: they go out
/// with every delivery, and receivers' servers refuse large request heads (commonly 8 to 16 KiB).
pub const MAX_HEADERS: usize = 64;
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Lower-cases names and rejects what is not a valid, settable HTTP header, or more than the bounds allow.
pub fn validated(headers: BTreeMap<String, String>) -> ApiResult<BTreeMap<String, String>> {
    bounded(&headers)?;
    headers
        .into_iter()
        .map(|(name, value)| {
            let lower = name.to_ascii_lowercase();
            if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                return Err(ApiError::invalid(
                    &["body", "headers", &name],
                    "not a valid HTTP header name",
                ));
            }
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(ApiError::invalid(
                    &["body", "headers", &name],
                    "this header is set by the service and cannot be overridden",
                ));
            }
            if http::HeaderValue::from_str(&value).is_err() {
                return Err(ApiError::invalid(
                    &["body", "headers", &name],
                    "not a valid HTTP header value",
                ));
            }
            Ok((lower, value))
        })
        .collect()
}

/// An endpoint's headers within [`MAX_HEADERS`] and [`MAX_HEADER_BYTES`].
fn bounded(headers: &BTreeMap<String, String>) -> ApiResult<()> {
    let bytes: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Err(ApiError::invalid(
            &["body", "headers"],
            format!("at most {MAX_HEADERS} headers of at most {MAX_HEADER_BYTES} bytes in all"),
        ));
    }
    Ok(())
}

fn shown(headers: &BTreeMap<String, String>) -> EndpointHeadersOut {
    let (sensitive, visible): (Vec<_>, Vec<_>) = headers
        .iter()
        .partition(|(name, _)| SENSITIVE.contains(&name.as_str()));
    EndpointHeadersOut {
        headers: visible.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        sensitive: sensitive.into_iter().map(|(k, _)| k.clone()).collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers", tag = "Endpoint",
    params(("app_id" = String, Path), ("endpoint_id" = String, Path)), responses((status = 200, body = EndpointHeadersOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<Json<EndpointHeadersOut>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    Ok(Json(shown(&endpoint.headers)))
}

#[utoipa::path(put, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers", tag = "Endpoint",
    request_body = EndpointHeadersIn, params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 204)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EndpointHeadersIn>,
) -> ApiResult<StatusCode> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let mut endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    endpoint.headers = validated(body.headers)?;
    endpoint.updated_at = state.clock.now();
    state.stores.endpoints.update_endpoint(&endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(patch, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers", tag = "Endpoint",
    request_body = EndpointHeadersPatchIn, params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 204)))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EndpointHeadersPatchIn>,
) -> ApiResult<StatusCode> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let mut endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let (set, removed): (BTreeMap<_, _>, BTreeMap<_, _>) =
        body.headers.into_iter().partition(|(_, v)| v.is_some());
    let deleted = body.delete_headers.unwrap_or_default();
    for name in removed.keys().chain(deleted.iter()) {
        endpoint.headers.remove(&name.to_ascii_lowercase());
    }
    let set = validated(set.into_iter().filter_map(|(k, v)| Some((k, v?))).collect())?;
    endpoint.headers.extend(set);
    bounded(&endpoint.headers)?;
    endpoint.updated_at = state.clock.now();
    state.stores.endpoints.update_endpoint(&endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_and_withholding() {
        let ok = validated(BTreeMap::from([
            ("X-Custom".into(), "1".into()),
            ("Authorization".into(), "Bearer s".into()),
        ]))
        .expect("valid headers");
        assert_eq!(ok.keys().collect::<Vec<_>>(), ["authorization", "x-custom"]);
        let out = shown(&ok);
        assert_eq!(out.sensitive, ["authorization"]);
        assert!(!out.headers.contains_key("authorization"));
        for bad in [
            ("webhook-signature", "x"),
            ("bad name", "x"),
            ("x-ok", "line\nbreak"),
        ] {
            assert!(
                validated(BTreeMap::from([(bad.0.into(), bad.1.into())])).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn headers_are_bounded_in_count_and_size() {
        let many = |n: usize, value: &str| -> BTreeMap<String, String> {
            (0..n).map(|i| (format!("x-h{i}"), value.to_owned())).collect()
        };
        assert!(validated(many(MAX_HEADERS, "v")).is_ok());
        assert!(validated(many(MAX_HEADERS + 1, "v")).is_err());
        assert!(validated(many(1, &"v".repeat(MAX_HEADER_BYTES))).is_err());
        assert!(validated(many(1, &"v".repeat(MAX_HEADER_BYTES - 10))).is_ok());
    }
}
