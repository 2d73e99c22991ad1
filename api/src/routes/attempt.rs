//! Delivery attempts and per-destination state: by endpoint, by message, one attempt, and resend.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use xwebhook_engine::domain::{Application, Attempt, MessageStatus};
use xwebhook_engine::id::{AttemptId, EndpointId, MessageId};
use xwebhook_engine::store::{AttemptFilter, DestinationFilter, Order, Page, Ref};

use super::lookup;
use super::message::{self, message_filter, tag_filter};
use crate::auth::Auth;
use crate::dto::attempt::{EndpointMessageOut, MessageAttemptOut, MessageEndpointOut};
use crate::dto::message::MessageOut;
use crate::error::{ApiError, ApiResult};
use crate::extract::{QueryParams, id};
use crate::pagination::{ListResponse, list_query};
use crate::state::AppState;

fn status(q: &QueryParams) -> ApiResult<Option<MessageStatus>> {
    q.parse::<u8>("status")?
        .map(|code| {
            MessageStatus::from_code(code).ok_or_else(|| {
                ApiError::invalid(&["query", "status"], format!("`{code}` is not a status (0 to 4)"))
            })
        })
        .transpose()
}

/// Newer SDKs send `expanded_statuses=true` by default, asking for the Canceled status (4). Nothing cancels a
/// delivery here, so that status never appears and both values list the same; the value is still checked.
fn expanded_statuses(q: &QueryParams) -> ApiResult<()> {
    q.bool("expanded_statuses").map(drop)
}

fn attempt_filter(q: &QueryParams) -> ApiResult<AttemptFilter> {
    expanded_statuses(q)?;
    let class = q.parse::<u16>("status_code_class")?;
    if let Some(c) = class.filter(|c| ![0, 100, 200, 300, 400, 500].contains(c)) {
        return Err(ApiError::invalid(
            &["query", "status_code_class"],
            format!("`{c}` is not one of 0, 100, 200, 300, 400, 500"),
        ));
    }
    Ok(AttemptFilter {
        common: message_filter(q)?,
        status: status(q)?,
        status_code_class: class,
        endpoint_id: None,
        tag: tag_filter(q)?,
    })
}

fn attempt_out(with_content: bool) -> impl Fn(xwebhook_engine::domain::Attempt) -> MessageAttemptOut {
    move |mut a| {
        if !with_content {
            a.response.clear();
        }
        a.into()
    }
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}", tag = "Message Attempt",
    params(("app_id" = String, Path), ("endpoint_id" = String, Path), ("limit" = Option<u64>, Query, format = "uint64"),
        ("iterator" = Option<String>, Query), ("status" = Option<u8>, Query), ("status_code_class" = Option<u16>, Query),
        ("channel" = Option<String>, Query), ("before" = Option<String>, Query), ("after" = Option<String>, Query),
        ("with_content" = Option<bool>, Query), ("event_types" = Option<Vec<String>>, Query), ("tag" = Option<String>, Query, description = "Only attempts of messages carrying this tag"),
        ("with_msg" = Option<bool>, Query, description = "When true, each attempt carries its message (`msg`), never with its payload"),
        ("expanded_statuses" = Option<bool>, Query, description = "Accepted: nothing cancels an attempt, so the Canceled status (4) never appears and true and false list the same")),
    responses((status = 200, body = ListResponse<MessageAttemptOut>)))]
