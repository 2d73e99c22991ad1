//! `/endpoint/{id}/recover`: sends again every message that failed to reach an endpoint in a time window,
//! after the endpoint is fixed. It runs as a background task in this process and answers at once with the
//! task's id; a process that stops mid-way leaves the rest of the window unrecovered (call again).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use xwebhook_engine::domain::{Application, Endpoint, MessageStatus, TriggerType};
use xwebhook_engine::id::BackgroundTaskId;
use xwebhook_engine::store::{
    DestinationFilter, Order, Pager, StoreResult, Stores, Task, TaskKind, TimeTypeChannel,
};

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
    let id = BackgroundTaskId::generate();
    let window = TimeTypeChannel {
        after: Some(body.since),
        before: body.until,
        ..TimeTypeChannel::default()
    };
    let task_id = id.clone();
    tokio::spawn(async move {
        match resend_failed(&state.stores, &app, &endpoint, window).await {
            Ok(count) => {
                tracing::info!(task_id = %task_id, endpoint_id = %endpoint.id, count, "endpoint recovery queued")
            }
            Err(e) => {
                tracing::warn!(task_id = %task_id, endpoint_id = %endpoint.id, error = %e, "endpoint recovery failed")
            }
        }
    });
    let out = RecoverOut {
        id: id.to_string(),
        status: "running",
        task: "endpoint.recover",
        updated_at: Utc::now(),
    };
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// Queues a fresh delivery (with the whole retry schedule) of every failed message in the window; returns how
/// many.
async fn resend_failed(
    stores: &Stores,
    app: &Application,
    endpoint: &Endpoint,
    window: TimeTypeChannel,
) -> StoreResult<usize> {
    let filter = DestinationFilter {
        common: window,
        status: Some(MessageStatus::Fail),
    };
    let (mut queued, mut pager) = (0, Pager::new(Order::Ascending));
    while let Some(query) = pager.next_query() {
        let rows = stores
            .attempts
            .list_destinations_by_endpoint(&app.org_id, &app.id, &endpoint.id, &filter, &query)
            .await?;
        let tasks: Vec<Task> = pager
            .advance(rows, &query, |d| d.msg_id.to_string())
            .into_iter()
            .map(|d| Task {
                org_id: app.org_id.clone(),
                app_id: app.id.clone(),
                msg_id: d.msg_id,
                // A recovery runs after its request has been answered: it starts its own traces.
                traceparent: None,
                kind: TaskKind::Deliver {
                    endpoint_id: endpoint.id.clone(),
                    attempt: 0,
                    trigger: TriggerType::Scheduled,
                },
            })
            .collect();
        queued += tasks.len();
        stores.queue.enqueue(tasks).await?;
    }
    Ok(queued)
}
