//! The one mapping from failures to HTTP: Svix's error bodies, `{"code","detail"}` and, for 422,
//! `{"detail":[{"loc","msg","type"}]}`. 5xx bodies carry no internals; the cause chain goes to the log.
//!
//! A 503 is a promise: nothing was done, so a retry (after its `Retry-After`) cannot duplicate anything. A write
//! whose outcome is unknown is therefore a 500, never a 503.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use xwebhook_engine::intake::IntakeError;
use xwebhook_engine::store::{StoreError, StoreErrorKind};

/// One problem with one input field, located as FastAPI (and so Svix) does: `["body", "field", …]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ValidationError {
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl ValidationError {
    pub fn new(loc: &[&str], msg: impl Into<String>) -> Self {
        Self {
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
            kind: "value_error".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than this server accepts")]
    PayloadTooLarge,
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("validation failed")]
    Validation(Vec<ValidationError>),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("storage is unavailable")]
    Unavailable(#[source] StoreError),
    /// Too many messages were being accepted at once; this one was not.
    #[error("the server is overloaded")]
    Overloaded(#[source] IntakeError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn not_found() -> Self {
        Self::NotFound("Entity not found".into())
    }

    pub fn invalid(loc: &[&str], msg: impl Into<String>) -> Self {
        Self::Validation(vec![ValidationError::new(loc, msg)])
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "authentication_failed"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "insufficient_access"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Unavailable(_) | Self::Overloaded(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e.kind() {
            StoreErrorKind::NotFound => Self::not_found(),
            StoreErrorKind::Conflict => Self::Conflict(e.context),
            StoreErrorKind::Unavailable | StoreErrorKind::Timeout => Self::Unavailable(e),
            StoreErrorKind::Corrupt | StoreErrorKind::Internal => Self::Internal(Box::new(e)),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::DuplicateEventId(_) => Self::Conflict(e.to_string()),
            IntakeError::Overloaded(_) => Self::Overloaded(e),
            IntakeError::Store(e) => e.into(),
            // The message may be stored and then delivered: a 503 would invite a retry and so a duplicate.
            IntakeError::OutcomeUnknown(_) => Self::Internal(Box::new(e)),
        }
    }
}

/// What a 503 asks a client to wait. Overload and a stalled backend both pass within moments; a second keeps
/// retries from arriving as a second burst at once, and is what the SDKs' own back-off starts near.
const RETRY_AFTER_SECONDS: &str = "1";

#[derive(Serialize)]
struct HttpErrorBody<'a> {
    code: &'a str,
    detail: String,
}

#[derive(Serialize)]
struct ValidationBody<'a> {
    detail: &'a [ValidationError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        // A refusal under overload is the admission working as meant, and there may be thousands a second.
        if status.is_server_error() && !matches!(self, Self::Overloaded(_)) {
            tracing::error!(error = %error_chain(&self), "request failed");
        }
        match &self {
            Self::Validation(errors) => (status, Json(ValidationBody { detail: errors })).into_response(),
            Self::Unavailable(_) | Self::Overloaded(_) => {
                let detail = "the service is temporarily unavailable; retry later".to_owned();
                let retry_after = [(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS))];
                (status, retry_after, Json(HttpErrorBody { code, detail })).into_response()
            }
            Self::Internal(_) => {
                let detail = "internal server error".to_owned();
                (status, Json(HttpErrorBody { code, detail })).into_response()
            }
            other => (
                status,
                Json(HttpErrorBody {
                    code,
                    detail: other.to_string(),
                }),
            )
                .into_response(),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn store(kind: StoreErrorKind) -> StoreError {
        StoreError::new(kind, "test")
    }

    /// A 503 promises nothing was stored and says when to retry; an unknown outcome must not invite a retry.
    #[test]
    fn intake_failures_map_to_honest_answers() {
        let cases = [
            (
                IntakeError::Store(store(StoreErrorKind::Unavailable)),
                503,
                Some("1"),
            ),
            (IntakeError::Store(store(StoreErrorKind::Timeout)), 503, Some("1")),
            (IntakeError::Overloaded(Duration::from_secs(10)), 503, Some("1")),
            (
                IntakeError::OutcomeUnknown(store(StoreErrorKind::Timeout)),
                500,
                None,
            ),
            (IntakeError::Store(store(StoreErrorKind::Conflict)), 409, None),
        ];
        for (error, status, retry_after) in cases {
            let what = format!("{error:?}");
            let response = ApiError::from(error).into_response();
            assert_eq!(response.status().as_u16(), status, "{what}");
            let header = response.headers().get(header::RETRY_AFTER);
            assert_eq!(header.and_then(|v| v.to_str().ok()), retry_after, "{what}");
        }
    }
}
