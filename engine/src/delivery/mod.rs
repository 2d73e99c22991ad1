//! The delivery worker: fan-out, signing, sending, recording, retrying.
//!
//! Layout:
//! - `worker`: the loops (lease → run under bounds → finish; promote due retries; reclaim dead leases).
//!   `worker/replays`: a replayed delivery sent once per replay.
//!   `worker/messages`: finding a task's message (waiting for one being stored; sharing one accepted or fanned
//!   out here).
//! - `attempt`: one attempt as stages of one `Delivery`: `prepare` (sign) → send (`Sent`) → `record` (attempt +
//!   retry decision).
//! - `news`: which attempts make operational news (failing, exhausted, recovered).
//! - `health`: failing streaks per endpoint, and when one has lasted long enough to disable it.
//! - `gates`: per-endpoint concurrency (bounded in flight and waiting, fair across endpoints).
//! - `throttle`: what a delivery refused by a rate limit does (wait in memory, or reschedule); `app_rates`:
//!   applications' rates, read once every few seconds per process.
//! - `http`: the pooled client, the address-checking resolver, bounded response reads.
//! - `recorder`: attempt records written in batches.
//! - `recent`: messages just accepted or fanned out, shared by reference with their first deliveries.
//! - `address`: which IP addresses may be delivered to.

mod address;
pub(crate) mod app_rates;
mod attempt;
mod gates;
mod health;
mod http;
mod news;
mod recent;
mod recorder;
mod throttle;
mod worker;

use std::time::Duration;

pub use address::AddressPolicy;
pub use attempt::{Delivery, RESERVED_HEADERS, USER_AGENT, prepare, record};
pub use health::RECHECK as HEALTH_RECHECK;
pub use http::{FailureKind, HttpSender, MAX_RESPONSE_BODY, OutgoingRequest, SendOutcome, Sent};
pub use news::{DeliveryNews, FAILING_AFTER, delivery_news};
pub use recent::RecentMessages;
pub use recorder::Recorder;
pub use worker::Worker;

use crate::retry::RetryPolicy;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This worker's name in the queue's consumer group; unique per process.
    pub consumer: String,
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
    /// Deliveries in flight at once, across all endpoints.
    pub max_in_flight: usize,
    /// Deliveries in flight at once to one endpoint.
    pub max_per_endpoint: usize,
    /// Tasks leased per queue read.
    pub batch_size: usize,
    /// How long one queue read waits for work.
    pub poll_wait: Duration,
    /// How often due retries are promoted and dead leases reclaimed.
    pub maintenance_interval: Duration,
    /// Also send `svix-id`, `svix-timestamp`, `svix-signature` for receivers migrating from Svix.
    pub svix_headers: bool,
    /// Disable an endpoint whose deliveries have all failed for this long; `None`: never.
    pub disable_after: Option<Duration>,
}

impl WorkerConfig {
    pub fn new(consumer: impl Into<String>) -> Self {
        Self {
            consumer: consumer.into(),
            retry: RetryPolicy::svix_default(),
            request_timeout: Duration::from_secs(30),
            max_in_flight: 512,
            max_per_endpoint: 32,
            batch_size: 128,
            poll_wait: Duration::from_secs(1),
            maintenance_interval: Duration::from_millis(200),
            svix_headers: false,
            disable_after: Some(Duration::from_secs(120 * 3600)),
        }
    }

    /// A lease idle for longer than this belongs to a dead worker: a live one finishes every task within the
    /// request timeout plus the time to record it.
    pub fn lease_timeout(&self) -> Duration {
        self.request_timeout * 2 + Duration::from_secs(10)
    }
}
