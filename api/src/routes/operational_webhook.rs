//! `/api/v1/operational-webhook/endpoint`: a tenant's operational webhook endpoints, through the SDK's
//! `operational_webhook_endpoint` calls, with no set-up by the operator.
//!
//! They are ordinary endpoints of the tenant's *listener*: the application of the operational webhooks
//! organization (`XWEBHOOK_OPERATIONAL_WEBHOOKS_ORG`) whose uid is the tenant's organization id, which the
//! publisher (`engine::operational`) already sends each event about the tenant to. Each handler finds (or, to
//! create an endpoint, makes) the caller's listener and runs the endpoint handler on it, as that organization.
//! Only organization tokens get here (`access`), and the listener is chosen by the caller's own organization
//! id, so a tenant reaches its own listener and nothing else of that organization.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use xwebhook_engine::domain::{Application, EventType, EventTypeName, Uid};
use xwebhook_engine::id::AppId;
use xwebhook_engine::operational::OperationalEvent;
use xwebhook_engine::store::{Order, Ref, StoreErrorKind};

use super::{endpoint, headers, secret};
use crate::auth::Auth;
use crate::dto::endpoint::{
    EndpointHeadersIn, EndpointHeadersOut, EndpointSecretOut, EndpointSecretRotateIn,
};
use crate::dto::operational_webhook::{
    OperationalWebhookEndpointIn, OperationalWebhookEndpointOut, OperationalWebhookEndpointUpsertIn,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, OptionalJsonBody, QueryParams};
use crate::pagination::{ListResponse, list_query};
use crate::state::AppState;

/// The caller's listener, and the identity the endpoint handlers act as on it.
struct Listener {
    app_id: String,
    auth: Auth,
}

/// The listener of the caller's organization; `None` when it has none yet.
async fn listener(state: &AppState, auth: &Auth) -> ApiResult<Option<Listener>> {
    let (org, uid) = (&state.config.operational_webhooks_org, tenant_uid(auth)?);
    let app = state
        .stores
        .applications
        .get_application(org, &Ref::Uid(uid))
        .await?;
    Ok(app.map(|app| as_listener(state, auth, &app)))
}

/// The caller's listener, made on first use, with the operational event types its endpoints subscribe to.
async fn listener_or_new(state: &AppState, auth: &Auth) -> ApiResult<Listener> {
    if let Some(found) = listener(state, auth).await? {
        return Ok(found);
    }
    let now = state.clock.now();
    let app = Application {
        id: AppId::generate(),
        org_id: state.config.operational_webhooks_org.clone(),
        uid: Some(tenant_uid(auth)?),
        name: format!("Operational webhooks of {}", auth.org_id),
        rate_limit: None,
        metadata: Default::default(),
        created_at: now,
        updated_at: now,
    };
    event_types(state).await?;
    match state.stores.applications.create_application(&app).await {
        Ok(()) => Ok(as_listener(state, auth, &app)),
        // Another request made it first.
        Err(e) if e.kind() == StoreErrorKind::Conflict => listener(state, auth).await?.ok_or(e.into()),
        Err(e) => Err(e.into()),
    }
}

fn tenant_uid(auth: &Auth) -> ApiResult<Uid> {
    Uid::try_from(auth.org_id.to_string()).map_err(|e| ApiError::Internal(Box::new(e)))
}

fn as_listener(state: &AppState, auth: &Auth, app: &Application) -> Listener {
    Listener {
        app_id: app.id.to_string(),
        auth: Auth {
            org_id: state.config.operational_webhooks_org.clone(),
            app_id: None,
            capabilities: None,
            feature_flags: None,
            ..auth.clone()
        },
    }
}

