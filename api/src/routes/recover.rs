//! `/endpoint/{id}/recover`: sends again every message that failed to reach an endpoint in a time window,
//! after the endpoint is fixed, each with a fresh delivery and the whole retry schedule. It runs as a durable
//! background task (`engine::background_tasks`), like the replays; the route answers at once with the task.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use xwebhook_engine::domain::Job;

use super::{background_task, lookup};
use crate::auth::Auth;
use crate::dto::background_task::ReplayOut;
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

#[utoipa::path(post, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/recover", tag = "Endpoint",
    request_body = RecoverIn, params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 202, body = ReplayOut)))]
pub async fn recover(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<RecoverIn>,
) -> ApiResult<(StatusCode, Json<ReplayOut>)> {
    if body.until.is_some_and(|until| until <= body.since) {
        return Err(ApiError::invalid(
            &["body", "until"],
            "must be later than `since`",
        ));
    }
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let job = Job::Recover {
        app_id: app.id,
        endpoint_id: endpoint.id,
        since: body.since,
        until: body.until,
    };
    background_task::start(&state, &auth, job).await
}
