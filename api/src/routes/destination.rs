//! `/api/v1/app/{app_id}/destination`: destinations beyond webhook endpoints (FIFO endpoints, pollers, brokers),
//! as the SDK's `destination` API serves them. The settings every type shares are checked here; each type's
//! `config` is checked by the type (`xwebhook_engine::sink::SinkTypes`), which names what it refuses.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use xwebhook_engine::domain::{Application, EndpointSecret, SecretSet, Sink, SinkState, Uid};
use xwebhook_engine::id::SinkId;
use xwebhook_engine::sink::AnySinkType;
use xwebhook_engine::store::{Order, Page, Ref, SinkWithState};

use super::{endpoint, lookup};
use crate::auth::Auth;
use crate::dto::destination::{
    DestinationAttemptOut, DestinationIn, DestinationOut, DestinationPatch, DestinationSecretRotateOut,
    DestinationStatusIn,
};
use crate::dto::endpoint::EndpointSecretRotateIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, OptionalJsonBody, QueryParams};
use crate::pagination::{ListResponse, list_query};
use crate::state::AppState;

const ONE: &str = "/api/v1/app/{app_id}/destination/{destination_id}";

/// The registered type named `name`; any other is refused naming it (the SDK lists types Xwebhook does not
/// implement).
fn sink_type<'a>(state: &'a AppState, name: &str) -> ApiResult<&'a dyn AnySinkType> {
    state.sink_types.get(name).ok_or_else(|| {
        let served: Vec<&str> = state.sink_types.names().collect();
        ApiError::invalid(
            &["body", "type"],
            format!(
                "destination type `{name}` is not supported by Xwebhook (it serves {})",
                served.join(", ")
            ),
        )
    })
}

fn out(state: &AppState, found: SinkWithState) -> DestinationOut {
    let config = state
        .sink_types
        .get(&found.sink.type_name)
        .map_or(json!({}), |t| t.shown(&found.sink.config));
    DestinationOut::new(found, config)
}

