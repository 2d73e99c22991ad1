//! Keeping a successful response for replay. The request's effects are already stored when this runs, so
//! nothing here may turn its 2xx into an error; and a retry must never run the request a second time.
//!
//! If the cache refuses the response, the 2xx still goes out and a background task keeps trying, so the claim
//! (which makes a retry wait) ends in something a retry can replay:
//! - during the first half of the claim's lifetime, the response itself (a retry waiting meanwhile gets it);
//! - then, until twice that lifetime, a small 409 saying the request succeeded but its response was lost. It is
//!   the safe answer: the client looks the object up rather than creating it again, and a small value still
//!   fits where a large one was refused (a Redis at `maxmemory`, a full disk).
//!
//! Past that the task gives up, loudly: once the claim has lapsed a retry may run afresh. Only a cache that
//! stays unwritable for that long (then `begin` fails too, so retries get 503 meanwhile) gets there. The task
//! is not tracked at shutdown: it holds no state of its own, and losing it is the give-up case above.

use std::time::Duration;

use axum::body::to_bytes;
use axum::response::IntoResponse;
use tokio::time::Instant;
use xwebhook_engine::store::{CachedResponse, StoreResult};

use crate::error::ApiError;
use crate::state::AppState;

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(2);

/// Stores `response` for replay under `key`, now or in the background; never fails the request.
pub(super) async fn keep(state: &AppState, key: &str, response: CachedResponse) {
    let Err(e) = complete(state, key, &response).await else {
        return;
    };
    tracing::warn!(
        error = %e,
        bytes = response.body.len(),
        "caching an idempotent response failed; retrying in the background"
    );
    tokio::spawn(keep_trying(state.clone(), key.to_owned(), response));
}

async fn complete(state: &AppState, key: &str, response: &CachedResponse) -> StoreResult<()> {
    let ttl = state.config.idempotency_ttl;
    state.stores.idempotency.complete(key, response, ttl).await
}

async fn keep_trying(state: AppState, key: String, response: CachedResponse) {
    let claim = state.config.idempotency_wait;
    let started = Instant::now();
    let mut delay = FIRST_DELAY;
    let mut lost = None;
    while started.elapsed() < claim * 2 {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_DELAY);
        let attempt = if started.elapsed() < claim / 2 {
            complete(&state, &key, &response).await
        } else {
            let lost = match &lost {
                Some(lost) => lost,
                None => lost.insert(lost_response().await),
            };
            complete(&state, &key, lost).await
        };
        if attempt.is_ok() {
            tracing::info!(
                replays_body = lost.is_none(),
                "cached an idempotent response after retrying"
            );
            return;
        }
    }
    tracing::error!(
        "giving up caching an idempotent response: a retry with its key may run the request again"
    );
}

/// What a retry sees when the response could not be kept: a conflict, never a second run.
async fn lost_response() -> CachedResponse {
    let detail = "the request with this Idempotency-Key succeeded, but its response could not be kept; look the \
                  object up instead of retrying";
    let response = ApiError::Conflict(detail.into()).into_response();
    let status = response.status().as_u16();
    // An error body is built in memory: collecting it cannot fail.
    let body = to_bytes(response.into_body(), usize::MAX)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    CachedResponse { status, body }
}