pub async fn list_by_endpoint(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<MessageAttemptOut>>> {
    let query = list_query(&q, Order::Descending)?;
    let filter = attempt_filter(&q)?;
    let with_content = q.bool("with_content")?.unwrap_or(true);
    let with_msg = q.bool("with_msg")?.unwrap_or(false);
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let rows = state
        .stores
        .attempts
        .list_attempts_by_endpoint(&app.org_id, &app.id, &endpoint.id, &filter, &query)
        .await?;
    let page = Page::from_walk(rows, &query, |a| a.id.to_string());
    let messages = match with_msg {
        true => messages_of(&state, &app, &page.items).await?,
        false => HashMap::new(),
    };
    let out = attempt_out(with_content);
    Ok(Json(
        page.map(|a| {
            let msg = messages.get(&a.msg_id).cloned();
            MessageAttemptOut { msg, ..out(a) }
        })
        .into(),
    ))
}

/// The messages of a page of attempts, each read once, without payloads (as `with_msg` promises); messages
/// that are gone are left out.
async fn messages_of(
    state: &AppState,
    app: &Application,
    attempts: &[Attempt],
) -> ApiResult<HashMap<MessageId, MessageOut>> {
    let mut ids: Vec<MessageId> = attempts.iter().map(|a| a.msg_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let found = state
        .stores
        .messages
        .get_messages(&app.org_id, &app.id, &ids)
        .await?;
    Ok(found
        .into_iter()
        .flatten()
        .map(|m| (m.id.clone(), MessageOut::new(m, false)))
        .collect())
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/attempt/msg/{msg_id}", tag = "Message Attempt",
    params(("app_id" = String, Path), ("msg_id" = String, Path), ("limit" = Option<u64>, Query, format = "uint64"),
        ("iterator" = Option<String>, Query), ("status" = Option<u8>, Query), ("status_code_class" = Option<u16>, Query),
        ("channel" = Option<String>, Query), ("endpoint_id" = Option<String>, Query), ("before" = Option<String>, Query),
        ("after" = Option<String>, Query), ("with_content" = Option<bool>, Query), ("event_types" = Option<Vec<String>>, Query),
        ("tag" = Option<String>, Query, description = "Only attempts of messages carrying this tag"), ("expanded_statuses" = Option<bool>, Query, description = "Accepted: nothing cancels an attempt, so the Canceled status (4) never appears and true and false list the same")),
    responses((status = 200, body = ListResponse<MessageAttemptOut>)))]
pub async fn list_by_message(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, msg_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<MessageAttemptOut>>> {
    let query = list_query(&q, Order::Descending)?;
    let mut filter = attempt_filter(&q)?;
    let (app, msg) = message::load(&state, &auth, &app_id, &msg_id).await?;
    if let Some(segment) = q.get("endpoint_id") {
        filter.endpoint_id = Some(match lookup::endpoint(&state, &app, segment).await {
            Ok(endpoint) => endpoint.id,
            // A deleted endpoint's attempts are still listed by its id.
            Err(ApiError::NotFound(_)) => id(segment, "endpoint_id", EndpointId::parse)?,
            Err(e) => return Err(e),
        });
    }
    let with_content = q.bool("with_content")?.unwrap_or(true);
    let rows = state
        .stores
        .attempts
        .list_attempts_by_message(&app.org_id, &app.id, &msg.id, &filter, &query)
        .await?;
    let page = Page::from_walk(rows, &query, |a| a.id.to_string());
    Ok(Json(page.map(attempt_out(with_content)).into()))
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}", tag = "Message Attempt",
    params(("app_id" = String, Path), ("msg_id" = String, Path), ("attempt_id" = String, Path), ("expanded_statuses" = Option<bool>, Query, description = "Accepted: nothing cancels an attempt, so the Canceled status (4) never appears and true and false list the same")),
    responses((status = 200, body = MessageAttemptOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, msg_id, attempt_id)): Path<(String, String, String)>,
    q: QueryParams,
) -> ApiResult<Json<MessageAttemptOut>> {
    expanded_statuses(&q)?;
    let (app, msg) = message::load(&state, &auth, &app_id, &msg_id).await?;
    let attempt_id = id(&attempt_id, "attempt_id", AttemptId::parse)?;
    let attempt = state
        .stores
        .attempts
        .get_attempt(&app.org_id, &app.id, &msg.id, &attempt_id)
        .await?;
    Ok(Json(attempt.ok_or_else(ApiError::not_found)?.into()))
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/msg/{msg_id}/endpoint", tag = "Message Attempt",
    params(("app_id" = String, Path), ("msg_id" = String, Path), ("limit" = Option<u64>, Query, format = "uint64"),
        ("iterator" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<MessageEndpointOut>)))]
