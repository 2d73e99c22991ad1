//! `/endpoint/{id}/secret`: reading and rotating the signing secret.

use axum::Json;
use axum::extract::{Path, State};
use xwebhook_engine::domain::EndpointSecret;
use xwebhook_engine::operational::OperationalEvent;

use super::lookup;
use crate::auth::Auth;
use crate::dto::endpoint::{EndpointSecretOut, EndpointSecretRotateIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::OptionalJsonBody;
use crate::state::AppState;

/// The old secret keeps signing this long after a rotation unless the caller says otherwise.
const DEFAULT_GRACE_SECONDS: u32 = 24 * 60 * 60;
const MAX_GRACE_SECONDS: u32 = 7 * 24 * 60 * 60;

/// How long a rotated-out secret keeps signing: `gracePeriodSeconds`, a day when absent, at most a week.
pub(super) fn grace(seconds: Option<u32>) -> ApiResult<chrono::Duration> {
    let grace = seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
    if grace > MAX_GRACE_SECONDS {
        return Err(ApiError::invalid(
            &["body", "gracePeriodSeconds"],
            format!("must be at most {MAX_GRACE_SECONDS}"),
        ));
    }
    Ok(chrono::Duration::seconds(i64::from(grace)))
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret", tag = "Endpoint",
    params(("app_id" = String, Path), ("endpoint_id" = String, Path)), responses((status = 200, body = EndpointSecretOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<Json<EndpointSecretOut>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    Ok(Json(EndpointSecretOut {
        key: endpoint.current_secret().public(),
    }))
}

/// The contract answers 204 with no body, but the newest SDKs parse the new secret from the response; answering
/// 200 with it serves both (clients that expect no body ignore it).
#[utoipa::path(post, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate", tag = "Endpoint",
    request_body = EndpointSecretRotateIn, params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 200, body = EndpointSecretOut)))]
pub async fn rotate(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    OptionalJsonBody(body): OptionalJsonBody<EndpointSecretRotateIn>,
) -> ApiResult<Json<EndpointSecretOut>> {
    let grace = grace(body.grace_period_seconds)?;
    let app = lookup::application(&state, &auth, &app_id).await?;
    let mut endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let now = state.clock.now();
    let next = body.key.unwrap_or_else(EndpointSecret::generate);
    endpoint.secrets.rotate(next, now, grace);
    endpoint.updated_at = now;
    state.stores.endpoints.update_endpoint(&endpoint).await?;
    // svix-server reports a rotation as an update too.
    super::endpoint::report(&state, &endpoint, OperationalEvent::EndpointUpdated).await;
    Ok(Json(EndpointSecretOut {
        key: endpoint.current_secret().public(),
    }))
}
