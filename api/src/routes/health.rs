//! `/api/v1/health`: liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;

/// Ready when the record store answers; 503 otherwise, so that a load balancer takes the process out.
// axum answers HEAD on every GET route (without the body), as the contract documents.
#[utoipa::path(method(get, head), path = "/api/v1/health", tag = "Health", responses((status = 204), (status = 503)))]
pub async fn health(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    let probe = xwebhook_engine::id::OrgId::generate();
    let query = xwebhook_engine::store::ListQuery::first(1, xwebhook_engine::store::Order::Ascending);
    match state.stores.applications.list_applications(&probe, &query).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(ApiError::Unavailable(e)),
    }
}

/// Liveness: the process answers.
#[utoipa::path(method(get, head), path = "/api/v1/health/ping", tag = "Health", responses((status = 204)))]
pub async fn ping() -> StatusCode {
    StatusCode::NO_CONTENT
}
