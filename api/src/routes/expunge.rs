//! Forgetting content on request: a message's payload, an attempt's recorded response. The records stay, so
//! the delivery history still reads; only the content is gone.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use xwebhook_engine::id::AttemptId;

use super::message;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::id;
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
