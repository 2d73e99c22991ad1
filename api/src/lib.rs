//! Xwebhook's REST API: Svix-compatible paths, JSON shapes, pagination and errors, so that the official `svix`
//! SDKs work against it unchanged.
//!
//! Layout:
//! - [`router`]: the routes and the layers every request passes (CORS, body limit, trailing slashes,
//!   idempotency).
//! - `routes`: handlers, one module per resource.
//! - `dto`: the JSON shapes (`XIn`, `XPatch`, `XOut`), separate from stored records.
//! - [`access`]: which kind of token may call which route, in one table, enforced by one layer.
//! - `auth`: bearer JWTs (svix-server compatible); `idempotency`: `Idempotency-Key` replay.
//! - `extract`, `pagination`, `error`: input parsing with located 422s, list envelopes, the one error mapping.
//! - `openapi`: our generated OpenAPI document.
//! - `telemetry`: request ids, request spans and request-duration metrics.
//! - `serve`: the accept loop: header, body and keep-alive timeouts, and the cap on open connections.
//! - `fuzzing` (feature `fuzzing`): the request decoders, exposed to the cargo-fuzz targets in `fuzz/`.
//!
//! It reaches storage only through the engine's ports, and must never depend on a storage crate.

pub mod access;
pub mod auth;
pub mod dto;
pub mod error;
mod extract;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod idempotency;
pub mod openapi;
pub mod pagination;
mod routes;
mod serve;
mod state;
mod telemetry;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use tower_http::cors::CorsLayer;
use tower_http::normalize_path::NormalizePathLayer;

pub use auth::{Auth, IssueError, JwtAuth};
pub use serve::{BodyReadTimeout, ConnectionLimits};
pub use state::{ApiConfig, AppParts, AppState};
pub use telemetry::{SVIX_REQ_ID, X_REQUEST_ID};

use error::ApiError;
use routes::{
    admin, application, attempt, background_task, destination, endpoint, event_type, example, expunge,
    headers, health, logout, message, poller, portal, recover, secret, statistics, stats,
};

/// The API's routes with their layers; requests to routes merged in later pass none of them.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let api = Router::new()
        .merge(application_routes())
        .merge(endpoint_routes())
        .merge(message_routes())
        .merge(event_type_routes())
        .merge(operational_webhook_routes())
        .merge(destination_routes())
        .route("/background-task", get(background_task::list))
        .route("/background-task/{task_id}", get(background_task::get))
        .route("/stats/usage/app", post(statistics::aggregate_app_stats))
        .route("/stats/usage/event-types", put(statistics::aggregate_event_types))
        .merge(operator_routes())
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // Both run after routing, so they see the route template; the one added last runs first: access, then
        // idempotency, so a request that may not call a route never claims an idempotency key.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), access::layer));
    let router = Router::new()
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CorsLayer::very_permissive())
        .with_state(state);
    telemetry::layer(router)
}

fn application_routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(application::list).post(application::create))
        .route(
            "/app/{app_id}",
            get(application::get)
                .put(application::upsert)
                .patch(application::patch)
                .delete(application::delete),
        )
        .route(
            "/auth/app-portal-access/{app_id}",
            post(portal::app_portal_access),
        )
        .route("/auth/app/{app_id}/expire-all", post(portal::expire_all))
        .route("/auth/logout", post(logout::logout))
}

fn endpoint_routes() -> Router<AppState> {
    const ONE: &str = "/app/{app_id}/endpoint/{endpoint_id}";
    Router::new()
        .route(
            "/app/{app_id}/endpoint",
            get(endpoint::list).post(endpoint::create),
        )
        .route(
            ONE,
            get(endpoint::get)
                .put(endpoint::upsert)
                .patch(endpoint::patch)
                .delete(endpoint::delete),
        )
        .route(&format!("{ONE}/secret"), get(secret::get))
        .route(&format!("{ONE}/secret/rotate"), post(secret::rotate))
        .route(
            &format!("{ONE}/headers"),
            get(headers::get).put(headers::update).patch(headers::patch),
        )
        .route(&format!("{ONE}/msg"), get(attempt::list_endpoint_messages))
        .route(&format!("{ONE}/send-example"), post(example::send_example))
        .route(&format!("{ONE}/recover"), post(recover::recover))
        .route(&format!("{ONE}/stats"), get(stats::stats))
        .route(&format!("{ONE}/attempt-stats"), get(stats::attempt_stats))
        .route(
            &format!("{ONE}/replay-missing"),
            post(background_task::replay_missing),
        )
        .route(&format!("{ONE}/bulk-replay"), post(background_task::bulk_replay))
}