fn config_error(e: xwebhook_engine::sink::ConfigError) -> ApiError {
    ApiError::invalid(&["body", "config"], e.0)
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/destination", tag = "Destination",
    params(("app_id" = String, Path), ("limit" = Option<u64>, Query, format = "uint64"), ("iterator" = Option<String>, Query),
        ("order" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<DestinationOut>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<DestinationOut>>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let query = list_query(&q, Order::Descending)?;
    let rows = state
        .stores
        .sinks
        .list_sinks(&app.org_id, &app.id, &query)
        .await?;
    let page = Page::from_walk(rows, &query, |s| s.sink.id.to_string());
    Ok(Json(page.map(|s| out(&state, s)).into()))
}

#[utoipa::path(post, path = "/api/v1/app/{app_id}/destination", tag = "Destination", request_body = DestinationIn,
    params(("app_id" = String, Path)), responses((status = 201, body = DestinationOut)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    JsonBody(body): JsonBody<DestinationIn>,
) -> ApiResult<(StatusCode, Json<DestinationOut>)> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let sink = new_sink(&state, &auth, &app, body, None).await?;
    state.stores.sinks.create_sink(&sink).await?;
    let created = SinkWithState {
        sink,
        state: SinkState::default(),
    };
    Ok((StatusCode::CREATED, Json(out(&state, created))))
}

async fn new_sink(
    state: &AppState,
    auth: &Auth,
    app: &Application,
    mut body: DestinationIn,
    uid: Option<Uid>,
) -> ApiResult<Sink> {
    let kind = sink_type(state, &body.type_name)?;
    let configured = kind
        .configure(body.config.take().unwrap_or_else(|| json!({})))
        .map_err(config_error)?;
    let secret = match configured.secret {
        Some(key) => parse_key(&key)?,
        None => EndpointSecret::generate(),
    };
    let now = state.clock.now();
    let mut sink = Sink {
        id: SinkId::generate(),
        org_id: app.org_id.clone(),
        app_id: app.id.clone(),
        uid,
        type_name: kind.name().to_owned(),
        config: configured.config,
        disabled: false,
        batch_size: Sink::DEFAULT_BATCH_SIZE,
        max_wait_secs: Sink::DEFAULT_MAX_WAIT_SECS,
        event_types: None,
        channels: None,
        metadata: Default::default(),
        secrets: SecretSet::new(secret),
        created_at: now,
        updated_at: now,
    };
    apply_in(state, auth, &mut sink, body).await?;
    Ok(sink)
}

fn parse_key(key: &str) -> ApiResult<EndpointSecret> {
    EndpointSecret::parse(key).map_err(|e| ApiError::invalid(&["body", "config", "key"], e.to_string()))
}

/// Applies a full (POST/PUT) body's shared settings.
async fn apply_in(state: &AppState, auth: &Auth, sink: &mut Sink, body: DestinationIn) -> ApiResult<()> {
    endpoint::check_event_types(state, auth, &sink.org_id, body.event_types.as_ref(), "eventTypes").await?;
    endpoint::check_channels(body.channels.as_ref())?;
    sink.uid = body.uid.or(sink.uid.take());
    check_uid(sink.uid.as_ref())?;
    sink.disabled = body.status == Some(DestinationStatusIn::Disabled);
    sink.batch_size = batch_size(body.batch_size.unwrap_or(Sink::DEFAULT_BATCH_SIZE))?;
    sink.max_wait_secs = max_wait_secs(body.max_wait_secs.unwrap_or(Sink::DEFAULT_MAX_WAIT_SECS))?;
    sink.event_types = body.event_types;
    sink.channels = body.channels;
    sink.metadata = body.metadata.map(Into::into).unwrap_or_default();
    Ok(())
}

fn batch_size(n: u16) -> ApiResult<u16> {
    match n {
        1..=Sink::MAX_BATCH_SIZE => Ok(n),
        _ => Err(ApiError::invalid(
            &["body", "batchSize"],
            format!("must be between 1 and {}", Sink::MAX_BATCH_SIZE),
        )),
    }
}

fn max_wait_secs(n: u32) -> ApiResult<u32> {
    match n {
        0..=Sink::MAX_MAX_WAIT_SECS => Ok(n),
        _ => Err(ApiError::invalid(
            &["body", "maxWaitSecs"],
            format!("must be at most {}", Sink::MAX_MAX_WAIT_SECS),
        )),
    }
}

fn check_uid(uid: Option<&Uid>) -> ApiResult<()> {
    if let Some(uid) = uid {
        Uid::parse_for(uid.to_string(), SinkId::PREFIX)
            .map_err(|e| ApiError::invalid(&["body", "uid"], e.to_string()))?;
    }
    Ok(())
}

/// A destination's type never changes: a request naming another is refused.
fn same_type(sink: &Sink, requested: &str) -> ApiResult<()> {
    if sink.type_name == requested {
        return Ok(());
    }
    Err(ApiError::invalid(
        &["body", "type"],
        format!(
            "this destination is a `{}`; its type cannot change",
            sink.type_name
        ),
    ))
}

#[utoipa::path(get, path = ONE, tag = "Destination",
    params(("app_id" = String, Path), ("destination_id" = String, Path)), responses((status = 200, body = DestinationOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, destination_id)): Path<(String, String)>,
) -> ApiResult<Json<DestinationOut>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let found = lookup::sink(&state, &app, &destination_id).await?;
    Ok(Json(out(&state, found)))
}

/// The last batches sent (at most `SinkState::KEPT_ATTEMPTS`), newest first: a pushing destination's
/// equivalent of an endpoint's attempts. One page; a polling destination sends nothing, so it has none.
#[utoipa::path(get, path = "/api/v1/app/{app_id}/destination/{destination_id}/attempt", tag = "Destination",
    params(("app_id" = String, Path), ("destination_id" = String, Path)),
    responses((status = 200, body = ListResponse<DestinationAttemptOut>)))]
pub async fn list_attempts(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, destination_id)): Path<(String, String)>,
) -> ApiResult<Json<ListResponse<DestinationAttemptOut>>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let found = lookup::sink(&state, &app, &destination_id).await?;
    Ok(Json(ListResponse {
        data: found.state.attempts.into_iter().rev().map(Into::into).collect(),
        iterator: None,
        prev_iterator: None,
        done: true,
    }))
}

#[utoipa::path(put, path = ONE, tag = "Destination", request_body = DestinationIn,
    params(("app_id" = String, Path), ("destination_id" = String, Path)),
    responses((status = 200, body = DestinationOut), (status = 201, body = DestinationOut)))]
