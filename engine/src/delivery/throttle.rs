//! What a delivery does when a rate limit (its endpoint's own, or its application's, which all the
//! application's endpoints share) says "not yet": wait in memory when its slot is near, else go back to the
//! queue until about when its slot should come, so that a backlog is rescheduled about once per task instead of
//! bouncing through the queue.
//!
//! A refusal only says when the *next* slot frees (at most one emission interval away), not how many tasks
//! want it: this process keeps, per limit, how many of its tasks wait in memory and the latest time it gave a
//! deferred task, and places each newcomer behind them, one interval apiece. Tasks waiting in memory stand in
//! one line per limit, and only the first asks the limit (again after the wait it is told), so a line costs
//! one limit call per slot, not one per waiting task.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::debug;

use crate::clock::Clock;
use crate::store::{Admission, Limited, RateLimits, StoreResult, emission_interval};

/// Forgotten backlogs (nobody waiting, last deferral due) are swept once every this many plans.
const SWEEP_EVERY: u32 = 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Backlog {
    /// Tasks waiting in memory for a slot of this limit.
    in_memory: u32,
    /// When the last task this process deferred is due.
    horizon: Option<DateTime<Utc>>,
}

impl Backlog {
    fn idle(&self, now: DateTime<Utc>) -> bool {
        self.in_memory == 0 && self.horizon.is_none_or(|h| h <= now)
    }
}

/// One decision, before its bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Wait in memory, in the limit's line.
    Line,
    /// Give the task back to the queue, due at this time.
    Defer(DateTime<Utc>),
}

/// The policy, pure: the slot is `wait` away plus one interval per task already in line; near enough, the
/// task joins the line; otherwise it is due then, or one interval after the last deferred task.
fn plan(
    backlog: Backlog,
    now: DateTime<Utc>,
    wait: Duration,
    interval: Duration,
    max_in_memory: Duration,
) -> Plan {
    let slot = wait + interval * backlog.in_memory;
    if slot <= max_in_memory {
        return Plan::Line;
    }
    let earliest = now + chrono::Duration::from_std(slot).unwrap_or_default();
    let behind = backlog
        .horizon
        .map(|h| h + chrono::Duration::from_std(interval).unwrap_or_default());
    Plan::Defer(behind.map_or(earliest, |b| b.max(earliest)))
}

/// What the caller does with a refused delivery.
pub enum Decision<'a> {
    /// Wait in the limit's line (the guard counts this task in it), then ask the limit until admitted.
    Line(Waiting<'a>),
    /// Finish the task with a retry at this time; it is not an attempt.
    Defer(DateTime<Utc>),
}

struct Entry {
    backlog: Backlog,
    /// Held by the task at the front of the line, the only one asking the limit.
    line: Arc<tokio::sync::Mutex<()>>,
}

pub struct Throttle {
    max_in_memory: Duration,
    entries: Mutex<HashMap<Limited, Entry>>,
    plans: AtomicU32,
}

/// Counts a task as waiting in memory until dropped.
pub struct Waiting<'a> {
    throttle: &'a Throttle,
    limited: Limited,
    line: Arc<tokio::sync::Mutex<()>>,
}

impl Throttle {
    /// `max_in_memory`: the longest a task should wait for its slot in memory, holding its worker slot. It
    /// should outlast the interval at which due retries are promoted: they arrive together, and the limit's
    /// bucket is small, so the ones after the first few must be able to wait rather than be sent back again.
    pub fn new(max_in_memory: Duration) -> Self {
        Self {
            max_in_memory,
            entries: Mutex::new(HashMap::new()),
            plans: AtomicU32::new(0),
        }
    }

