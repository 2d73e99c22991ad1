//! Rate limits held in this process, with `governor`: right when one process delivers for all endpoints (the
//! embedded store, which one process owns), wrong across processes (each would allow the full rate).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::StoreResult;
use super::rate_limit::{Admission, RateLimits, burst};
use crate::id::EndpointId;

/// Idle keys are swept out of the limiters once every this many calls, so that endpoints that went quiet do
/// not keep their state forever.
const SWEEP_EVERY: u32 = 4096;

type Limiter = DefaultKeyedRateLimiter<EndpointId>;

/// One keyed limiter per distinct rate, since a `governor` keyed limiter applies one quota to all its keys.
#[derive(Default)]
pub struct LocalRateLimits {
    by_rate: Mutex<HashMap<NonZeroU32, Arc<Limiter>>>,
    calls: AtomicU32,
    clock: DefaultClock,
}

impl std::fmt::Debug for LocalRateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRateLimits").finish_non_exhaustive()
    }
}

impl LocalRateLimits {
    pub fn new() -> Self {
        Self::default()
    }

    fn limiter(&self, per_second: NonZeroU32) -> Arc<Limiter> {
        let mut by_rate = self
            .by_rate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        by_rate
            .entry(per_second)
            .or_insert_with(|| {
                let quota = Quota::per_second(per_second).allow_burst(burst(per_second));
                Arc::new(RateLimiter::keyed(quota))
            })
            .clone()
    }

    /// Forgets endpoints whose bucket is full again (they would be admitted as if new), and limiters that
    /// hold no endpoint any more.
    fn sweep(&self) {
        let mut by_rate = self
            .by_rate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        by_rate.retain(|_, limiter| {
            limiter.retain_recent();
            !limiter.is_empty()
        });
    }
}

#[async_trait]
impl RateLimits for LocalRateLimits {
    async fn admit(&self, endpoint: &EndpointId, per_second: NonZeroU32) -> StoreResult<Admission> {
        if self.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        // A changed rate moves the endpoint to another limiter, where it starts with a full (small) bucket.
        let admission = match self.limiter(per_second).check_key(endpoint) {
            Ok(()) => Admission::Now,
            Err(not_until) => Admission::After(not_until.wait_time_from(self.clock.now())),
        };
        Ok(admission)
    }
}
