//! `/api/v1/auth/app-portal-access/{app_id}`: a token that can only see one application and do what its
//! capabilities allow (see [`crate::access`]), for the sender's customer, and the portal link that carries it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use xwebhook_engine::store::{Ref, ScopeExpiry};

use super::application::create_application;
use super::event_type::check_feature_flags;
use super::lookup;
use crate::access::Capability;
use crate::auth::{Auth, PortalGrant, app_scope, session_scope};
use crate::dto::application::ApplicationIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::OptionalJsonBody;
use crate::state::AppState;

/// Portal tokens live a week unless asked otherwise, and between an hour and a week, as Svix's do.
const PORTAL_TOKEN_TTL_SECS: std::ops::RangeInclusive<i64> = 60 * 60..=7 * 24 * 60 * 60;
/// Session ids are the sender's own labels; bounded like the other ids it chooses (UIDs).
const MAX_SESSION_ID_LEN: usize = 256;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppPortalAccessIn {
    /// Creates the application when the path names a UID that does not exist yet.
    #[serde(default)]
    pub application: Option<ApplicationIn>,
    /// The token sees the event types flagged with one of these, and every unflagged one (at most 32).
    #[serde(default)]
    pub feature_flags: Option<Vec<String>>,
    /// `true`: the token may only read (`ViewBase` alone).
    #[serde(default)]
    pub read_only: Option<bool>,
    /// What the token may do; `ViewBase` is always required. Absent: every capability.
    #[serde(default)]
    pub capabilities: Option<Vec<Capability>>,
    /// How long the token is valid, in seconds: from an hour to 7 days (the default).
    #[serde(default)]
    pub expiry: Option<i64>,
    /// A label for the token, so that `…/expire-all` can expire this session's tokens alone.
    #[serde(default)]
    pub session_id: Option<String>,
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
    OptionalJsonBody(body): OptionalJsonBody<AppPortalAccessIn>,
) -> ApiResult<Json<AppPortalAccessOut>> {
    let grant = grant(&body)?;
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
        .issue_portal_token(&app.org_id, &app.id, now, &grant)
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    // The token travels in the fragment, which browsers never send, so it reaches no server's log. The base is
    // the configured public address, never the request's `Host` header, which the caller controls.
    let url = format!(
        "{}/app-portal#key={token}",
        state.config.public_url.trim_end_matches('/')
    );
    Ok(Json(AppPortalAccessOut { token, url }))
}

/// What the body asks the token to allow, checked.
fn grant(body: &AppPortalAccessIn) -> ApiResult<PortalGrant> {
    let ttl_secs = body.expiry.unwrap_or(*PORTAL_TOKEN_TTL_SECS.end());
    if !PORTAL_TOKEN_TTL_SECS.contains(&ttl_secs) {
        return Err(ApiError::invalid(
            &["body", "expiry"],
            "must be between 3600 seconds (an hour) and 604800 (7 days)",
        ));
    }
    if let Some(session) = &body.session_id
        && (session.is_empty() || session.len() > MAX_SESSION_ID_LEN || session.contains('\0'))
    {
        return Err(ApiError::invalid(
            &["body", "sessionId"],
            format!("must be 1 to {MAX_SESSION_ID_LEN} bytes, without NUL"),
        ));
    }
    Ok(PortalGrant {
        ttl_secs,
        capabilities: capabilities(body.read_only.unwrap_or(false), body.capabilities.as_deref())?,
        session_id: body.session_id.clone(),
        feature_flags: check_feature_flags(
            body.feature_flags.clone().unwrap_or_default(),
            &["body", "featureFlags"],
        )?,
    })
}

fn capabilities(read_only: bool, asked: Option<&[Capability]>) -> ApiResult<Option<Vec<Capability>>> {
    let invalid = |msg: &str| Err(ApiError::invalid(&["body", "capabilities"], msg));
    match (read_only, asked) {
        (false, None) => Ok(None),
        (true, None) => Ok(Some(vec![Capability::ViewBase])),
        (_, Some(caps)) if !caps.contains(&Capability::ViewBase) => {
            invalid("the `ViewBase` capability is always required")
        }
        (true, Some(caps)) if caps.iter().any(|c| *c != Capability::ViewBase) => {
            invalid("a read-only token (`readOnly: true`) can have no capability but `ViewBase`")
        }
        (_, Some(caps)) => Ok(Some(caps.iter().fold(Vec::new(), |mut unique, c| {
            if !unique.contains(c) {
                unique.push(*c);
            }
            unique
        }))),
    }
}

/// Svix's bound on `…/expire-all`'s grace period is not documented; a week is the longest a portal token lives.
const EXPIRE_GRACE_SECS: std::ops::RangeInclusive<i64> = 0..=7 * 24 * 60 * 60;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationTokenExpireIn {
    /// How many seconds until the old tokens are refused (default: at once).
    #[serde(default)]
    pub expiry: Option<i64>,
    /// Only expire the tokens issued with one of these session ids.
    #[serde(default)]
    pub session_ids: Option<Vec<String>>,
}

/// Expires the application's portal tokens issued until now (or those of the given sessions), on every process:
/// each presents its issue time, and is refused once its scope's expiry applies.
#[utoipa::path(post, path = "/api/v1/auth/app/{app_id}/expire-all", tag = "Authentication",
    request_body = ApplicationTokenExpireIn, params(("app_id" = String, Path)),
    responses((status = 204, description = "no content")))]
pub async fn expire_all(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<ApplicationTokenExpireIn>,
) -> ApiResult<StatusCode> {
    let grace = body.expiry.unwrap_or(0);
    if !EXPIRE_GRACE_SECS.contains(&grace) {
        return Err(ApiError::invalid(
            &["body", "expiry"],
            "must be between 0 and 604800 seconds (7 days)",
        ));
    }
    let app = lookup::application(&state, &auth, &app_id).await?;
    let now = state.clock.now();
    let expiry = ScopeExpiry {
        issued_until: now,
        from: now + chrono::Duration::seconds(grace),
    };
    // Every token it refuses has expired by then.
    let until = expiry.from + chrono::Duration::seconds(*PORTAL_TOKEN_TTL_SECS.end());
    let scopes = match body.session_ids {
        None => vec![app_scope(&app.id)],
        Some(ids) => ids.iter().map(|sid| session_scope(&app.id, sid)).collect(),
    };
    for scope in scopes {
        state
            .stores
            .revocations
            .expire_scope(&scope, expiry, until)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
