//! `/api/v1/app/{app_id}/msg`: sending and reading messages.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use xwebhook_engine::domain::{Application, Channel, Message, Payload};
use xwebhook_engine::fan_out;
use xwebhook_engine::id::MessageId;
use xwebhook_engine::store::{MessageFilter, Order, Page, Ref, TimeTypeChannel};

use super::application::create_application;
use super::endpoint::parse_names;
use super::labels::Labels;
use super::lookup;
use crate::auth::Auth;
use crate::dto::application::ApplicationIn;
use crate::dto::message::{
    DEFAULT_RETENTION_DAYS, MessageIn, MessageOut, MessagePrecheckIn, MessagePrecheckOut,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::pagination::{ListResponse, list_query};
use crate::state::AppState;

const MAX_CHANNELS: usize = 5;
const RETENTION_DAYS: std::ops::RangeInclusive<i64> = 5..=90;
/// Up to the longest period in days; from an hour, as short as the SDK's field can say.
const RETENTION_HOURS: std::ops::RangeInclusive<i64> = 1..=90 * 24;

#[utoipa::path(post, path = "/api/v1/app/{app_id}/msg", tag = "Message", request_body = MessageIn,
    params(("app_id" = String, Path), ("with_content" = Option<bool>, Query)),
    responses((status = 202, body = MessageOut)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    q: QueryParams,
    JsonBody(body): JsonBody<MessageIn>,
) -> ApiResult<(StatusCode, Json<MessageOut>)> {
    let with_content = q.bool("with_content")?.unwrap_or(true);
    let (retention_days, retention_hours) =
        retention(body.payload_retention_period, body.payload_retention_hours)?;
    let now = state.clock.now();
    check_deliver_at(body.deliver_at, now, state.config.deliver_at_min_delay)?;
    let tags = TAGS.checked(body.tags.unwrap_or_default(), &["body", "tags"])?;
    check_channels(body.channels.as_ref())?;
    let payload = Payload::from_sender(body.payload)
        .map_err(|e| ApiError::invalid(&["body", "payload"], e.to_string()))?;
    let app = app_for_message(&state, &auth, &app_id, body.application).await?;
    let message = Message {
        id: MessageId::generate(),
        org_id: app.org_id.clone(),
        app_id: app.id.clone(),
        event_type: body.event_type,
        event_id: body.event_id,
        channels: body.channels,
        payload,
        retention_days,
        retention_hours,
        created_at: now,
        deliver_at: body.deliver_at,
        tags,
    };
    state.intake.accept(&message).await?;
    Ok((StatusCode::ACCEPTED, Json(MessageOut::new(message, with_content))))
}

/// Whether a message of the given event type and channels would reach any enabled endpoint of the
/// application now (the fan-out's own rule), without sending one.
#[utoipa::path(post, path = "/api/v1/app/{app_id}/msg/precheck/active", tag = "Message",
    request_body = MessagePrecheckIn, params(("app_id" = String, Path)),
    responses((status = 200, body = MessagePrecheckOut)))]
pub async fn precheck(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    JsonBody(body): JsonBody<MessagePrecheckIn>,
) -> ApiResult<Json<MessagePrecheckOut>> {
    check_channels(body.channels.as_ref())?;
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoints = state
        .stores
        .endpoints
        .endpoints_of_app(&app.org_id, &app.id)
        .await?;
    let active = fan_out::targets(&endpoints, &body.event_type, body.channels.as_ref())
        .next()
        .is_some();
    Ok(Json(MessagePrecheckOut { active }))
}

fn check_channels(channels: Option<&BTreeSet<Channel>>) -> ApiResult<()> {
    if channels.is_some_and(|c| c.len() > MAX_CHANNELS) {
        return Err(ApiError::invalid(
            &["body", "channels"],
            format!("at most {MAX_CHANNELS} channels"),
        ));
    }
    Ok(())
}

/// Bounds on a message's tags: Svix documents none, and these keep each message's record small.
const MAX_TAGS: usize = 16;
const MAX_TAG_LEN: usize = 128;

/// Tags are 1 to 128 characters without NUL, at most 16 to a message, each kept once.
const TAGS: Labels = Labels {
    one: "tag",
    many: "tags",
    max: MAX_TAGS,
    rule: "1 to 128 characters, no NUL",
    valid: valid_tag,
};

pub(crate) fn valid_tag(tag: &str) -> bool {
    (1..=MAX_TAG_LEN).contains(&tag.chars().count()) && !tag.contains('\0')
}

/// The latest a message may be scheduled, as Svix documents.
const DELIVER_AT_MAX_AHEAD: Duration = Duration::from_secs(24 * 60 * 60);

/// A `deliverAt` must be at least `min_ahead` (Svix documents a minute) and at most 24 hours after `now`.
fn check_deliver_at(at: Option<DateTime<Utc>>, now: DateTime<Utc>, min_ahead: Duration) -> ApiResult<()> {
    let Some(at) = at else { return Ok(()) };
    let ahead = (at - now).to_std().unwrap_or_default();
    if at > now && (min_ahead..=DELIVER_AT_MAX_AHEAD).contains(&ahead) {
        return Ok(());
    }
    Err(ApiError::invalid(
        &["body", "deliverAt"],
        format!(
            "must be at least {} s and at most 24 hours in the future",
            min_ahead.as_secs()
        ),
    ))
}

