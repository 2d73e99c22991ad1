//! Endpoints' rate limits: one process owns the store's file, so in-memory limiters are shared by every
//! delivery there is, and nothing needs to be durable (a restart starts each endpoint with a fresh bucket).

use std::num::NonZeroU32;

use async_trait::async_trait;
use xwebhook_engine::id::EndpointId;
use xwebhook_engine::store::{Admission, RateLimits, StoreResult};

use crate::EmbeddedStore;

#[async_trait]
impl RateLimits for EmbeddedStore {
    async fn admit(&self, endpoint: &EndpointId, per_second: NonZeroU32) -> StoreResult<Admission> {
        self.rate_limits.admit(endpoint, per_second).await
    }
}
