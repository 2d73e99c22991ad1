//! `/api/v1/app`: applications.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use xwebhook_engine::domain::{Application, Endpoint, Uid};
use xwebhook_engine::id::{AppId, OrgId};
use xwebhook_engine::store::{Cursor, ListQuery, MAX_LIMIT, Order, Page, Ref};

use super::{lookup, rate};
use crate::auth::Auth;
use crate::dto::application::{ApplicationIn, ApplicationOut, ApplicationPatch};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::pagination::{ListResponse, list_query};
use crate::state::AppState;

/// The most applications one filtered listing reads before it answers with what it found (see [`filtered`]).
const FILTERED_SCAN_MAX: usize = 10 * MAX_LIMIT;

/// Which applications a listing leaves out, by their endpoints.
#[derive(Debug, Clone, Copy, Default)]
struct Exclude {
    no_endpoints: bool,
    only_disabled_endpoints: bool,
}

impl Exclude {
    fn from_query(q: &QueryParams) -> ApiResult<Self> {
        Ok(Self {
            no_endpoints: q
                .parse::<bool>("exclude_apps_with_no_endpoints")?
                .unwrap_or(false),
            only_disabled_endpoints: q
                .parse::<bool>("exclude_apps_with_disabled_endpoints")?
                .unwrap_or(false),
        })
    }

    fn any(self) -> bool {
        self.no_endpoints || self.only_disabled_endpoints
    }

    fn keeps(self, endpoints: &[Endpoint]) -> bool {
        match endpoints {
            [] => !self.no_endpoints,
            _ => !(self.only_disabled_endpoints && endpoints.iter().all(|e| e.disabled)),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/app", tag = "Application",
    params(("limit" = Option<u64>, Query, format = "uint64"), ("iterator" = Option<String>, Query), ("order" = Option<String>, Query),
        ("exclude_apps_with_no_endpoints" = Option<bool>, Query, description = "Leave out applications that have no endpoints. A filtered page may hold fewer than `limit` applications when more remain (`done` says which): one request reads at most 2 500 applications."),
        ("exclude_apps_with_disabled_endpoints" = Option<bool>, Query, description = "Leave out applications whose endpoints are all disabled (applications without endpoints stay unless `exclude_apps_with_no_endpoints`)."),
        ("exclude_apps_with_svix_play_endpoints" = Option<bool>, Query, description = "Accepted and changes nothing: Xwebhook has no Svix Play endpoints, so no application has only those.")),
    responses((status = 200, body = ListResponse<ApplicationOut>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<ApplicationOut>>> {
    let exclude = Exclude::from_query(&q)?;
    q.parse::<bool>("exclude_apps_with_svix_play_endpoints")?;
    let query = list_query(&q, Order::Ascending)?;
    let page = if exclude.any() {
        filtered(&state, &auth.org_id, &query, exclude).await?
    } else {
        let rows = state
            .stores
            .applications
            .list_applications(&auth.org_id, &query)
            .await?;
        Page::from_walk(rows, &query, |a| a.id.to_string())
    };
    Ok(Json(page.map(ApplicationOut::from).into()))
}

/// A page of the applications `exclude` keeps: the listing is walked from the query's cursor, reading each
/// application's endpoints, until a page and one more are kept or [`FILTERED_SCAN_MAX`] were read. In the latter
/// case the page may be short (even empty) and is not done; its iterator resumes after the last one read, so a
/// client walking to `done` sees every kept application once.
async fn filtered(
    state: &AppState,
    org: &OrgId,
    query: &ListQuery,
    exclude: Exclude,
) -> ApiResult<Page<Application>> {
    let (mut kept, mut scanned) = (Vec::new(), 0);
    let mut walk = query.clone();
    let last_read = loop {
        let rows = state.stores.applications.list_applications(org, &walk).await?;
        let exhausted = rows.len() < walk.walk().take;
        let Some(last) = rows.last().map(|a| a.id.to_string()) else {
            break None;
        };
        for app in rows {
            scanned += 1;
            if exclude.keeps(&state.stores.endpoints.endpoints_of_app(org, &app.id).await?) {
                kept.push(app);
            }
            if kept.len() > query.limit {
                break;
            }
        }
        if exhausted || kept.len() > query.limit {
            break None;
        }
        if scanned >= FILTERED_SCAN_MAX {
            break Some(last);
        }
        let backward = walk.cursor.as_ref().is_some_and(|c| c.backward);
        walk.cursor = Some(Cursor { key: last, backward });
    };
    let mut page = Page::from_walk(kept, query, |a| a.id.to_string());
    if let Some(last) = last_read {
        page.done = false;
        if query.cursor.as_ref().is_some_and(|c| c.backward) {
            page.prev_iterator = Some(format!("-{last}"));
        } else {
            page.iterator = Some(last);
        }
    }
    Ok(page)
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
    let rate_limit = rate::chosen(body.throttle_rate, body.rate_limit)?;
    let now = state.clock.now();
    let app = Application {
        id: AppId::generate(),
        org_id: auth.org_id.clone(),
        uid: body.uid,
        name: body.name.into(),
        rate_limit,
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
            app.rate_limit = rate::chosen(body.throttle_rate, body.rate_limit)?;
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
    if let Some(rate) = rate::patched(body.throttle_rate, body.rate_limit)? {
        app.rate_limit = rate;
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
    // Its destinations first: they live beside the queue, where the application's deletion does not reach,
    // and a destination left behind would still be driven.
    for sink in state.stores.sinks.sinks_of_app(&app.org_id, &app.id).await? {
        state
            .stores
            .sinks
            .delete_sink(&app.org_id, &app.id, &sink.id)
            .await?;
    }
    state
        .stores
        .applications
        .delete_application(&auth.org_id, &app.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