/// Makes the operational event types exist in the operational webhooks organization, so that an endpoint
/// can subscribe to them by name (`eventTypes`).
async fn event_types(state: &AppState) -> ApiResult<()> {
    let org = &state.config.operational_webhooks_org;
    for (name, description) in OperationalEvent::TYPES {
        let name: EventTypeName = name.parse().map_err(|e| ApiError::Internal(Box::new(e)))?;
        if state
            .stores
            .event_types
            .get_event_type(org, &name)
            .await?
            .is_some()
        {
            continue;
        }
        let now = state.clock.now();
        let event_type = EventType {
            org_id: org.clone(),
            name,
            description: description.to_owned(),
            archived: false,
            deprecated: false,
            schemas: None,
            feature_flags: Vec::new(),
            group_name: None,
            created_at: now,
            updated_at: now,
        };
        match state.stores.event_types.create_event_type(&event_type).await {
            Err(e) if e.kind() != StoreErrorKind::Conflict => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// The caller's listener, or 404 (it has no operational webhook endpoints yet).
async fn existing(state: &AppState, auth: &Auth) -> ApiResult<Listener> {
    listener(state, auth).await?.ok_or_else(ApiError::not_found)
}

#[utoipa::path(get, path = "/api/v1/operational-webhook/endpoint", tag = "Webhook Endpoint",
    params(("limit" = Option<u64>, Query, format = "uint64"), ("iterator" = Option<String>, Query),
        ("order" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<OperationalWebhookEndpointOut>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<OperationalWebhookEndpointOut>>> {
    list_query(&q, Order::Descending)?;
    let Some(own) = listener(&state, &auth).await? else {
        let empty = ListResponse {
            data: Vec::new(),
            iterator: None,
            prev_iterator: None,
            done: true,
        };
        return Ok(Json(empty));
    };
    let Json(page) = endpoint::list(State(state), own.auth, Path(own.app_id), q).await?;
    Ok(Json(ListResponse {
        data: page.data.into_iter().map(Into::into).collect(),
        iterator: page.iterator,
        prev_iterator: page.prev_iterator,
        done: page.done,
    }))
}

#[utoipa::path(post, path = "/api/v1/operational-webhook/endpoint", tag = "Webhook Endpoint",
    request_body = OperationalWebhookEndpointIn, responses((status = 201, body = OperationalWebhookEndpointOut)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<OperationalWebhookEndpointIn>,
) -> ApiResult<(StatusCode, Json<OperationalWebhookEndpointOut>)> {
    let own = listener_or_new(&state, &auth).await?;
    let (status, Json(out)) =
        endpoint::create(State(state), own.auth, Path(own.app_id), JsonBody(body.into())).await?;
    Ok((status, Json(out.into())))
}

#[utoipa::path(get, path = "/api/v1/operational-webhook/endpoint/{endpoint_id}", tag = "Webhook Endpoint",
    params(("endpoint_id" = String, Path)), responses((status = 200, body = OperationalWebhookEndpointOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(endpoint_id): Path<String>,
) -> ApiResult<Json<OperationalWebhookEndpointOut>> {
    let own = existing(&state, &auth).await?;
    let Json(out) = endpoint::get(State(state), own.auth, Path((own.app_id, endpoint_id))).await?;
    Ok(Json(out.into()))
}

/// Replaces the endpoint; a UID that names none creates it (201), as an endpoint's PUT does.
#[utoipa::path(put, path = "/api/v1/operational-webhook/endpoint/{endpoint_id}", tag = "Webhook Endpoint",
    request_body = OperationalWebhookEndpointUpsertIn, params(("endpoint_id" = String, Path)),
    responses((status = 200, body = OperationalWebhookEndpointOut), (status = 201, body = OperationalWebhookEndpointOut)))]
pub async fn upsert(
    State(state): State<AppState>,
    auth: Auth,
    Path(endpoint_id): Path<String>,
    JsonBody(body): JsonBody<OperationalWebhookEndpointUpsertIn>,
) -> ApiResult<(StatusCode, Json<OperationalWebhookEndpointOut>)> {
    let own = listener_or_new(&state, &auth).await?;
    let path = Path((own.app_id, endpoint_id));
    let (status, Json(out)) = endpoint::upsert(State(state), own.auth, path, JsonBody(body.into())).await?;
    Ok((status, Json(out.into())))
}

#[utoipa::path(delete, path = "/api/v1/operational-webhook/endpoint/{endpoint_id}", tag = "Webhook Endpoint",
    params(("endpoint_id" = String, Path)), responses((status = 204)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(endpoint_id): Path<String>,
) -> ApiResult<StatusCode> {
    let own = existing(&state, &auth).await?;
    endpoint::delete(State(state), own.auth, Path((own.app_id, endpoint_id))).await
}

#[utoipa::path(get, path = "/api/v1/operational-webhook/endpoint/{endpoint_id}/headers", tag = "Webhook Endpoint",
    params(("endpoint_id" = String, Path)), responses((status = 200, body = EndpointHeadersOut)))]
pub async fn get_headers(
    State(state): State<AppState>,
    auth: Auth,
    Path(endpoint_id): Path<String>,
) -> ApiResult<Json<EndpointHeadersOut>> {
    let own = existing(&state, &auth).await?;
    headers::get(State(state), own.auth, Path((own.app_id, endpoint_id))).await
}

#[utoipa::path(put, path = "/api/v1/operational-webhook/endpoint/{endpoint_id}/headers", tag = "Webhook Endpoint",
    request_body = EndpointHeadersIn, params(("endpoint_id" = String, Path)), responses((status = 204)))]
pub async fn set_headers(
    State(state): State<AppState>,
    auth: Auth,
    Path(endpoint_id): Path<String>,
    body: JsonBody<EndpointHeadersIn>,
) -> ApiResult<StatusCode> {
    let own = existing(&state, &auth).await?;
    headers::update(State(state), own.auth, Path((own.app_id, endpoint_id)), body).await
}

#[utoipa::path(get, path = "/api/v1/operational-webhook/endpoint/{endpoint_id}/secret", tag = "Webhook Endpoint",
    params(("endpoint_id" = String, Path)), responses((status = 200, body = EndpointSecretOut)))]
pub async fn get_secret(
    State(state): State<AppState>,
    auth: Auth,
    Path(endpoint_id): Path<String>,
) -> ApiResult<Json<EndpointSecretOut>> {
    let own = existing(&state, &auth).await?;
    secret::get(State(state), own.auth, Path((own.app_id, endpoint_id))).await
}

#[utoipa::path(post, path = "/api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate", tag = "Webhook Endpoint",
    request_body = EndpointSecretRotateIn, params(("endpoint_id" = String, Path)),
    responses((status = 200, body = EndpointSecretOut)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    auth: Auth,
    Path(endpoint_id): Path<String>,
    body: OptionalJsonBody<EndpointSecretRotateIn>,
) -> ApiResult<Json<EndpointSecretOut>> {
    let own = existing(&state, &auth).await?;
    secret::rotate(State(state), own.auth, Path((own.app_id, endpoint_id)), body).await
}
