//! The endpoint health port: when each endpoint's current streak of failed deliveries began, shared by every
//! worker process, so that an endpoint failing for long enough is disabled however its deliveries are spread
//! over processes.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::id::{AppId, EndpointId, OrgId};

#[async_trait]
pub trait EndpointHealth: Send + Sync {
    /// Notes that a delivery to the endpoint failed at `at` (kept to the millisecond), atomically: a streak already stored keeps its
    /// start, else one starts at `at`. Returns the streak's start. The streak is forgotten `ttl` after the last
    /// note (an endpoint that fails, then gets nothing for a long time, starts afresh), so that the rows of
    /// deleted or quiet endpoints do not pile up.
    async fn note_failure(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        at: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<DateTime<Utc>>;

    /// Ends the endpoint's failing streak, if it has one (a delivery succeeded). Idempotent.
    async fn note_success(&self, org: &OrgId, app: &AppId, endpoint: &EndpointId) -> StoreResult<()>;
}
