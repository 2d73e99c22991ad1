//! Endpoints' and applications' rate limits, held in this process with `governor`. One process owns the store's file, so
//! in-memory limiters are shared by every delivery there is, and nothing needs to be durable (a restart
//! starts each budget fresh). Across processes this would be wrong (each would allow the full
//! rate), which is why the shared backends keep rates beside their queue.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use xwebhook_engine::store::{Admission, Limited, RateLimits, StoreResult, burst};

use crate::EmbeddedStore;

/// Idle keys are swept out of the limiters once every this many calls, so that budgets that went quiet do
/// not keep their state forever.
const SWEEP_EVERY: u32 = 4096;

type Limiter = DefaultKeyedRateLimiter<Limited>;

/// One keyed limiter per distinct rate, since a `governor` keyed limiter applies one quota to all its keys.
#[derive(Default)]
pub(crate) struct LocalRateLimits {
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
    pub(crate) fn new() -> Self {
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

    /// Forgets budgets whose bucket is full again (they would be admitted as if new), and limiters that hold
    /// none any more.
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
    async fn admit(&self, limited: &Limited, per_second: NonZeroU32) -> StoreResult<Admission> {
        if self.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        // A changed rate moves the budget to another limiter, where it starts with a full (small) bucket.
        let admission = match self.limiter(per_second).check_key(limited) {
            Ok(()) => Admission::Now,
            Err(not_until) => Admission::After(not_until.wait_time_from(self.clock.now())),
        };
        Ok(admission)
    }
}

#[async_trait]
impl RateLimits for EmbeddedStore {
    async fn admit(&self, limited: &Limited, per_second: NonZeroU32) -> StoreResult<Admission> {
        self.rate_limits.admit(limited, per_second).await
    }
}