/// How long the payload is kept: days (`payloadRetentionPeriod`) or hours (`payloadRetentionHours`), never
/// both; 90 days when neither is sent. Hours are kept beside the default days, which they override.
fn retention(days: Option<i64>, hours: Option<i64>) -> ApiResult<(u16, Option<u16>)> {
    let within = |value: i64, range: &std::ops::RangeInclusive<i64>, field: &str, unit: &str| match range
        .contains(&value)
    {
        true => Ok(u16::try_from(value).unwrap_or(u16::MAX)),
        false => Err(ApiError::invalid(
            &["body", field],
            format!("must be between {} and {} {unit}", range.start(), range.end()),
        )),
    };
    match (days, hours) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            &["body", "payloadRetentionHours"],
            "cannot be sent with `payloadRetentionPeriod`: send one of them",
        )),
        (Some(days), None) => Ok((
            within(days, &RETENTION_DAYS, "payloadRetentionPeriod", "days")?,
            None,
        )),
        (None, Some(hours)) => {
            let hours = within(hours, &RETENTION_HOURS, "payloadRetentionHours", "hours")?;
            Ok((DEFAULT_RETENTION_DAYS, Some(hours)))
        }
        (None, None) => Ok((DEFAULT_RETENTION_DAYS, None)),
    }
}

/// The addressed application, created on the fly when the body carries one and it does not exist yet.
async fn app_for_message(
    state: &AppState,
    auth: &Auth,
    segment: &str,
    inline: Option<ApplicationIn>,
) -> ApiResult<Application> {
    match (lookup::application(state, auth, segment).await, inline) {
        (Err(ApiError::NotFound(_)), Some(app_in)) => {
            let Ref::Uid(uid) = lookup::app_ref(segment)? else {
                return Err(ApiError::not_found());
            };
            let app_in = ApplicationIn {
                uid: Some(app_in.uid.unwrap_or(uid)),
                ..app_in
            };
            create_application(state, auth, app_in).await
        }
        (found, _) => found,
    }
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/msg", tag = "Message",
    params(("app_id" = String, Path), ("limit" = Option<u64>, Query, format = "uint64"), ("iterator" = Option<String>, Query),
        ("channel" = Option<String>, Query), ("before" = Option<String>, Query), ("after" = Option<String>, Query),
        ("with_content" = Option<bool>, Query), ("event_types" = Option<Vec<String>>, Query),
        ("tag" = Option<String>, Query, description = "Only messages carrying this tag")),
    responses((status = 200, body = ListResponse<MessageOut>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(app_id): Path<String>,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<MessageOut>>> {
    let query = list_query(&q, Order::Descending)?;
    let filter = MessageFilter {
        common: message_filter(&q)?,
        tag: tag_filter(&q)?,
    };
    let with_content = q.bool("with_content")?.unwrap_or(true);
    let app = lookup::application(&state, &auth, &app_id).await?;
    let rows = state
        .stores
        .messages
        .list_messages(&app.org_id, &app.id, &filter, &query)
        .await?;
    let page = Page::from_walk(rows, &query, |m| m.id.to_string());
    Ok(Json(page.map(|m| MessageOut::new(m, with_content)).into()))
}

/// The `tag` filter of message and attempt listings: only records of messages carrying it.
pub fn tag_filter(q: &QueryParams) -> ApiResult<Option<String>> {
    match q.get("tag") {
        Some(tag) if !valid_tag(tag) => Err(ApiError::invalid(
            &["query", "tag"],
            format!("not a tag: 1 to {MAX_TAG_LEN} characters, no NUL"),
        )),
        tag => Ok(tag.map(str::to_owned)),
    }
}

/// The `before`, `after`, `event_types` and `channel` filters shared by message and attempt listings.
pub fn message_filter(q: &QueryParams) -> ApiResult<TimeTypeChannel> {
    Ok(TimeTypeChannel {
        before: q.datetime("before")?,
        after: q.datetime("after")?,
        event_types: parse_names(q, "event_types")?,
        channel: q.parse::<Channel>("channel")?,
    })
}

#[utoipa::path(get, path = "/api/v1/app/{app_id}/msg/{msg_id}", tag = "Message",
    params(("app_id" = String, Path), ("msg_id" = String, Path), ("with_content" = Option<bool>, Query)),
    responses((status = 200, body = MessageOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, msg_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<MessageOut>> {
    let with_content = q.bool("with_content")?.unwrap_or(true);
    let (_, message) = load(&state, &auth, &app_id, &msg_id).await?;
    Ok(Json(MessageOut::new(message, with_content)))
}

/// The application and one of its messages, or 404.
pub async fn load(
    state: &AppState,
    auth: &Auth,
    app_id: &str,
    msg_id: &str,
) -> ApiResult<(Application, Message)> {
    let app = lookup::application(state, auth, app_id).await?;
    let message = lookup::message(state, &app, msg_id).await?;
    Ok((app, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliver_at_is_bounded_by_the_minimum_delay_and_a_day() {
        let now = Utc::now();
        let minute = Duration::from_secs(60);
        let at = |secs: i64| Some(now + chrono::Duration::seconds(secs));
        for (when, ok) in [
            (None, true),
            (at(60), true),
            (at(24 * 3600), true),
            (at(59), false),
            (at(0), false),
            (at(-3600), false),
            (at(24 * 3600 + 1), false),
        ] {
            assert_eq!(check_deliver_at(when, now, minute).is_ok(), ok, "{when:?}");
        }
        assert!(
            check_deliver_at(at(2), now, Duration::from_secs(1)).is_ok(),
            "the delay is configurable"
        );
    }
}
