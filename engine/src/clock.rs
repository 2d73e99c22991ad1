//! Wall-clock time, passed in so that tests can control it.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that follows tokio's (possibly paused) time from a fixed start, for tests of timing.
#[derive(Debug, Clone)]
pub struct TokioClock {
    wall_start: DateTime<Utc>,
    instant_start: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(wall_start: DateTime<Utc>) -> Self {
        Self {
            wall_start,
            instant_start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now() - self.instant_start;
        self.wall_start + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}
