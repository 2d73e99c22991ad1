//! Background tasks: starting replays (`…/endpoint/{id}/replay-missing`, `…/bulk-replay`), which a worker
//! process runs (`engine::background_tasks`), and reading tasks (`/api/v1/background-task`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use xwebhook_engine::domain::{BackgroundTask, Job, MessageStatus, ReplayFilter};
use xwebhook_engine::id::BackgroundTaskId;
use xwebhook_engine::store::{Order, Page};

use super::lookup;
use super::message::valid_tag;
use crate::auth::Auth;
use crate::dto::background_task::{BackgroundTaskOut, BulkReplayIn, ReplayIn, ReplayOut};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams, id};
use crate::pagination::{ListResponse, list_query};
use crate::state::AppState;

fn check_window(since: DateTime<Utc>, until: Option<DateTime<Utc>>) -> ApiResult<()> {
    match until {
        Some(until) if until <= since => Err(ApiError::invalid(
            &["body", "until"],
            "must be later than `since`",
        )),
        _ => Ok(()),
    }
}

/// Starts `job` as the caller's organization's background task; answers 202 with the task to poll.
pub(crate) async fn start(
    state: &AppState,
    auth: &Auth,
    job: Job,
) -> ApiResult<(StatusCode, Json<ReplayOut>)> {
    let task = state
        .intake
        .start_task(auth.org_id.clone(), job, state.clock.now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(task.into())))
}

/// Sends the endpoint, once each, the messages created since `since` (and before `until`) that it subscribes
/// to and was never sent, as manual attempts, in a background task.
#[utoipa::path(post, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/replay-missing", tag = "Endpoint",
    request_body = ReplayIn, params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 202, body = ReplayOut)))]
pub async fn replay_missing(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ReplayIn>,
) -> ApiResult<(StatusCode, Json<ReplayOut>)> {
    check_window(body.since, body.until)?;
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let job = Job::ReplayMissing {
        app_id: app.id,
        endpoint_id: endpoint.id,
        since: body.since,
        until: body.until,
    };
    start(&state, &auth, job).await
}

/// Sends the endpoint again, once each, the messages created since `since` that it was sent (successfully or
/// not) and that the filters keep, as manual attempts, in a background task.
#[utoipa::path(post, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/bulk-replay", tag = "Endpoint",
    request_body = BulkReplayIn, params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 202, body = ReplayOut)))]
pub async fn bulk_replay(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<BulkReplayIn>,
) -> ApiResult<(StatusCode, Json<ReplayOut>)> {
    check_window(body.since, body.until)?;
    let status = body
        .status
        .map(|code| {
            MessageStatus::from_code(code).ok_or_else(|| {
                ApiError::invalid(&["body", "status"], format!("`{code}` is not a status (0 to 4)"))
            })
        })
        .transpose()?;
    if let Some(tag) = body.tag.as_deref().filter(|t| !valid_tag(t)) {
        return Err(ApiError::invalid(
            &["body", "tag"],
            format!("`{tag}` is not a tag"),
        ));
    }
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let filter = ReplayFilter {
        since: Some(body.since),
        until: body.until,
        event_types: body.event_types,
        channel: body.channel,
        tag: body.tag,
        status,
    };
    let job = Job::BulkReplay {
        app_id: app.id,
        endpoint_id: endpoint.id,
        filter,
    };
    start(&state, &auth, job).await
}

/// The organization's tasks, newest first; `status` and `task` filter a page (which may then hold fewer than
/// `limit`; `done` still says whether more follow).
#[utoipa::path(get, path = "/api/v1/background-task", tag = "Background Tasks",
    params(("status" = Option<String>, Query), ("task" = Option<String>, Query), ("limit" = Option<u64>, Query, format = "uint64"),
        ("iterator" = Option<String>, Query), ("order" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<BackgroundTaskOut>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<BackgroundTaskOut>>> {
    let query = list_query(&q, Order::Descending)?;
    let status = one_of(&q, "status", &["running", "finished", "failed"])?;
    let kind = one_of(&q, "task", &TASK_TYPES)?;
    let rows = state
        .stores
        .background_tasks
        .list_tasks(&auth.org_id, &query)
        .await?;
    let mut page = Page::from_walk(rows, &query, |t| t.id.to_string());
    page.items.retain(|t: &BackgroundTask| {
        status.as_deref().is_none_or(|s| s == t.status.as_str())
            && kind.as_deref().is_none_or(|k| k == t.job.task_type())
    });
    Ok(Json(page.map(BackgroundTaskOut::from).into()))
}

/// The SDK's `BackgroundTaskType`s, those Xwebhook runs and those it never does (which list nothing).
const TASK_TYPES: [&str; 8] = [
    "endpoint.replay",
    "endpoint.recover",
    "application.stats",
    "message.broadcast",
    "sdk.generate",
    "event-type.aggregate",
    "application.purge_content",
    "endpoint.bulk-replay",
];

/// The query parameter `name`, which must be one of `allowed` when given.
fn one_of(q: &QueryParams, name: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
    match q.get(name) {
        Some(value) if !allowed.contains(&value) => Err(ApiError::invalid(
            &["query", name],
            format!("`{value}` is not one of {}", allowed.join(", ")),
        )),
        value => Ok(value.map(str::to_owned)),
    }
}

#[utoipa::path(get, path = "/api/v1/background-task/{task_id}", tag = "Background Tasks",
    params(("task_id" = String, Path)), responses((status = 200, body = BackgroundTaskOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(task_id): Path<String>,
) -> ApiResult<Json<BackgroundTaskOut>> {
    let task_id = id(&task_id, "task_id", BackgroundTaskId::parse)?;
    let task = state
        .stores
        .background_tasks
        .get_task(&auth.org_id, &task_id)
        .await?;
    task.map(|t| Json(t.into())).ok_or_else(ApiError::not_found)
}
