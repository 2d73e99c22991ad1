//! `/api/v1/auth/logout`: revokes the presenting app token until it expires. Only app tokens (those issued by
//! `/auth/app-portal-access`) can be logged out; organization tokens are the operator's own credentials, and a
//! token without an id and an expiry has nothing to name it by.

use axum::extract::State;
use axum::http::StatusCode;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "Authentication",
    description = "Logout an app token.\n\nTrying to log out other tokens will fail.",
    responses((status = 204, description = "no content")))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    if auth.app_id.is_none() {
        return Err(ApiError::Forbidden(
            "only an app token can be logged out, not an organization token".into(),
        ));
    }
    let token = auth.token.ok_or_else(|| {
        ApiError::Forbidden("this app token has no id (`jti`) or expiry, so it cannot be logged out".into())
    })?;
    state
        .stores
        .revocations
        .revoke(&token.jti, token.expires_at)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
