//! `/api/v1/auth/app-portal-access/{app_id}`: a token that can only see one application, for a customer-facing
//! portal. Xwebhook ships no portal UI: the URL carries the token in its fragment for whichever portal the
//! operator serves.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use xwebhook_engine::store::Ref;

use super::application::create_application;
use super::lookup;
use crate::auth::Auth;
use crate::dto::application::ApplicationIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::OptionalJsonBody;
use crate::state::AppState;

/// Portal tokens live a week, as Svix's do.
const PORTAL_TOKEN_TTL_SECS: i64 = 7 * 24 * 60 * 60;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppPortalAccessIn {
    /// Creates the application when the path names a UID that does not exist yet.
    #[serde(default)]
    pub application: Option<ApplicationIn>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted for the contract and ignored: no event type is hidden behind a feature flag yet"
    )]
    pub feature_flags: Option<Vec<String>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppPortalAccessOut {
    pub token: String,
    pub url: String,
}

#[utoipa::path(post, path = "/api/v1/auth/app-portal-access/{app_id}", tag = "Authentication",
    request_body = AppPortalAccessIn, params(("app_id" = String, Path)),
    responses((status = 200, body = AppPortalAccessOut)))]
pub async fn app_portal_access(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody<AppPortalAccessIn>,
) -> ApiResult<Json<AppPortalAccessOut>> {
    let app = match (
        lookup::application(&state, &auth, &app_id).await,
        body.application,
    ) {
        (Err(ApiError::NotFound(_)), Some(app_in)) => {
            let Ref::Uid(uid) = lookup::app_ref(&app_id)? else {
                return Err(ApiError::not_found());
            };
            create_application(
                &state,
                &auth,
                ApplicationIn {
                    uid: Some(app_in.uid.unwrap_or(uid)),
                    ..app_in
                },
            )
            .await?
        }
        (found, _) => found?,
    };
    let now = state.clock.now().timestamp();
    let token = state
        .auth
        .issue_app_token(&app.org_id, &app.id, now, PORTAL_TOKEN_TTL_SECS);
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let url = format!("http://{host}/app-portal#key={token}");
    Ok(Json(AppPortalAccessOut { token, url }))
}
