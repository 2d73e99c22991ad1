//! `/api/v1/app/{app_id}/poller/{sink_id}`: reading a polling destination's log (the SDK's `message_poller`),
//! from an iterator the caller keeps (`poll`) or from a position each named consumer keeps here
//! (`consumer_poll`, `consumer_seek`); and `/auth/app/{app_id}/poller/{sink_id}/token`, which issues a token
//! that reads that one poller and nothing else.
//!
//! A poller token used on another poller, or another application's, is refused (403): it is a credential the
//! application's customer holds for one poller, and telling them so is more useful than "not found".

use axum::Json;
use axum::extract::{Path, State};
use chrono::DateTime;
use xwebhook_engine::domain::{Application, Channel, EventTypeName, Position, SinkKey};
use xwebhook_engine::sink::{EventFilter, LogPage, read_events};
use xwebhook_engine::store::{DEFAULT_LIMIT, MAX_LIMIT, SinkWithState};

use super::lookup;
use crate::auth::Auth;
use crate::dto::destination::{
    ApiTokenOut, PollingEndpointConsumerSeekIn, PollingEndpointConsumerSeekOut, PollingEndpointOut,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

/// How long a poller token is valid: it is the poller's credential, kept by a program, so a year.
const TOKEN_TTL_SECS: i64 = 365 * 24 * 60 * 60;
const MAX_CONSUMER_ID: usize = 128;

/// The poller `sink_id` of `app_id`, if the caller may read it.
async fn poller(
    state: &AppState,
    auth: &Auth,
    app_id: &str,
    sink_id: &str,
) -> ApiResult<(Application, SinkWithState)> {
    let app = match lookup::application(state, auth, app_id).await {
        Err(ApiError::NotFound(_)) if auth.sink.is_some() => return Err(other_poller()),
        other => other?,
    };
    let found = lookup::sink(state, &app, sink_id).await?;
    if auth.sink.as_ref().is_some_and(|own| *own != found.sink.id) {
        return Err(other_poller());
    }
    if state
        .sink_types
        .get(&found.sink.type_name)
        .is_none_or(|t| t.pushes())
    {
        return Err(ApiError::invalid(
            &["path", "sink_id"],
            format!(
                "this destination is a `{}`; only a polling one is read here",
                found.sink.type_name
            ),
        ));
    }
    Ok((app, found))
}

fn other_poller() -> ApiError {
    ApiError::Forbidden("this token reads another poller".into())
}

fn limit(q: &QueryParams) -> ApiResult<usize> {
    let limit = q.parse::<u64>("limit")?.unwrap_or(DEFAULT_LIMIT as u64);
    match usize::try_from(limit) {
        Ok(n @ 1..=MAX_LIMIT) => Ok(n),
        _ => Err(ApiError::invalid(
            &["query", "limit"],
            format!("must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

fn iterator(q: &QueryParams) -> ApiResult<Option<Position>> {
    q.get("iterator")
        .map(|i| {
            i.parse().map_err(|e: xwebhook_engine::domain::BadPosition| {
                ApiError::invalid(&["query", "iterator"], e.to_string())
            })
        })
        .transpose()
}

/// Reads a page after `after`; a disabled poller reads as empty, where it stands.
async fn page(
    state: &AppState,
    found: &SinkWithState,
    after: Option<Position>,
    limit: usize,
    filter: &EventFilter,
) -> ApiResult<(LogPage, PollingEndpointOut)> {
    let page = match found.sink.disabled {
        true => LogPage {
            done: true,
            ..LogPage::default()
        },
        false => {
            read_events(
                &state.stores,
                &found.sink.key(),
                after,
                limit,
                filter,
                state.clock.now(),
            )
            .await?
        }
    };
    let out = PollingEndpointOut {
        iterator: page.last.or(after).unwrap_or(Position::START).to_string(),
        done: page.done,
        data: page.events.iter().map(|(_, e)| e.clone().into()).collect(),
    };
    Ok((page, out))
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/poller/{sink_id}", tag = "Message Poller",
    params(("app_id" = String, Path), ("sink_id" = String, Path), ("limit" = Option<u64>, Query, format = "uint64"),
        ("iterator" = Option<String>, Query), ("event_type" = Option<String>, Query), ("channel" = Option<String>, Query),
        ("after" = Option<String>, Query, format = DateTime)),
    responses((status = 200, body = PollingEndpointOut)))]
pub async fn poll(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, sink_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<PollingEndpointOut>> {
    let (_, found) = poller(&state, &auth, &app_id, &sink_id).await?;
    let after = match (iterator(&q)?, q.datetime("after")?) {
        (Some(position), _) => Some(position),
        (None, Some(at)) => Some(Position::before(at)),
        (None, None) => None,
    };
    let filter = EventFilter {
        event_type: q.parse::<EventTypeName>("event_type")?,
        channel: q.parse::<Channel>("channel")?,
    };
    let (_, out) = page(&state, &found, after, limit(&q)?, &filter).await?;
    Ok(Json(out))
}

fn consumer_id(segment: &str) -> ApiResult<&str> {
    let valid = !segment.is_empty()
        && segment.len() <= MAX_CONSUMER_ID
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    match valid {
        true => Ok(segment),
        false => Err(ApiError::invalid(
            &["path", "consumer_id"],
            format!("must be 1 to {MAX_CONSUMER_ID} letters, digits, `-`, `_` or `.`"),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}", tag = "Message Poller",
    params(("app_id" = String, Path), ("sink_id" = String, Path), ("consumer_id" = String, Path),
        ("limit" = Option<u64>, Query, format = "uint64"), ("iterator" = Option<String>, Query)),
    responses((status = 200, body = PollingEndpointOut)))]
pub async fn consumer_poll(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, sink_id, consumer)): Path<(String, String, String)>,
    q: QueryParams,
) -> ApiResult<Json<PollingEndpointOut>> {
    let consumer = consumer_id(&consumer)?;
    let (_, found) = poller(&state, &auth, &app_id, &sink_id).await?;
    let key = found.sink.key();
    let after = match iterator(&q)? {
        Some(position) => Some(position),
        None => state.stores.sinks.consumer_position(&key, consumer).await?,
    };
    let (page, out) = page(&state, &found, after, limit(&q)?, &EventFilter::default()).await?;
    if let Some(last) = page.last {
        state
            .stores
            .sinks
            .set_consumer_position(&key, consumer, last)
            .await?;
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}/seek", tag = "Message Poller",
    request_body = PollingEndpointConsumerSeekIn,
    params(("app_id" = String, Path), ("sink_id" = String, Path), ("consumer_id" = String, Path)),
    responses((status = 200, body = PollingEndpointConsumerSeekOut)))]
pub async fn consumer_seek(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, sink_id, consumer)): Path<(String, String, String)>,
    JsonBody(body): JsonBody<PollingEndpointConsumerSeekIn>,
) -> ApiResult<Json<PollingEndpointConsumerSeekOut>> {
    let consumer = consumer_id(&consumer)?;
    let (_, found) = poller(&state, &auth, &app_id, &sink_id).await?;
    let position = Position::before(body.after);
    let key: SinkKey = found.sink.key();
    state
        .stores
        .sinks
        .set_consumer_position(&key, consumer, position)
        .await?;
    Ok(Json(PollingEndpointConsumerSeekOut {
        iterator: position.to_string(),
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/app/{app_id}/poller/{sink_id}/token", tag = "Message Poller",
    params(("app_id" = String, Path), ("sink_id" = String, Path)), responses((status = 200, body = ApiTokenOut)))]
pub async fn token(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, sink_id)): Path<(String, String)>,
) -> ApiResult<Json<ApiTokenOut>> {
    let (app, found) = poller(&state, &auth, &app_id, &sink_id).await?;
    let now = state.clock.now();
    let (token, jti) = state
        .auth
        .issue_poller_token(
            &app.org_id,
            &app.id,
            &found.sink.id,
            now.timestamp(),
            TOKEN_TTL_SECS,
        )
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(Json(ApiTokenOut {
        id: jti,
        token,
        name: None,
        created_at: now,
        expires_at: DateTime::from_timestamp(now.timestamp() + TOKEN_TTL_SECS, 0),
        scopes: Some(vec![format!("poller:{}", found.sink.id)]),
    }))
}
