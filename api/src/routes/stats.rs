//! An endpoint's numbers: `…/stats`, how many messages to it are in each delivery status; `…/attempt-stats`,
//! how many attempts to it succeeded and failed.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use serde::Serialize;
use xwebhook_engine::store::{StatusCounts, TimeTypeChannel};

use super::lookup;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointStats {
    pub success: u64,
    pub pending: u64,
    pub sending: u64,
    pub fail: u64,
    pub canceled: u64,
}

impl From<StatusCounts> for EndpointStats {
    fn from(c: StatusCounts) -> Self {
        Self {
            success: c.success,
            pending: c.pending,
            sending: c.sending,
            fail: c.fail,
            canceled: c.canceled,
        }
    }
}

/// Counts messages created in `[since, until)` (all of them when neither is given).
#[utoipa::path(get, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats", tag = "Endpoint",
    params(("app_id" = String, Path), ("endpoint_id" = String, Path), ("since" = Option<String>, Query),
        ("until" = Option<String>, Query)),
    responses((status = 200, body = EndpointStats)))]
pub async fn stats(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<EndpointStats>> {
    let window = window(q.datetime("since")?, q.datetime("until")?)?;
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let counts = state
        .stores
        .attempts
        .destination_counts(&app.org_id, &app.id, &endpoint.id, &window)
        .await?;
    Ok(Json(counts.into()))
}

/// `[since, until)` as a filter, whose bounds are exclusive: a record made exactly at `since` counts.
fn window(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> ApiResult<TimeTypeChannel> {
    if let (Some(since), Some(until)) = (since, until)
        && until <= since
    {
        return Err(ApiError::invalid(
            &["query", "until"],
            "must be later than `since`",
        ));
    }
    Ok(TimeTypeChannel {
        after: since.map(|s| s - TimeDelta::nanoseconds(1)),
        before: until,
        ..TimeTypeChannel::default()
    })
}

/// The SDK's `EndpointAttemptStats`. Nothing cancels an attempt here, so `canceled` is always 0.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointAttemptStats {
    pub success: u64,
    pub fail: u64,
    pub canceled: u64,
}

/// Counts the endpoint's attempts made in `[since, until)`, rounded out to whole hours as Svix documents
/// (`since` down, `until` up); all of them when neither is given.
#[utoipa::path(get, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/attempt-stats", tag = "Endpoint",
    params(("app_id" = String, Path), ("endpoint_id" = String, Path), ("since" = Option<String>, Query),
        ("until" = Option<String>, Query)),
    responses((status = 200, body = EndpointAttemptStats)))]
pub async fn attempt_stats(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<EndpointAttemptStats>> {
    let since = q.datetime("since")?.map(hour_floor);
    let until = q.datetime("until")?.map(hour_ceil);
    let window = window(since, until)?;
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let counts = state
        .stores
        .attempts
        .attempt_counts(&app.org_id, &app.id, &endpoint.id, &window)
        .await?;
    Ok(Json(EndpointAttemptStats {
        success: counts.success,
        fail: counts.fail,
        canceled: counts.canceled,
    }))
}

fn hour_floor(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

fn hour_ceil(at: DateTime<Utc>) -> DateTime<Utc> {
    match hour_floor(at) {
        floor if floor == at => at,
        floor => floor + TimeDelta::hours(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_round_out_to_whole_hours() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("a time");
        assert_eq!(
            hour_floor(at("2026-12-07T03:59:59.9Z")),
            at("2026-12-07T03:00:00Z")
        );
        assert_eq!(
            hour_ceil(at("2026-12-07T03:00:00.001Z")),
            at("2026-12-07T04:00:00Z")
        );
        assert_eq!(hour_ceil(at("2026-12-07T03:00:00Z")), at("2026-12-07T03:00:00Z"));
        assert_eq!(hour_ceil(at("2026-12-31T23:30:00Z")), at("2027-01-01T00:00:00Z"));
    }
}