fn destination_routes() -> Router<AppState> {
    const ONE: &str = "/app/{app_id}/destination/{destination_id}";
    const POLLER: &str = "/app/{app_id}/poller/{sink_id}";
    Router::new()
        .route(
            "/app/{app_id}/destination",
            get(destination::list).post(destination::create),
        )
        .route(
            ONE,
            get(destination::get)
                .put(destination::upsert)
                .patch(destination::patch)
                .delete(destination::delete),
        )
        .route(&format!("{ONE}/secret/rotate"), post(destination::rotate_secret))
        .route(&format!("{ONE}/attempt"), get(destination::list_attempts))
        .route(POLLER, get(poller::poll))
        .route(
            &format!("{POLLER}/consumer/{{consumer_id}}"),
            get(poller::consumer_poll),
        )
        .route(
            &format!("{POLLER}/consumer/{{consumer_id}}/seek"),
            post(poller::consumer_seek),
        )
        .route("/auth/app/{app_id}/poller/{sink_id}/token", post(poller::token))
}

fn message_routes() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/msg", get(message::list).post(message::create))
        .route("/app/{app_id}/msg/precheck/active", post(message::precheck))
        .route(
            "/app/{app_id}/msg/bulk-expunge",
            post(expunge::bulk_message_content),
        )
        .route(
            "/app/{app_id}/msg/expunge-all-contents",
            post(expunge::all_message_contents),
        )
        .route("/app/{app_id}/msg/{msg_id}", get(message::get))
        .route(
            "/app/{app_id}/msg/{msg_id}/content",
            delete(expunge::message_content),
        )
        .route(
            "/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content",
            delete(expunge::attempt_content),
        )
        .route(
            "/app/{app_id}/msg/{msg_id}/endpoint",
            get(attempt::list_destinations),
        )
        .route(
            "/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend",
            post(attempt::resend),
        )
        .route(
            "/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}",
            get(attempt::get),
        )
        .route(
            "/app/{app_id}/attempt/endpoint/{endpoint_id}",
            get(attempt::list_by_endpoint),
        )
        .route(
            "/app/{app_id}/attempt/msg/{msg_id}",
            get(attempt::list_by_message),
        )
}

fn event_type_routes() -> Router<AppState> {
    Router::new()
        .route("/event-type", get(event_type::list).post(event_type::create))
        .route(
            "/event-type/{event_type_name}",
            get(event_type::get)
                .put(event_type::upsert)
                .patch(event_type::patch)
                .delete(event_type::delete),
        )
}

fn operational_webhook_routes() -> Router<AppState> {
    use routes::operational_webhook as ow;
    const ONE: &str = "/operational-webhook/endpoint/{endpoint_id}";
    Router::new()
        .route("/operational-webhook/endpoint", get(ow::list).post(ow::create))
        .route(ONE, get(ow::get).put(ow::upsert).delete(ow::delete))
        .route(
            &format!("{ONE}/headers"),
            get(ow::get_headers).put(ow::set_headers),
        )
        .route(&format!("{ONE}/secret"), get(ow::get_secret))
        .route(&format!("{ONE}/secret/rotate"), post(ow::rotate_secret))
}

/// Health, the OpenAPI document, and operator actions outside the Svix contract.
fn operator_routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/health/ping", get(health::ping))
        .route("/openapi.json", get(|| async { axum::Json(openapi::document()) }))
        .route("/admin/redrive-dlq", post(admin::redrive_dlq))
        .route("/admin/queue", get(admin::queue_depths))
}

/// Serves `app` (the API's [`router`], and whatever the caller merged into it) on `listener` within `limits`
/// until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use tower::Layer as _;
    // Trailing slashes are trimmed before routing, so `/app/` and `/app` are one route.
    let app = NormalizePathLayer::trim_trailing_slash().layer(app);
    serve::serve(listener, app, limits, shutdown).await
}
