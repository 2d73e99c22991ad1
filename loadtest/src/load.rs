//! The senders. Closed loop: C senders each send as soon as their previous message was accepted. Ordered: a
//! closed loop with one sender per application, so that each application's messages are accepted in the order
//! of their `seq` (what a FIFO destination must keep). Open loop:
//! messages are due at a fixed rate whatever the server does, and both the payload stamp and the ingest latency
//! start at the intended send time, so a stalled server shows up as latency instead of fewer samples
//! (no coordinated omission).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::api::Api;
use crate::payload::PayloadBuilder;
use crate::sink::stats::latency_histogram;
use crate::unix_micros;

/// Open loop stops issuing new requests beyond this many in flight (it then waits, and latency still counts from
/// the intended time); it bounds memory and sockets (ours and the server's) when the server stalls.
const MAX_IN_FLIGHT: usize = 2048;

/// Who messages go to: message `seq` goes to application `seq % apps.len()`.
pub struct Driver {
    pub api: Api,
    pub apps: Vec<String>,
    pub payload: PayloadBuilder,
    /// Messages accepted by the API, per application (what deliveries are owed against).
    pub sent_per_app: Vec<AtomicU64>,
    /// Messages accepted by the API in all (the progress line reads it).
    pub sent: AtomicU64,
}

/// What the senders saw.
pub struct Ingest {
    pub sent: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// API call latency, µs.
    pub latency: Histogram<u64>,
    pub elapsed: Duration,
}

impl Ingest {
    fn new() -> Self {
        Self {
            sent: 0,
            errors: 0,
            first_error: None,
            latency: latency_histogram(),
            elapsed: Duration::ZERO,
        }
    }

    fn tally(&mut self, outcome: Outcome) {
        match outcome.error {
            None => self.sent += 1,
            Some(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
        let _ = self.latency.record(outcome.latency_micros);
    }

    fn merge(&mut self, other: Ingest) {
        self.sent += other.sent;
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        let _ = self.latency.add(other.latency);
    }
}

impl Driver {
    pub fn new(api: Api, apps: Vec<String>, payload: PayloadBuilder) -> Self {
        let sent_per_app = apps.iter().map(|_| AtomicU64::new(0)).collect();
        Self {
            api,
            apps,
            payload,
            sent_per_app,
            sent: AtomicU64::new(0),
        }
    }

    /// Sends message `seq` stamped `sent_at_micros`; its latency counts from `since`.
    async fn send(&self, seq: u64, sent_at_micros: u64, since: Instant) -> Outcome {
        let app = (seq % self.apps.len() as u64) as usize;
        let body = self.payload.message(seq, sent_at_micros);
        let result = self.api.send_message(&self.apps[app], body).await;
        if result.is_ok() {
            self.sent_per_app[app].fetch_add(1, Ordering::Relaxed);
            self.sent.fetch_add(1, Ordering::Relaxed);
        }
        Outcome {
            error: result.err().map(|e| format!("{e:#}")),
            latency_micros: since.elapsed().as_micros().max(1) as u64,
        }
    }
}

/// One API call's result.
struct Outcome {
    error: Option<String>,
    latency_micros: u64,
}

/// Sends `total` messages with `concurrency` senders, as fast as the server takes them.
pub async fn closed_loop(driver: Arc<Driver>, total: u64, concurrency: usize) -> Ingest {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (driver, next) = (driver.clone(), next.clone());
        senders.spawn(async move {
            let mut tally = Ingest::new();
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= total {
                    return tally;
                }
                tally.tally(driver.send(seq, unix_micros(), Instant::now()).await);
            }
        });
    }
    gathered(senders, started).await
}

/// Sends `total` messages with one sender per application. Message `seq` goes to application `seq % apps` as
/// everywhere, and that application's sender sends them one after another, so its messages are accepted in
/// increasing `seq`: `seq` is a per-application sequence number (step `apps`) that stays unique across
/// applications (what the sink counts distinct messages by).
pub async fn ordered_loop(driver: Arc<Driver>, total: u64) -> Ingest {
    let apps = driver.apps.len() as u64;
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for app in 0..apps {
        let driver = driver.clone();
        senders.spawn(async move {
            let mut tally = Ingest::new();
            for seq in (app..total).step_by(apps as usize) {
                tally.tally(driver.send(seq, unix_micros(), Instant::now()).await);
            }
            tally
        });
    }
    gathered(senders, started).await
}

/// The senders' tallies together, timed from `started`.
async fn gathered(mut senders: tokio::task::JoinSet<Ingest>, started: Instant) -> Ingest {
    let mut ingest = Ingest::new();
    while let Some(done) = senders.join_next().await {
        if let Ok(tally) = done {
            ingest.merge(tally);
        }
    }
    ingest.elapsed = started.elapsed();
    ingest
}

/// When message `i` is due at `rate` messages per second, from the start.
pub fn intended_offset(i: u64, rate: u64) -> Duration {
    let nanos = u128::from(i) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(nanos.min(u128::from(u64::MAX)) as u64)
}

/// Sends `total` messages at `rate` messages per second.
pub async fn open_loop(driver: Arc<Driver>, total: u64, rate: u64) -> Ingest {
    let started = Instant::now();
    let started_micros = unix_micros();
    let limit = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let ingest = Arc::new(Mutex::new(Ingest::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for seq in 0..total {
        let offset = intended_offset(seq, rate);
        let due = started + offset;
        tokio::time::sleep_until(due).await;
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let (driver, ingest) = (driver.clone(), ingest.clone());
        let sent_at = started_micros + offset.as_micros() as u64;
        tasks.spawn(async move {
            let outcome = driver.send(seq, sent_at, due).await;
            drop(permit);
            ingest.lock().unwrap_or_else(|p| p.into_inner()).tally(outcome);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let mut ingest = std::mem::replace(
        &mut *ingest.lock().unwrap_or_else(|p| p.into_inner()),
        Ingest::new(),
    );
    ingest.elapsed = started.elapsed();
    ingest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_loop_schedule_is_exact_and_does_not_drift() {
        assert_eq!(intended_offset(0, 1000), Duration::ZERO);
        assert_eq!(intended_offset(1, 1000), Duration::from_millis(1));
        assert_eq!(intended_offset(3, 3), Duration::from_secs(1));
        // Computed from the index, not accumulated: no rounding drift after many messages.
        assert_eq!(intended_offset(3_000_000, 3), Duration::from_secs(1_000_000));
        assert_eq!(intended_offset(1, 3), Duration::from_nanos(333_333_333));
        assert_eq!(intended_offset(5, 0), Duration::from_secs(5));
    }
}