pub async fn list_destinations(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, msg_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<MessageEndpointOut>>> {
    let (app, msg) = message::load(&state, &auth, &app_id, &msg_id).await?;
    let query = list_query(&q, Order::Ascending)?;
    let rows = state
        .stores
        .attempts
        .list_destinations_by_message(&app.org_id, &app.id, &msg.id, &query)
        .await?;
    let page = Page::from_walk(rows, &query, |d| d.endpoint_id.to_string());
    let mut data = Vec::with_capacity(page.items.len());
    for d in &page.items {
        let endpoint = state
            .stores
            .endpoints
            .get_endpoint(&app.org_id, &app.id, &Ref::Id(d.endpoint_id.clone()))
            .await?;
        // A deleted endpoint drops out of the listing; its attempts stay readable.
        if let Some(endpoint) = endpoint {
            data.push(MessageEndpointOut::new(endpoint, d));
        }
    }
    Ok(Json(ListResponse {
        data,
        iterator: page.iterator,
        prev_iterator: page.prev_iterator,
        done: page.done,
    }))
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/msg", tag = "Message Attempt",
    params(("app_id" = String, Path), ("endpoint_id" = String, Path), ("limit" = Option<u64>, Query, format = "uint64"),
        ("iterator" = Option<String>, Query), ("channel" = Option<String>, Query), ("status" = Option<u8>, Query),
        ("before" = Option<String>, Query), ("after" = Option<String>, Query), ("with_content" = Option<bool>, Query),
        ("event_types" = Option<Vec<String>>, Query), ("tag" = Option<String>, Query, description = "Only attempts of messages carrying this tag"), ("expanded_statuses" = Option<bool>, Query, description = "Accepted: nothing cancels an attempt, so the Canceled status (4) never appears and true and false list the same")),
    responses((status = 200, body = ListResponse<EndpointMessageOut>)))]
pub async fn list_endpoint_messages(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<EndpointMessageOut>>> {
    let query = list_query(&q, Order::Descending)?;
    let filter = DestinationFilter {
        common: message_filter(&q)?,
        status: status(&q)?,
        tag: tag_filter(&q)?,
    };
    expanded_statuses(&q)?;
    let with_content = q.bool("with_content")?.unwrap_or(true);
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let rows = state
        .stores
        .attempts
        .list_destinations_by_endpoint(&app.org_id, &app.id, &endpoint.id, &filter, &query)
        .await?;
    let page = Page::from_walk(rows, &query, |d| d.msg_id.to_string());
    let ids: Vec<MessageId> = page.items.iter().map(|d| d.msg_id.clone()).collect();
    let messages = state
        .stores
        .messages
        .get_messages(&app.org_id, &app.id, &ids)
        .await?;
    // A message gone since its destination was listed (retention) is left out.
    let data = page
        .items
        .iter()
        .zip(messages)
        .filter_map(|(d, m)| Some(EndpointMessageOut::new(m?, d, with_content)))
        .collect();
    Ok(Json(ListResponse {
        data,
        iterator: page.iterator,
        prev_iterator: page.prev_iterator,
        done: page.done,
    }))
}

/// Sends the message to the endpoint once more, now (a manual attempt, outside the retry schedule).
#[utoipa::path(post, path = "/api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend", tag = "Message Attempt",
    params(("app_id" = String, Path), ("msg_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 202, body = Object)))]
pub async fn resend(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, msg_id, endpoint_id)): Path<(String, String, String)>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let (app, msg) = message::load(&state, &auth, &app_id, &msg_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    state.intake.resend(&msg, &endpoint).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}
