//! `/api/v1/app/{app_id}/endpoint`: endpoints, their secrets and their custom headers.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use xwebhook_engine::domain::{
    Application, Channel, Endpoint, EndpointSecret, EventTypeName, SecretSet, Uid,
};
use xwebhook_engine::id::{EndpointId, OrgId};
use xwebhook_engine::operational::{EndpointRef, OperationalEvent};
use xwebhook_engine::store::{Order, Page, Ref};

use super::{headers, lookup, rate};
use crate::auth::Auth;
use crate::dto::endpoint::{EndpointIn, EndpointOut, EndpointPatch};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::pagination::{ListResponse, list_query};
use crate::state::AppState;

const MAX_CHANNELS: usize = 10;

#[utoipa::path(get, path = "/api/v1/app/{app_id}/endpoint", tag = "Endpoint",
    params(("app_id" = String, Path), ("limit" = Option<u64>, Query, format = "uint64"), ("iterator" = Option<String>, Query),
        ("order" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<EndpointOut>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<EndpointOut>>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let query = list_query(&q, Order::Descending)?;
    let rows = state
        .stores
        .endpoints
        .list_endpoints(&app.org_id, &app.id, &query)
        .await?;
    let page = Page::from_walk(rows, &query, |e| e.id.to_string());
    Ok(Json(page.map(EndpointOut::from).into()))
}

#[utoipa::path(post, path = "/api/v1/app/{app_id}/endpoint", tag = "Endpoint", request_body = EndpointIn,
    params(("app_id" = String, Path)), responses((status = 201, body = EndpointOut)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    JsonBody(body): JsonBody<EndpointIn>,
) -> ApiResult<(StatusCode, Json<EndpointOut>)> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = new_endpoint(&state, &auth, &app, body, None).await?;
    state.stores.endpoints.create_endpoint(&endpoint).await?;
    report(&state, &endpoint, OperationalEvent::EndpointCreated).await;
    Ok((StatusCode::CREATED, Json(endpoint.into())))
}

async fn new_endpoint(
    state: &AppState,
    auth: &Auth,
    app: &Application,
    body: EndpointIn,
    uid: Option<Uid>,
) -> ApiResult<Endpoint> {
    let now = state.clock.now();
    let mut endpoint = Endpoint {
        id: EndpointId::generate(),
        org_id: app.org_id.clone(),
        app_id: app.id.clone(),
        uid: body.uid.clone().or(uid),
        url: body.url.clone(),
        description: String::new(),
        disabled: false,
        event_types: None,
        channels: None,
        rate_limit: None,
        metadata: BTreeMap::new(),
        secrets: SecretSet::new(body.secret.clone().unwrap_or_else(EndpointSecret::generate)),
        headers: headers::validated(body.headers.clone().unwrap_or_default())?,
        created_at: now,
        updated_at: now,
    };
    apply_in(state, auth, &mut endpoint, body).await?;
    Ok(endpoint)
}

/// Applies a full (PUT/POST) body to an endpoint.
async fn apply_in(state: &AppState, auth: &Auth, endpoint: &mut Endpoint, body: EndpointIn) -> ApiResult<()> {
    let field = types_field(body.filter_types.is_some());
    let event_types = body.filter_types.or(body.event_types);
    check_event_types(state, auth, &endpoint.org_id, event_types.as_ref(), field).await?;
    check_channels(body.channels.as_ref())?;
    let rate_limit = rate::chosen(body.throttle_rate, body.rate_limit)?;
    endpoint.uid = body.uid.or(endpoint.uid.take());
    check_uid(endpoint.uid.as_ref())?;
    endpoint.url = body.url;
    endpoint.description = body.description.map(Into::into).unwrap_or_default();
    endpoint.disabled = body.disabled.unwrap_or(false);
    endpoint.event_types = event_types;
    endpoint.channels = body.channels;
    endpoint.rate_limit = rate_limit;
    endpoint.metadata = body.metadata.map(Into::into).unwrap_or_default();
    Ok(())
}

/// Each named event type must exist, not archived, and be visible to the caller (a portal token does not learn
/// of event types flagged for others).
/// Which of the two names of the subscribed event types a body used: the contract's `filterTypes` (which wins
/// when both are sent) or the SDK's `eventTypes`, so that an error names the field the caller sent.
fn types_field(filter_types_sent: bool) -> &'static str {
    match filter_types_sent {
        true => "filterTypes",
        false => "eventTypes",
    }
}

pub(super) async fn check_event_types(
    state: &AppState,
    auth: &Auth,
    org: &OrgId,
    types: Option<&BTreeSet<EventTypeName>>,
    field: &str,
) -> ApiResult<()> {
    let Some(types) = types else { return Ok(()) };
    if types.is_empty() {
        return Err(ApiError::invalid(
            &["body", field],
            "must list at least one event type, or be null for all",
        ));
    }
    for name in types {
        let found = state.stores.event_types.get_event_type(org, name).await?;
        if found.is_none_or(|t| t.archived || !auth.can_see_event_type(&t)) {
            return Err(ApiError::invalid(
                &["body", field],
                format!("event type `{name}` does not exist"),
            ));
        }
    }
    Ok(())
}

