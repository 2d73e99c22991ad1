//! Forgetting content on request: a message's payload, several messages' at once, all of an application's (a
//! background task), an attempt's recorded response. The records stay, so the delivery history still reads;
//! only the content is gone.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use xwebhook_engine::domain::Job;
use xwebhook_engine::id::AttemptId;

use super::{background_task, lookup, message};
use crate::auth::Auth;
use crate::dto::background_task::ReplayOut;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, id};
use crate::state::AppState;

#[utoipa::path(delete, path = "/api/v1/app/{app_id}/msg/{msg_id}/content", tag = "Message",
    params(("app_id" = String, Path), ("msg_id" = String, Path)), responses((status = 204)))]
pub async fn message_content(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, msg_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (app, msg) = message::load(&state, &auth, &app_id, &msg_id).await?;
    state
        .stores
        .messages
        .expunge_message_content(&app.org_id, &app.id, &msg.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content", tag = "Message Attempt",
    params(("app_id" = String, Path), ("msg_id" = String, Path), ("attempt_id" = String, Path)),
    responses((status = 204)))]
pub async fn attempt_content(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, msg_id, attempt_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (app, msg) = message::load(&state, &auth, &app_id, &msg_id).await?;
    let attempt_id = id(&attempt_id, "attempt_id", AttemptId::parse)?;
    state
        .stores
        .attempts
        .expunge_attempt_content(&app.org_id, &app.id, &msg.id, &attempt_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The most messages one bulk expunge names: it answers for each, within one request.
const MAX_BULK_EXPUNGE: usize = 250;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkExpungeContentsIn {
    /// Message ids or `eventId`s, at most 250.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkExpungeContentsOut {
    /// By each id as given: `expunged`, or `not-found`.
    pub results: BTreeMap<String, &'static str>,
}

/// Forgets the payloads of the given messages, each as `DELETE …/msg/{id}/content` does; an id that names no
/// message of the application is reported `not-found`.
#[utoipa::path(post, path = "/api/v1/app/{app_id}/msg/bulk-expunge", tag = "Message",
    request_body = BulkExpungeContentsIn, params(("app_id" = String, Path)),
    responses((status = 200, body = BulkExpungeContentsOut)))]
pub async fn bulk_message_content(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    JsonBody(body): JsonBody<BulkExpungeContentsIn>,
) -> ApiResult<Json<BulkExpungeContentsOut>> {
    let ids = body.ids.unwrap_or_default();
    if ids.len() > MAX_BULK_EXPUNGE {
        return Err(ApiError::invalid(
            &["body", "ids"],
            format!("at most {MAX_BULK_EXPUNGE} ids"),
        ));
    }
    let app = lookup::application(&state, &auth, &app_id).await?;
    let mut results = BTreeMap::new();
    for given in ids {
        let outcome = match lookup::message(&state, &app, &given).await {
            Ok(msg) => {
                let messages = &state.stores.messages;
                messages
                    .expunge_message_content(&app.org_id, &app.id, &msg.id)
                    .await?;
                "expunged"
            }
            Err(ApiError::NotFound(_) | ApiError::Validation(_)) => "not-found",
            Err(e) => return Err(e),
        };
        results.insert(given, outcome);
    }
    Ok(Json(BulkExpungeContentsOut { results }))
}

/// Forgets every payload of the application's messages, in a background task (`application.purge_content`,
/// whose `data.messagesPurged` counts them).
#[utoipa::path(post, path = "/api/v1/app/{app_id}/msg/expunge-all-contents", tag = "Message",
    params(("app_id" = String, Path)), responses((status = 202, body = ReplayOut)))]
pub async fn all_message_contents(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
) -> ApiResult<(StatusCode, Json<ReplayOut>)> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let job = Job::PurgeContent { app_id: app.id };
    background_task::start(&state, &auth, job).await
}
