//! `/api/v1/app`: applications.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use xwebhook_engine::domain::{Application, Uid};
use xwebhook_engine::id::AppId;
use xwebhook_engine::store::{Order, Page, Ref};

use super::lookup;
use crate::auth::Auth;
use crate::dto::application::{ApplicationIn, ApplicationOut, ApplicationPatch};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::pagination::{ListResponse, list_query};
use crate::state::AppState;

/// The SDK's filters of the application list, not implemented: the list is every application.
const EXCLUDE_FILTERS: [&str; 3] = [
    "exclude_apps_with_no_endpoints",
    "exclude_apps_with_disabled_endpoints",
    "exclude_apps_with_svix_play_endpoints",
];

#[utoipa::path(get, path = "/api/v1/app", tag = "Application",
    params(("limit" = Option<u64>, Query, format = "uint64"), ("iterator" = Option<String>, Query), ("order" = Option<String>, Query),
        ("exclude_apps_with_no_endpoints" = Option<bool>, Query, description = "Not supported by Xwebhook when true: leave it out or send false"),
        ("exclude_apps_with_disabled_endpoints" = Option<bool>, Query, description = "Not supported by Xwebhook when true: leave it out or send false"),
        ("exclude_apps_with_svix_play_endpoints" = Option<bool>, Query, description = "Not supported by Xwebhook when true: leave it out or send false (Xwebhook has no Svix Play endpoints, so false is what it does)")),
    responses((status = 200, body = ListResponse<ApplicationOut>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<ApplicationOut>>> {
    for exclude in EXCLUDE_FILTERS {
        q.not_supported_if_true(exclude)?;
    }
    let query = list_query(&q, Order::Ascending)?;
    let rows = state
        .stores
        .applications
        .list_applications(&auth.org_id, &query)
        .await?;
    let page = Page::from_walk(rows, &query, |a| a.id.to_string());
    Ok(Json(page.map(ApplicationOut::from).into()))
}

#[utoipa::path(post, path = "/api/v1/app", tag = "Application", request_body = ApplicationIn,
    params(("get_if_exists" = Option<bool>, Query)),
    responses((status = 201, body = ApplicationOut), (status = 200, body = ApplicationOut)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    q: QueryParams,
    JsonBody(body): JsonBody<ApplicationIn>,
) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    let get_if_exists = q.bool("get_if_exists")?.unwrap_or(false);
    if let (true, Some(uid)) = (get_if_exists, &body.uid) {
        let existing = state
            .stores
            .applications
            .get_application(&auth.org_id, &Ref::Uid(uid.clone()))
            .await?;
        if let Some(app) = existing {
            return Ok((StatusCode::OK, Json(app.into())));
        }
    }
    let app = create_application(&state, &auth, body).await?;
    Ok((StatusCode::CREATED, Json(app.into())))
}

/// Validates and stores a new application; also used by message creation's inline `application`.
pub async fn create_application(
    state: &AppState,
    auth: &Auth,
    body: ApplicationIn,
) -> ApiResult<Application> {
    check_uid(body.uid.as_ref())?;
    let now = state.clock.now();
    let app = Application {
        id: AppId::generate(),
        org_id: auth.org_id.clone(),
        uid: body.uid,
        name: body.name.into(),
        // An application-wide rate is refused at the edge (`NotSupported`) until it is enforced.
        rate_limit: None,
        metadata: body.metadata.map(Into::into).unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    state.stores.applications.create_application(&app).await?;
    Ok(app)
}

fn check_uid(uid: Option<&Uid>) -> ApiResult<()> {
    if let Some(uid) = uid {
        Uid::parse_for(uid.to_string(), AppId::PREFIX)
            .map_err(|e| ApiError::invalid(&["body", "uid"], e.to_string()))?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}", tag = "Application",
    params(("app_id" = String, Path)), responses((status = 200, body = ApplicationOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
) -> ApiResult<Json<ApplicationOut>> {
    Ok(Json(lookup::application(&state, &auth, &app_id).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/app/{app_id}", tag = "Application", request_body = ApplicationIn,
    params(("app_id" = String, Path)),
    responses((status = 200, body = ApplicationOut), (status = 201, body = ApplicationOut)))]
pub async fn upsert(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    JsonBody(body): JsonBody<ApplicationIn>,
) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    match lookup::application(&state, &auth, &app_id).await {
        Ok(mut app) => {
            check_uid(body.uid.as_ref())?;
            app.name = body.name.into();
            app.uid = body.uid.or(app.uid);
            app.metadata = body.metadata.map(Into::into).unwrap_or_default();
            app.updated_at = state.clock.now();
            state.stores.applications.update_application(&app).await?;
            Ok((StatusCode::OK, Json(app.into())))
        }
        Err(ApiError::NotFound(_)) => {
            // Only a UID can name an application that does not exist yet; ids are ours to give.
            let Ref::Uid(uid) = lookup::app_ref(&app_id)? else {
                return Err(ApiError::not_found());
            };
            let body = ApplicationIn {
                uid: Some(body.uid.unwrap_or(uid)),
                ..body
            };
            let app = create_application(&state, &auth, body).await?;
            Ok((StatusCode::CREATED, Json(app.into())))
        }
        Err(e) => Err(e),
    }
}

#[utoipa::path(patch, path = "/api/v1/app/{app_id}", tag = "Application", request_body = ApplicationPatch,
    params(("app_id" = String, Path)), responses((status = 200, body = ApplicationOut)))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    JsonBody(body): JsonBody<ApplicationPatch>,
) -> ApiResult<Json<ApplicationOut>> {
    let mut app = lookup::application(&state, &auth, &app_id).await?;
    if let Some(name) = body.name {
        app.name = name.into();
    }
    if let Some(uid) = body.uid {
        app.uid = uid;
    }
    if let Some(metadata) = body.metadata {
        app.metadata = metadata.into();
    }
    check_uid(app.uid.as_ref())?;
    app.updated_at = state.clock.now();
    state.stores.applications.update_application(&app).await?;
    Ok(Json(app.into()))
}

#[utoipa::path(delete, path = "/api/v1/app/{app_id}", tag = "Application",
    params(("app_id" = String, Path)), responses((status = 204)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
) -> ApiResult<StatusCode> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    state
        .stores
        .applications
        .delete_application(&auth.org_id, &app.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
