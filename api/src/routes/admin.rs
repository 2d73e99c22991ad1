//! `/api/v1/admin`: operator actions that are not part of the Svix contract.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use xwebhook_engine::store::QueueDepths;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::QueryParams;
use crate::state::AppState;

/// At most this many dead-lettered tasks are moved per call; call again for more.
const DEFAULT_REDRIVE: usize = 1000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RedriveOut {
    /// How many dead-lettered tasks went back to the ready queue.
    pub redriven: usize,
}

/// Sends dead-lettered delivery tasks (those that crashed or stalled their workers too often) back to the queue.
#[utoipa::path(post, path = "/api/v1/admin/redrive-dlq", tag = "Admin",
    params(("limit" = Option<usize>, Query)), responses((status = 200, body = RedriveOut)))]
pub async fn redrive_dlq(
    State(state): State<AppState>,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<Json<RedriveOut>> {
    let max = q.parse::<usize>("limit")?.unwrap_or(DEFAULT_REDRIVE);
    let redriven = state.stores.queue.redrive_dead_letters(max).await?;
    tracing::info!(redriven, by = %auth.org_id, "dead-lettered deliveries redriven");
    Ok(Json(RedriveOut { redriven }))
}

/// The delivery queue's depths: ready, in flight, scheduled retries, dead letters.
#[utoipa::path(get, path = "/api/v1/admin/queue", tag = "Admin", responses((status = 200, body = Object)))]
pub async fn queue_depths(State(state): State<AppState>) -> ApiResult<Json<QueueDepths>> {
    Ok(Json(state.stores.queue.depths().await?))
}
