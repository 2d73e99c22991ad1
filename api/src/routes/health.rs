//! `/api/v1/health`: readiness per dependency, and liveness.
//!
//! Svix's contract answers `204` with no body, and the SDKs' `health.get()` expect exactly that, so a healthy
//! process still answers `204`. The per-dependency report is the body of every `503` (what a load balancer and
//! the on-call engineer need when something is down), and of a `200` when asked with `?verbose=true`.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use xwebhook_engine::store::StoreResult;

use crate::extract::QueryParams;
use crate::state::AppState;

/// How long one dependency may take to answer before it counts as down: short enough that the whole check
/// answers within a second when a server is unreachable (the probes run concurrently).
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Down,
}

/// One dependency's answer. Why it failed goes to the log, not into the body (5xx bodies carry no internals).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckOut {
    pub status: HealthStatus,
    /// How long the probe took, up to the timeout.
    pub latency_ms: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChecksOut {
    /// The record store (applications, endpoints, messages, attempts).
    pub store: CheckOut,
    /// The delivery queue.
    pub queue: CheckOut,
    /// The side store shared by processes: idempotency keys, failing streaks, token revocations.
    pub cache: CheckOut,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthOut {
    /// `down` when any check is.
    pub status: HealthStatus,
    pub checks: ChecksOut,
}

/// The query, as documented; [`health`] reads it through [`QueryParams::flag`].
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthParams {
    /// Answer `200` with the per-dependency report instead of `204` when everything is up. A bare `?verbose`
    /// counts as `true`.
    #[expect(dead_code, reason = "only documents the query parameter")]
    pub verbose: bool,
}

/// Ready when every dependency answers within its timeout; `503` otherwise, so that a load balancer takes
/// the process out.
// axum answers HEAD on every GET route (without the body), as the contract documents.
#[utoipa::path(
    method(get, head),
    path = "/api/v1/health",
    tag = "Health",
    params(HealthParams),
    responses(
        (status = 204, description = "every dependency is up"),
        (status = 200, description = "every dependency is up (`verbose=true`)", body = HealthOut),
        (status = 503, description = "a dependency is down", body = HealthOut),
    )
)]
pub async fn health(State(state): State<AppState>, q: QueryParams) -> Response {
    // Read by hand rather than as `Query<HealthParams>`: serde cannot read a bare `?verbose` as a boolean.
    let verbose = match q.flag("verbose") {
        Ok(verbose) => verbose.unwrap_or(false),
        Err(e) => return e.into_response(),
    };
    let stores = &state.stores;
    let (store, queue, cache) = tokio::join!(
        check("store", stores.applications.probe()),
        check("queue", stores.queue.probe()),
        check("cache", stores.idempotency.probe()),
    );
    let checks = ChecksOut { store, queue, cache };
    let all_up = [&checks.store, &checks.queue, &checks.cache]
        .iter()
        .all(|c| c.status == HealthStatus::Ok);
    match (all_up, verbose) {
        (true, false) => StatusCode::NO_CONTENT.into_response(),
        (true, true) => (StatusCode::OK, Json(report(HealthStatus::Ok, checks))).into_response(),
        (false, _) => {
            let body = Json(report(HealthStatus::Down, checks));
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
    }
}

fn report(status: HealthStatus, checks: ChecksOut) -> HealthOut {
    HealthOut { status, checks }
}

/// Runs one probe under [`PROBE_TIMEOUT`], logging why it failed.
async fn check(dependency: &'static str, probe: impl Future<Output = StoreResult<()>>) -> CheckOut {
    let started = Instant::now();
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, probe).await;
    // Whole microseconds, so the figure reads 1.234 rather than 1.2340000000000002.
    let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
    let latency_ms = f64::from(micros) / 1000.0;
    let status = match outcome {
        Ok(Ok(())) => HealthStatus::Ok,
        Ok(Err(e)) => {
            tracing::warn!(
                dependency,
                error = &e as &dyn std::error::Error,
                "health check failed"
            );
            HealthStatus::Down
        }
        Err(_) => {
            tracing::warn!(
                dependency,
                timeout_ms = PROBE_TIMEOUT.as_millis(),
                "health check timed out"
            );
            HealthStatus::Down
        }
    };
    CheckOut { status, latency_ms }
}

/// Liveness: the process answers.
#[utoipa::path(method(get, head), path = "/api/v1/health/ping", tag = "Health", responses((status = 204)))]
pub async fn ping() -> StatusCode {
    StatusCode::NO_CONTENT
}
