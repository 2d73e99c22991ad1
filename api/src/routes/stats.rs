//! `/endpoint/{id}/stats`: how many messages to an endpoint are in each delivery status.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use xwebhook_engine::store::{StatusCounts, TimeTypeChannel};

use super::lookup;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointStats {
    pub success: u64,
    pub pending: u64,
    pub sending: u64,
    pub fail: u64,
    pub canceled: u64,
}

impl From<StatusCounts> for EndpointStats {
    fn from(c: StatusCounts) -> Self {
        Self {
            success: c.success,
            pending: c.pending,
            sending: c.sending,
            fail: c.fail,
            canceled: c.canceled,
        }
    }
}

/// Counts messages created in `[since, until)` (all of them when neither is given).
#[utoipa::path(get, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats", tag = "Endpoint",
    params(("app_id" = String, Path), ("endpoint_id" = String, Path), ("since" = Option<String>, Query),
        ("until" = Option<String>, Query)),
    responses((status = 200, body = EndpointStats)))]
pub async fn stats(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<EndpointStats>> {
    let (since, until) = (q.datetime("since")?, q.datetime("until")?);
    if let (Some(since), Some(until)) = (since, until)
        && until <= since
    {
        return Err(ApiError::invalid(
            &["query", "until"],
            "must be later than `since`",
        ));
    }
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    // The window's bounds are exclusive in the filter; a message created exactly at `since` counts.
    let after = since.map(|s| s - chrono::Duration::nanoseconds(1));
    let window = TimeTypeChannel {
        after,
        before: until,
        ..TimeTypeChannel::default()
    };
    let counts = state
        .stores
        .attempts
        .destination_counts(&app.org_id, &app.id, &endpoint.id, &window)
        .await?;
    Ok(Json(counts.into()))
}
