//! Quiet failure logs for background loops. A loop that retries every 200 ms during an outage would log a
//! warning each time (millions of lines in half an hour); a [`FailureLog`] logs the first failure, then at most
//! one summary per interval with the count and the last error, and one line when the loop recovers.
//!
//! Time is `tokio::time::Instant`, so tests drive it with paused time.

use std::fmt::Display;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

/// At most one summary line per loop per this long while it keeps failing.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// The failure log of one loop (or one shared resource). Not shared: each loop owns its own, so one loop's
/// outage summary never hides another's first failure.
#[derive(Debug)]
pub struct FailureLog {
    /// What fails, as the `task` field of every line: "receiving deliveries", "expiring payloads".
    task: &'static str,
    interval: Duration,
    outage: Option<Outage>,
}

#[derive(Debug)]
struct Outage {
    started: Instant,
    last_line: Instant,
    failures: u64,
    /// Failures since the last line, so a summary says what it summarises.
    unlogged: u64,
    last_error: String,
}

/// What a call logged; tests read it, callers may ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    Nothing,
    /// The first failure of an outage, with its error.
    First,
    /// A summary of the failures since the last line.
    Summary {
        failures: u64,
    },
    /// The loop works again after this many failures.
    Recovered {
        failures: u64,
    },
}

impl FailureLog {
    pub fn new(task: &'static str) -> Self {
        Self::with_interval(task, SUMMARY_INTERVAL)
    }

    pub fn with_interval(task: &'static str, interval: Duration) -> Self {
        Self {
            task,
            interval,
            outage: None,
        }
    }

    /// Notes a failure; logs it if it starts an outage or a summary is due.
    pub fn failed(&mut self, error: &dyn Display) -> Logged {
        let now = Instant::now();
        let task = self.task;
        let Some(outage) = self.outage.as_mut() else {
            warn!(task, error = %error, "background task failed; further failures are summarised");
            self.outage = Some(Outage {
                started: now,
                last_line: now,
                failures: 1,
                unlogged: 0,
                last_error: error.to_string(),
            });
            return Logged::First;
        };
        outage.failures += 1;
        outage.unlogged += 1;
        outage.last_error = error.to_string();
        if now.duration_since(outage.last_line) < self.interval {
            return Logged::Nothing;
        }
        let failures = std::mem::take(&mut outage.unlogged);
        outage.last_line = now;
        warn!(
            task,
            failures,
            total_failures = outage.failures,
            failing_for_s = now.duration_since(outage.started).as_secs(),
            last_error = %outage.last_error,
            "background task still failing"
        );
        Logged::Summary { failures }
    }

    /// Notes a success; logs the recovery if an outage was under way.
    pub fn succeeded(&mut self) -> Logged {
        let Some(outage) = self.outage.take() else {
            return Logged::Nothing;
        };
        info!(
            task = self.task,
            failures = outage.failures,
            failed_for_s = outage.started.elapsed().as_secs(),
            last_error = %outage.last_error,
            "background task recovered"
        );
        Logged::Recovered {
            failures: outage.failures,
        }
    }

    /// Notes the outcome of one round.
    pub fn note<T, E: Display>(&mut self, result: &Result<T, E>) -> Logged {
        match result {
            Ok(_) => self.succeeded(),
            Err(e) => self.failed(e),
        }
    }
}

/// A [`FailureLog`] for a resource that many tasks use at once (a connection pool, a scrape handler).
#[derive(Debug)]
pub struct SharedFailureLog(Mutex<FailureLog>);

impl SharedFailureLog {
    pub fn new(task: &'static str) -> Self {
        Self(Mutex::new(FailureLog::new(task)))
    }

    pub fn failed(&self, error: &dyn Display) -> Logged {
        self.lock().failed(error)
    }

    pub fn succeeded(&self) -> Logged {
        self.lock().succeeded()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FailureLog> {
        // The log holds counters only: a panic mid-update leaves nothing worth refusing to log over.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