    /// Takes a slot of `limited`'s rate limit (messages per second), if it has one, waiting in memory while
    /// the slot is near; `Some(due)` when the task should rather go back to the queue until then (not an
    /// attempt: nothing is recorded and the attempt number stays).
    pub async fn slot(
        &self,
        limits: &dyn RateLimits,
        clock: &dyn Clock,
        limited: &Limited,
        rate_limit: Option<u16>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let Some(per_second) = rate_limit.and_then(|r| NonZeroU32::new(u32::from(r))) else {
            return Ok(None);
        };
        let wait = match limits.admit(limited, per_second).await? {
            Admission::Now => return Ok(None),
            Admission::After(wait) => wait,
        };
        let waiting = match self.decide(limited, clock.now(), wait, emission_interval(per_second)) {
            Decision::Line(waiting) => waiting,
            Decision::Defer(due) => {
                debug!(%limited, %due, "rate limited; delivery rescheduled");
                return Ok(Some(due));
            }
        };
        let _front = waiting.line.lock().await;
        // At the front: the next slot is at most one interval away, unless other processes take it first.
        loop {
            match limits.admit(limited, per_second).await? {
                Admission::Now => return Ok(None),
                Admission::After(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Limited, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Decides for a delivery under `limited` told to `wait` by a limit of one slot per `interval`.
    pub fn decide(
        &self,
        limited: &Limited,
        now: DateTime<Utc>,
        wait: Duration,
        interval: Duration,
    ) -> Decision<'_> {
        let sweep = self.plans.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1;
        let mut entries = self.lock();
        if sweep {
            entries.retain(|_, e| !e.backlog.idle(now));
        }
        let entry = entries.entry(limited.clone()).or_insert_with(|| Entry {
            backlog: Backlog::default(),
            line: Arc::new(tokio::sync::Mutex::new(())),
        });
        match plan(entry.backlog, now, wait, interval, self.max_in_memory) {
            Plan::Line => {
                entry.backlog.in_memory += 1;
                Decision::Line(Waiting {
                    throttle: self,
                    limited: limited.clone(),
                    line: entry.line.clone(),
                })
            }
            Plan::Defer(due) => {
                entry.backlog.horizon = Some(due);
                Decision::Defer(due)
            }
        }
    }

    #[cfg(test)]
    fn backlog(&self, limited: &Limited) -> Option<Backlog> {
        self.lock().get(limited).map(|e| e.backlog)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut entries = self.throttle.lock();
        if let Some(entry) = entries.get_mut(&self.limited) {
            entry.backlog.in_memory = entry.backlog.in_memory.saturating_sub(1);
            if entry.backlog.idle(Utc::now()) {
                entries.remove(&self.limited);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::EndpointId;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::milliseconds(ms)
    }

    fn backlog(in_memory: u32, horizon: Option<i64>) -> Backlog {
        Backlog {
            in_memory,
            horizon: horizon.map(at),
        }
    }

    #[test]
    fn plans() {
        let now = at(1_000);
        // (backlog, wait, interval, expected), with 250 ms in memory at most.
        let cases = [
            // A near slot and nobody ahead: wait for it in memory.
            (backlog(0, None), ms(10), ms(10), Plan::Line),
            // Each task ahead in memory takes one interval.
            (backlog(3, None), ms(10), ms(10), Plan::Line),
            (backlog(24, None), ms(10), ms(10), Plan::Line),
            // Too far: due when the slot would come...
            (backlog(25, None), ms(10), ms(10), Plan::Defer(at(1_260))),
            // ...or one interval behind the last deferred task, whichever is later.
            (backlog(25, Some(5_000)), ms(10), ms(10), Plan::Defer(at(5_010))),
            (backlog(25, Some(900)), ms(10), ms(10), Plan::Defer(at(1_260))),
            // A slow limit (1/s) defers at once, for the time the limit said.
            (backlog(0, None), ms(700), ms(1_000), Plan::Defer(at(1_700))),
        ];
        for (b, wait, interval, expected) in cases {
            assert_eq!(
                plan(b, now, wait, interval, ms(250)),
                expected,
                "{b:?} wait {wait:?}"
            );
        }
    }

    #[test]
    fn a_backlog_is_spread_one_interval_apart_and_forgotten_when_idle() {
        // One slot a second, and up to 1.5 s in memory: two tasks wait, the rest are deferred (seconds away,
        // far beyond the time this test takes).
        let (wait, interval) = (ms(10), Duration::from_secs(1));
        let throttle = Throttle::new(ms(1_500));
        let endpoint = Limited::Endpoint(EndpointId::generate());
        let now = Utc::now();
        let Decision::Line(first) = throttle.decide(&endpoint, now, wait, interval) else {
            panic!("the first task waits in memory");
        };
        let Decision::Line(second) = throttle.decide(&endpoint, now, wait, interval) else {
            panic!("the second task waits in memory too, a slot behind the first");
        };
        let dues: Vec<_> = (0..3)
            .map(|_| match throttle.decide(&endpoint, now, wait, interval) {
                Decision::Defer(due) => due,
                Decision::Line(_) => panic!("the third and later tasks are deferred"),
            })
            .collect();
        let (wait, interval) = (chrono::Duration::milliseconds(10), chrono::Duration::seconds(1));
        assert_eq!(
            dues[0],
            now + wait + interval * 2,
            "behind the two waiting in memory"
        );
        assert_eq!(dues[1], dues[0] + interval);
        assert_eq!(dues[2], dues[1] + interval);
        assert_eq!(throttle.backlog(&endpoint).map(|b| b.in_memory), Some(2));
        drop((first, second));
        // Still known while deferred tasks are not due: newcomers line up behind them.
        assert_eq!(throttle.backlog(&endpoint).map(|b| b.in_memory), Some(0));
        let other = Limited::Endpoint(EndpointId::generate());
        let Decision::Line(waiting) = throttle.decide(&other, now, wait.to_std().expect("positive"), ms(1))
        else {
            panic!("a near slot is waited for");
        };
        drop(waiting);
        assert_eq!(throttle.backlog(&other), None, "an idle endpoint is forgotten");
    }

    /// GCRA on tokio's clock (so paused time drives it): `burst` calls at once, then one per `interval`.
    struct Gcra {
        interval: Duration,
        burst: u32,
        arrival: Mutex<Option<tokio::time::Instant>>,
    }

    #[async_trait::async_trait]
    impl RateLimits for Gcra {
        async fn admit(&self, _: &Limited, _: NonZeroU32) -> StoreResult<Admission> {
            let now = tokio::time::Instant::now();
            let mut arrival = self.arrival.lock().expect("not poisoned");
            let tat = arrival.unwrap_or(now).max(now);
            let allowed_from = tat.checked_sub(self.interval * (self.burst - 1)).unwrap_or(now);
            if allowed_from > now {
                return Ok(Admission::After(allowed_from - now));
            }
            *arrival = Some(tat + self.interval);
            Ok(Admission::Now)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_backlog_is_admitted_within_the_rate_and_the_rest_get_distinct_slots() {
        let throttle = Arc::new(Throttle::new(ms(50)));
        let limits = Arc::new(Gcra {
            interval: ms(10),
            burst: 5,
            arrival: Mutex::new(None),
        });
        let clock = Arc::new(crate::clock::TokioClock::starting_at(Utc::now()));
        let endpoint = Limited::Endpoint(EndpointId::generate());
        let started = tokio::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..60 {
            let (throttle, limits, clock, endpoint) =
                (throttle.clone(), limits.clone(), clock.clone(), endpoint.clone());
            tasks.spawn(async move {
                let slot = throttle.slot(limits.as_ref(), clock.as_ref(), &endpoint, Some(100));
                slot.await.expect("in memory")
            });
        }
        let mut deferred = Vec::new();
        let mut admitted = 0_u64;
        while let Some(outcome) = tasks.join_next().await {
            match outcome.expect("task") {
                None => admitted += 1,
                Some(due) => deferred.push(due),
            }
        }
        // 100/s with a bucket of 5: what GCRA allows in the time this took, counting the interval begun.
        let most = 5 + (started.elapsed().as_secs_f64() * 100.0).ceil() as u64;
        assert!(
            admitted > 5,
            "the line in memory is admitted as slots free: {admitted}"
        );
        assert!(admitted <= most, "{admitted} admitted, at most {most}");
        assert_eq!(admitted + deferred.len() as u64, 60);
        assert!(
            !deferred.is_empty(),
            "a backlog beyond the in-memory wait goes back to the queue"
        );
        deferred.sort();
        for pair in deferred.windows(2) {
            assert!(
                pair[1] - pair[0] >= chrono::Duration::milliseconds(10),
                "deferred tasks are given distinct slots, one interval apart: {pair:?}"
            );
        }
        let unlimited = throttle.slot(limits.as_ref(), clock.as_ref(), &endpoint, None);
        assert_eq!(unlimited.await.expect("none"), None, "no limit, no wait");
    }
}
