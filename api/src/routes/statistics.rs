//! `/api/v1/stats/usage/…`: statistics across the organization's applications, gathered by background tasks
//! (`engine::background_tasks`) and read with `background_task.get`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use xwebhook_engine::domain::Job;

use super::{background_task, lookup};
use crate::auth::Auth;
use crate::dto::background_task::ReplayOut;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;

/// The most applications one request may name.
const MAX_APP_IDS: usize = 250;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppUsageStatsIn {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Application ids or UIDs (at most 250); none: every application of the organization.
    #[serde(default)]
    pub app_ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppUsageStatsOut {
    pub id: String,
    pub status: String,
    pub task: String,
    pub updated_at: DateTime<Utc>,
    /// The ids or UIDs given that name no application; the others are counted.
    pub unresolved_app_ids: Vec<String>,
}

/// Counts, for each application, the deliveries (message × endpoint) of its messages created in
/// `[since, until)`; the task's `data.appStats` lists them.
#[utoipa::path(post, path = "/api/v1/stats/usage/app", tag = "Statistics", request_body = AppUsageStatsIn,
    responses((status = 202, body = AppUsageStatsOut)))]
pub async fn aggregate_app_stats(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<AppUsageStatsIn>,
) -> ApiResult<(StatusCode, Json<AppUsageStatsOut>)> {
    if body.until <= body.since {
        return Err(ApiError::invalid(
            &["body", "until"],
            "must be later than `since`",
        ));
    }
    let (mut app_ids, mut unresolved) = (None, Vec::new());
    if let Some(given) = body.app_ids {
        if given.len() > MAX_APP_IDS {
            return Err(ApiError::invalid(
                &["body", "appIds"],
                format!("at most {MAX_APP_IDS}"),
            ));
        }
        let mut found = Vec::new();
        for id in given {
            match lookup::application(&state, &auth, &id).await {
                Ok(app) => found.push(app.id),
                Err(ApiError::NotFound(_) | ApiError::Validation(_)) => unresolved.push(id),
                Err(e) => return Err(e),
            }
        }
        if found.is_empty() {
            return Err(ApiError::invalid(
                &["body", "appIds"],
                "none of these names an application",
            ));
        }
        app_ids = Some(found);
    }
    let job = Job::AppStats {
        since: body.since,
        until: body.until,
        app_ids,
    };
    let task = state
        .intake
        .start_task(auth.org_id.clone(), job, state.clock.now())
        .await?;
    let out = AppUsageStatsOut {
        id: task.id.to_string(),
        status: task.status.as_str().to_owned(),
        task: task.job.task_type().to_owned(),
        updated_at: task.updated_at,
        unresolved_app_ids: unresolved,
    };
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// Lists, for each application, the event types its endpoints subscribe to by name and whether one of them
/// takes every event type; the task's `data.event_types` holds them.
#[utoipa::path(put, path = "/api/v1/stats/usage/event-types", tag = "Statistics",
    responses((status = 202, body = ReplayOut)))]
pub async fn aggregate_event_types(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<(StatusCode, Json<ReplayOut>)> {
    background_task::start(&state, &auth, Job::EventTypeAggregate).await
}
