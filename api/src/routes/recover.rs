//! `/endpoint/{id}/recover`: sends again every message that failed to reach an endpoint in a time window,
//! after the endpoint is fixed. The engine runs it as a background task in this process (`Intake::recover`),
//! and the route answers at once with the task's id; a process that stops mid-way leaves the rest of the window
//! unrecovered (call again).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lookup;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoverIn {
    pub since: DateTime<Utc>,
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoverOut {
    pub id: String,
    /// `running`: the task was started.
    pub status: &'static str,
    pub task: &'static str,
    pub updated_at: DateTime<Utc>,
}

#[utoipa::path(post, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/recover", tag = "Endpoint",
    request_body = RecoverIn, params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 202, body = RecoverOut)))]
pub async fn recover(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<RecoverIn>,
) -> ApiResult<(StatusCode, Json<RecoverOut>)> {
    if body.until.is_some_and(|until| until <= body.since) {
        return Err(ApiError::invalid(
            &["body", "until"],
            "must be later than `since`",
        ));
    }
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let id = state.intake.recover(endpoint, body.since, body.until);
    let out = RecoverOut {
        id: id.to_string(),
        status: "running",
        task: "endpoint.recover",
        updated_at: Utc::now(),
    };
    Ok((StatusCode::ACCEPTED, Json(out)))
}