pub(super) fn check_channels(channels: Option<&BTreeSet<Channel>>) -> ApiResult<()> {
    match channels {
        Some(c) if c.is_empty() => Err(ApiError::invalid(
            &["body", "channels"],
            "must list at least one channel, or be null for all",
        )),
        Some(c) if c.len() > MAX_CHANNELS => Err(ApiError::invalid(
            &["body", "channels"],
            format!("at most {MAX_CHANNELS} channels"),
        )),
        _ => Ok(()),
    }
}

fn check_uid(uid: Option<&Uid>) -> ApiResult<()> {
    if let Some(uid) = uid {
        Uid::parse_for(uid.to_string(), EndpointId::PREFIX)
            .map_err(|e| ApiError::invalid(&["body", "uid"], e.to_string()))?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}", tag = "Endpoint",
    params(("app_id" = String, Path), ("endpoint_id" = String, Path)), responses((status = 200, body = EndpointOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<Json<EndpointOut>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    Ok(Json(lookup::endpoint(&state, &app, &endpoint_id).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}", tag = "Endpoint", request_body = EndpointIn,
    params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 200, body = EndpointOut), (status = 201, body = EndpointOut)))]
pub async fn upsert(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EndpointIn>,
) -> ApiResult<(StatusCode, Json<EndpointOut>)> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    match lookup::endpoint(&state, &app, &endpoint_id).await {
        Ok(mut endpoint) => {
            apply_in(&state, &auth, &mut endpoint, body).await?;
            endpoint.updated_at = state.clock.now();
            state.stores.endpoints.update_endpoint(&endpoint).await?;
            report(&state, &endpoint, OperationalEvent::EndpointUpdated).await;
            Ok((StatusCode::OK, Json(endpoint.into())))
        }
        Err(ApiError::NotFound(_)) => {
            let Ref::Uid(uid) = lookup::endpoint_ref(&endpoint_id)? else {
                return Err(ApiError::not_found());
            };
            let endpoint = new_endpoint(&state, &auth, &app, body, Some(uid)).await?;
            state.stores.endpoints.create_endpoint(&endpoint).await?;
            report(&state, &endpoint, OperationalEvent::EndpointCreated).await;
            Ok((StatusCode::CREATED, Json(endpoint.into())))
        }
        Err(e) => Err(e),
    }
}

#[utoipa::path(patch, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}", tag = "Endpoint",
    request_body = EndpointPatch, params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 200, body = EndpointOut)))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EndpointPatch>,
) -> ApiResult<Json<EndpointOut>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let mut endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let field = types_field(body.filter_types.is_some());
    if let Some(types) = body.filter_types.or(body.event_types) {
        check_event_types(&state, &auth, &endpoint.org_id, types.as_ref(), field).await?;
        endpoint.event_types = types;
    }
    if let Some(channels) = body.channels {
        check_channels(channels.as_ref())?;
        endpoint.channels = channels;
    }
    if let Some(rate) = rate::patched(body.throttle_rate, body.rate_limit)? {
        endpoint.rate_limit = rate;
    }
    if let Some(uid) = body.uid {
        check_uid(uid.as_ref())?;
        endpoint.uid = uid;
    }
    endpoint.url = body.url.unwrap_or(endpoint.url);
    if let Some(description) = body.description {
        endpoint.description = description.into();
    }
    endpoint.disabled = body.disabled.unwrap_or(endpoint.disabled);
    if let Some(metadata) = body.metadata {
        endpoint.metadata = metadata.into();
    }
    endpoint.updated_at = state.clock.now();
    state.stores.endpoints.update_endpoint(&endpoint).await?;
    report(&state, &endpoint, OperationalEvent::EndpointUpdated).await;
    Ok(Json(endpoint.into()))
}

#[utoipa::path(delete, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}", tag = "Endpoint",
    params(("app_id" = String, Path), ("endpoint_id" = String, Path)), responses((status = 204)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    state
        .stores
        .endpoints
        .delete_endpoint(&app.org_id, &app.id, &endpoint.id)
        .await?;
    report(&state, &endpoint, OperationalEvent::EndpointDeleted).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Reports a change that succeeded, for operational webhooks.
pub(super) async fn report(
    state: &AppState,
    endpoint: &Endpoint,
    event: fn(EndpointRef) -> OperationalEvent,
) {
    let endpoint = EndpointRef {
        org_id: endpoint.org_id.clone(),
        app_id: endpoint.app_id.clone(),
        endpoint_id: endpoint.id.clone(),
        endpoint_uid: endpoint.uid.clone(),
    };
    state.events.report(event(endpoint)).await;
}

/// Parses list-filter query values, rejecting the first invalid one with its location.
pub fn parse_names<T: std::str::FromStr + Ord>(q: &QueryParams, name: &str) -> ApiResult<Option<BTreeSet<T>>>
where
    T::Err: std::fmt::Display,
{
    let values = q.list(name);
    if values.is_empty() {
        return Ok(None);
    }
    values
        .into_iter()
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| ApiError::invalid(&["query", name], format!("`{v}`: {e}")))
        })
        .collect::<ApiResult<BTreeSet<T>>>()
        .map(Some)
}
