//! Resolving path segments to the caller's objects. Anything outside the caller's reach is "not found", never
//! "forbidden", so that nobody learns of another tenant's objects.

use xwebhook_engine::domain::{Application, Endpoint, Message};
use xwebhook_engine::id::{AppId, EndpointId, MessageId, SinkId};
use xwebhook_engine::store::{Ref, SinkWithState};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::id_or_uid;
use crate::state::AppState;

pub async fn application(state: &AppState, auth: &Auth, segment: &str) -> ApiResult<Application> {
    let key = id_or_uid(segment, "app_id", AppId::parse)?;
    let app = state
        .stores
        .applications
        .get_application(&auth.org_id, &key)
        .await?;
    app.filter(|a| auth.can_see(&a.id))
        .ok_or_else(ApiError::not_found)
}

pub async fn endpoint(state: &AppState, app: &Application, segment: &str) -> ApiResult<Endpoint> {
    let key = id_or_uid(segment, "endpoint_id", EndpointId::parse)?;
    let endpoint = state
        .stores
        .endpoints
        .get_endpoint(&app.org_id, &app.id, &key)
        .await?;
    endpoint.ok_or_else(ApiError::not_found)
}

/// A destination (sink) of `app`, with where its deliveries stand.
pub async fn sink(state: &AppState, app: &Application, segment: &str) -> ApiResult<SinkWithState> {
    let found = state
        .stores
        .sinks
        .get_sink(&app.org_id, &app.id, &sink_ref(segment)?)
        .await?;
    found.ok_or_else(ApiError::not_found)
}

pub fn sink_ref(segment: &str) -> ApiResult<Ref<SinkId>> {
    id_or_uid(segment, "destination_id", SinkId::parse)
}

/// A message of `app`, addressed by its id or by its `eventId`.
pub async fn message(state: &AppState, app: &Application, segment: &str) -> ApiResult<Message> {
    let key = id_or_uid(segment, "msg_id", MessageId::parse)?;
    let message = state
        .stores
        .messages
        .find_message(&app.org_id, &app.id, &key)
        .await?;
    message.ok_or_else(ApiError::not_found)
}

/// An id or UID in a path, for upserts that may create the object under that UID.
pub fn app_ref(segment: &str) -> ApiResult<Ref<AppId>> {
    id_or_uid(segment, "app_id", AppId::parse)
}

pub fn endpoint_ref(segment: &str) -> ApiResult<Ref<EndpointId>> {
    id_or_uid(segment, "endpoint_id", EndpointId::parse)
}