pub async fn upsert(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, destination_id)): Path<(String, String)>,
    JsonBody(mut body): JsonBody<DestinationIn>,
) -> ApiResult<(StatusCode, Json<DestinationOut>)> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    match lookup::sink(&state, &app, &destination_id).await {
        Ok(SinkWithState {
            mut sink,
            state: progress,
        }) => {
            same_type(&sink, &body.type_name)?;
            let kind = sink_type(&state, &sink.type_name)?;
            let configured = kind
                .configure(body.config.take().unwrap_or_else(|| json!({})))
                .map_err(config_error)?;
            if let Some(key) = configured.secret {
                sink.secrets = SecretSet::new(parse_key(&key)?);
            }
            sink.config = configured.config;
            apply_in(&state, &auth, &mut sink, body).await?;
            sink.updated_at = state.clock.now();
            state.stores.sinks.update_sink(&sink).await?;
            let updated = SinkWithState {
                sink,
                state: progress,
            };
            Ok((StatusCode::OK, Json(out(&state, updated))))
        }
        Err(ApiError::NotFound(_)) => {
            let Ref::Uid(uid) = lookup::sink_ref(&destination_id)? else {
                return Err(ApiError::not_found());
            };
            let sink = new_sink(&state, &auth, &app, body, Some(uid)).await?;
            state.stores.sinks.create_sink(&sink).await?;
            let created = SinkWithState {
                sink,
                state: SinkState::default(),
            };
            Ok((StatusCode::CREATED, Json(out(&state, created))))
        }
        Err(e) => Err(e),
    }
}

#[utoipa::path(patch, path = ONE, tag = "Destination", request_body = DestinationPatch,
    params(("app_id" = String, Path), ("destination_id" = String, Path)), responses((status = 200, body = DestinationOut)))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, destination_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<DestinationPatch>,
) -> ApiResult<Json<DestinationOut>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let SinkWithState {
        mut sink,
        state: progress,
    } = lookup::sink(&state, &app, &destination_id).await?;
    same_type(&sink, &body.type_name)?;
    if let Some(config) = body.config.filter(|c| c != &Value::Object(Default::default())) {
        let kind = sink_type(&state, &sink.type_name)?;
        sink.config = kind.patch(&sink.config, config).map_err(config_error)?;
    }
    if let Some(types) = body.event_types {
        endpoint::check_event_types(&state, &auth, &sink.org_id, types.as_ref(), "eventTypes").await?;
        sink.event_types = types;
    }
    if let Some(channels) = body.channels {
        endpoint::check_channels(channels.as_ref())?;
        sink.channels = channels;
    }
    if let Some(uid) = body.uid {
        check_uid(uid.as_ref())?;
        sink.uid = uid;
    }
    if let Some(status) = body.status {
        sink.disabled = status == DestinationStatusIn::Disabled;
    }
    if let Some(n) = body.batch_size {
        sink.batch_size = batch_size(n)?;
    }
    if let Some(n) = body.max_wait_secs {
        sink.max_wait_secs = max_wait_secs(n)?;
    }
    if let Some(metadata) = body.metadata {
        sink.metadata = metadata.into();
    }
    sink.updated_at = state.clock.now();
    state.stores.sinks.update_sink(&sink).await?;
    Ok(Json(out(
        &state,
        SinkWithState {
            sink,
            state: progress,
        },
    )))
}

#[utoipa::path(delete, path = ONE, tag = "Destination",
    params(("app_id" = String, Path), ("destination_id" = String, Path)), responses((status = 204)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, destination_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let found = lookup::sink(&state, &app, &destination_id).await?;
    state
        .stores
        .sinks
        .delete_sink(&app.org_id, &app.id, &found.sink.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/app/{app_id}/destination/{destination_id}/secret/rotate", tag = "Destination",
    request_body = EndpointSecretRotateIn, params(("app_id" = String, Path), ("destination_id" = String, Path)),
    responses((status = 200, body = DestinationSecretRotateOut)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, destination_id)): Path<(String, String)>,
    OptionalJsonBody(body): OptionalJsonBody<EndpointSecretRotateIn>,
) -> ApiResult<Json<DestinationSecretRotateOut>> {
    let grace = super::secret::grace(body.grace_period_seconds)?;
    let app = lookup::application(&state, &auth, &app_id).await?;
    let SinkWithState { mut sink, .. } = lookup::sink(&state, &app, &destination_id).await?;
    if !sink_type(&state, &sink.type_name)?.signs() {
        return Err(ApiError::invalid(
            &["path", "destination_id"],
            format!(
                "a `{}` destination signs nothing, so it has no secret to rotate",
                sink.type_name
            ),
        ));
    }
    let now = state.clock.now();
    let next = body.key.unwrap_or_else(EndpointSecret::generate);
    sink.secrets.rotate(next, now, grace);
    sink.updated_at = now;
    state.stores.sinks.update_sink(&sink).await?;
    Ok(Json(DestinationSecretRotateOut {
        key: sink.secrets.current.public(),
    }))
}
