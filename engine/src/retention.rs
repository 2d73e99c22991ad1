//! The payload cleaner: a background task that expunges payloads whose retention period has ended.
//!
//! Every process with the worker role runs one. Each round drains what is due in bounded batches, yielding
//! between them, so no batch holds a transaction or a lock for long and the API's writes interleave. Several
//! processes may run it at once: [`RetentionStore::expire_payloads`] lets concurrent callers share the work.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::clock::Clock;
use crate::log_limit::FailureLog;
use crate::store::{RetentionStore, StoreResult};

/// How the cleaner paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanerConfig {
    /// Pause between rounds.
    pub interval: Duration,
    /// Payloads expunged per batch (per store call).
    pub batch: usize,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
            batch: 1000,
        }
    }
}

pub struct PayloadCleaner {
    store: Arc<dyn RetentionStore>,
    clock: Arc<dyn Clock>,
    config: CleanerConfig,
}

impl PayloadCleaner {
    pub fn new(store: Arc<dyn RetentionStore>, clock: Arc<dyn Clock>, config: CleanerConfig) -> Self {
        Self { store, clock, config }
    }

    /// Runs a round at once, then one per interval, until `shutdown` fires (also between batches).
    pub async fn run(self, shutdown: CancellationToken) {
        info!(
            interval_s = self.config.interval.as_secs(),
            batch = self.config.batch,
            "payload cleaner started"
        );
        let mut tick = tokio::time::interval(self.config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failures = FailureLog::new("expiring payloads");
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let round = self.round(&shutdown).await;
            // The next round tries again after a failure; nothing is lost by waiting.
            failures.note(&round);
            if let Ok(n @ 1..) = round {
                info!(expunged = n, "expired payloads expunged");
            }
        }
        info!("payload cleaner stopped");
    }

    /// Expunges everything due now, batch by batch; returns how many payloads it expunged.
    pub async fn round(&self, shutdown: &CancellationToken) -> StoreResult<u64> {
        let now = self.clock.now();
        let mut total = 0;
        while !shutdown.is_cancelled() {
            let n = self.store.expire_payloads(now, self.config.batch).await?;
            total += n;
            debug!(expunged = n, "payload expiry batch");
            // A short batch means nothing more was due.
            if n < self.config.batch as u64 {
                break;
            }
            // Lets the API's tasks (and, for the embedded store, its other writes) run between batches.
            tokio::task::yield_now().await;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::clock::SystemClock;
    use crate::store::PruneCounts;

    /// A store with `due` payloads left; records each call's limit.
    struct Due {
        due: Mutex<u64>,
        calls: Mutex<Vec<usize>>,
    }

    #[async_trait]
    impl RetentionStore for Due {
        async fn expire_payloads(&self, _now: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
            self.calls.lock().expect("lock").push(limit);
            let mut due = self.due.lock().expect("lock");
            let n = (*due).min(limit as u64);
            *due -= n;
            Ok(n)
        }

        async fn prune_before(&self, _cutoff: DateTime<Utc>, _limit: usize) -> StoreResult<PruneCounts> {
            Ok(PruneCounts::default())
        }
    }

    fn cleaner(due: u64, batch: usize) -> (PayloadCleaner, Arc<Due>) {
        let store = Arc::new(Due {
            due: Mutex::new(due),
            calls: Mutex::new(Vec::new()),
        });
        let config = CleanerConfig {
            interval: Duration::from_secs(60),
            batch,
        };
        (
            PayloadCleaner::new(store.clone(), Arc::new(SystemClock), config),
            store,
        )
    }

    #[tokio::test]
    async fn a_round_drains_in_batches_and_stops_on_a_short_one() {
        let (cleaner, store) = cleaner(25, 10);
        let n = cleaner.round(&CancellationToken::new()).await.expect("round");
        assert_eq!(n, 25);
        assert_eq!(*store.calls.lock().expect("lock"), vec![10, 10, 10]);
    }

    #[tokio::test]
    async fn an_exact_multiple_needs_one_empty_batch_to_end() {
        let (cleaner, store) = cleaner(20, 10);
        assert_eq!(cleaner.round(&CancellationToken::new()).await.expect("round"), 20);
        assert_eq!(store.calls.lock().expect("lock").len(), 3);
    }

    #[tokio::test]
    async fn a_cancelled_round_stops_between_batches() {
        let (cleaner, store) = cleaner(25, 10);
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        assert_eq!(cleaner.round(&shutdown).await.expect("round"), 0);
        assert!(store.calls.lock().expect("lock").is_empty());
    }
}
