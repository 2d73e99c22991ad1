//! `Idempotency-Key` on POST: the first successful (2xx) response is stored and replayed to every later request
//! with the same key from the same caller to the same route and objects; a concurrent duplicate waits for the
//! first to finish.
//!
//! Layout: [`scope`] (what a key is scoped to, aliases resolved), [`keep`] (storing a response, and what a retry
//! sees when that fails), [`HeaderDoc`] (the header in the OpenAPI document).

mod keep;
mod scope;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use xwebhook_engine::store::{CachedResponse, IdempotencyState};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::answer_unread;
use crate::state::AppState;

const HEADER: &str = "idempotency-key";
/// Between checks while a duplicate waits for the first request to finish.
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(20);

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = match req.headers().get(HEADER) {
        Some(value) if req.method() == Method::POST => value,
        _ => return next.run(req).await,
    };
    let key = key.to_str().map(str::to_owned);
    let (mut parts, body) = req.into_parts();
    let Ok(key) = key else {
        let error = ApiError::BadRequest("the Idempotency-Key header must be visible ASCII".into());
        return answer_unread(body, state.config.max_body_bytes, error.into_response()).await;
    };
    let auth =
        match <Auth as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &state)
            .await
        {
            Ok(auth) => auth,
            Err(e) => return answer_unread(body, state.config.max_body_bytes, e.into_response()).await,
        };
    let cache_key = scope::cache_key(&state, &auth, &mut parts, &key).await;
    let answered = match claim(&state, &cache_key).await {
        Ok(None) => {
            let response = next.run(Request::from_parts(parts, body)).await;
            return remember(&state, &cache_key, response).await;
        }
        Ok(Some(cached)) => replay(cached),
        Err(e) => e.into_response(),
    };
    answer_unread(body, state.config.max_body_bytes, answered).await
}

/// Claims the key, or returns the response to replay; waits while another request holds it.
async fn claim(state: &AppState, key: &str) -> Result<Option<CachedResponse>, ApiError> {
    let deadline = tokio::time::Instant::now() + state.config.idempotency_wait;
    loop {
        match state
            .stores
            .idempotency
            .begin(key, state.config.idempotency_wait)
            .await?
        {
            IdempotencyState::Started => return Ok(None),
            IdempotencyState::Completed(cached) => return Ok(Some(cached)),
            IdempotencyState::InProgress if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(WAIT_STEP).await;
            }
            IdempotencyState::InProgress => {
                return Err(ApiError::Conflict(
                    "a request with this Idempotency-Key is still in progress".into(),
                ));
            }
        }
    }
}

async fn remember(state: &AppState, key: &str, response: Response) -> Response {
    if !response.status().is_success() {
        if let Err(e) = state.stores.idempotency.abandon(key).await {
            tracing::warn!(error = %e, "releasing an idempotency key failed");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    // No size limit: the request's effects are stored, so it must be answered and replayed whatever its size,
    // and our handlers build their bodies in memory, so collecting one only moves it.
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            // Unreachable with in-memory bodies. The claim is kept (not abandoned): a retry waits and gets a 409
            // until it lapses, rather than running again at once.
            tracing::error!(error = %e, "reading a successful response failed");
            return ApiError::Internal(Box::new(e)).into_response();
        }
    };
    let cached = CachedResponse {
        status: parts.status.as_u16(),
        body: bytes.to_vec(),
    };
    keep::keep(state, key, cached).await;
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(cached: CachedResponse) -> Response {
    let status = StatusCode::from_u16(cached.status).unwrap_or(StatusCode::OK);
    let has_body = !cached.body.is_empty();
    let mut response = (status, cached.body).into_response();
    if has_body {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    response
}

/// Documents the `idempotency-key` header on every POST operation, because [`layer`] honours it on every POST:
/// one place for both, so no handler's annotation can forget it.
pub struct HeaderDoc;

impl utoipa::Modify for HeaderDoc {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, Type};

        for item in openapi.paths.paths.values_mut() {
            let Some(post) = item.post.as_mut() else {
                continue;
            };
            let parameters = post.parameters.get_or_insert_with(Vec::new);
            // A handler may already document it; a second copy would make the document invalid.
            if parameters.iter().any(|p| p.name.eq_ignore_ascii_case(HEADER)) {
                continue;
            }
            let header = ParameterBuilder::new()
                .name(HEADER)
                .parameter_in(ParameterIn::Header)
                .description(Some("The request's idempotency key"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build();
            parameters.push(header);
        }
    }
}

#[cfg(test)]
mod header_doc_tests {
    use super::HEADER;

    #[test]
    fn every_post_and_only_posts_document_the_header_once() {
        let doc = serde_json::to_value(crate::openapi::document()).expect("the document serializes");
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("path item") {
                let count = op["parameters"].as_array().map_or(0, |ps| {
                    ps.iter()
                        .filter(|p| p["name"] == HEADER && p["in"] == "header")
                        .count()
                });
                let expected = usize::from(method == "post");
                assert_eq!(count, expected, "{method} {path}");
            }
        }
        assert!(
            paths.values().any(|item| item.get("post").is_some()),
            "the document has POSTs"
        );
    }
}
