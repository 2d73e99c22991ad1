//! The service's metrics, recorded through the `metrics` facade: one named function per event, called from one
//! spot each, so that every metric's name, unit and labels are defined here and nowhere else.
//!
//! Without an installed recorder (the binary installs the Prometheus one unless told not to) every call here
//! is a no-op. No metric carries a per-application or per-endpoint label: their number is unbounded, and
//! per-endpoint figures are what the endpoint stats API is for.

use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

use crate::delivery::{FailureKind, SendOutcome, Sent};
use crate::store::QueueDepths;

pub const MESSAGES_ACCEPTED: &str = "xwebhook_messages_accepted_total";
pub const DELIVERY_ATTEMPTS: &str = "xwebhook_delivery_attempts_total";
pub const RETRIES_SCHEDULED: &str = "xwebhook_retries_scheduled_total";
pub const MESSAGES_EXHAUSTED: &str = "xwebhook_messages_exhausted_total";
pub const ENDPOINTS_DISABLED: &str = "xwebhook_endpoints_disabled_total";
pub const ATTEMPT_DURATION: &str = "xwebhook_attempt_duration_seconds";
pub const DELIVERY_LATENCY: &str = "xwebhook_delivery_latency_seconds";
pub const HTTP_REQUEST_DURATION: &str = "xwebhook_http_request_duration_seconds";
pub const QUEUE_DEPTH: &str = "xwebhook_queue_depth";
pub const DELIVERIES_IN_FLIGHT: &str = "xwebhook_deliveries_in_flight";
pub const WORKER_CONCURRENCY: &str = "xwebhook_worker_concurrency";
pub const SINK_BATCHES: &str = "xwebhook_sink_batches_total";
pub const SINK_EVENTS_DELIVERED: &str = "xwebhook_sink_events_delivered_total";

/// Every metric this service exports: the one list that dashboards and their tests are checked against.
pub const ALL: &[&str] = &[
    MESSAGES_ACCEPTED,
    DELIVERY_ATTEMPTS,
    RETRIES_SCHEDULED,
    MESSAGES_EXHAUSTED,
    ENDPOINTS_DISABLED,
    ATTEMPT_DURATION,
    DELIVERY_LATENCY,
    HTTP_REQUEST_DURATION,
    QUEUE_DEPTH,
    DELIVERIES_IN_FLIGHT,
    WORKER_CONCURRENCY,
    SINK_BATCHES,
    SINK_EVENTS_DELIVERED,
];

/// Histogram buckets, in seconds, for the exporter to install.
pub const HISTOGRAM_BUCKETS: &[(&str, &[f64])] = &[
    // One HTTP exchange, bounded by the request timeout (30 s by default).
    (
        ATTEMPT_DURATION,
        &[
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ],
    ),
    // Accepted → delivered spans milliseconds (first try) to days (the last retries of the schedule).
    (
        DELIVERY_LATENCY,
        &[
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0,
            21600.0, 86400.0,
        ],
    ),
    (
        HTTP_REQUEST_DURATION,
        &[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ],
    ),
];

/// How one delivery attempt ended, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Success,
    /// A non-2xx answer other than 429.
    HttpError,
    Timeout,
    ConnectError,
    /// The destination is an address deliveries may not go to.
    Refused,
    /// The receiver answered 429 Too Many Requests.
    RateLimited,
}

impl AttemptOutcome {
    pub const ALL: [Self; 6] = [
        Self::Success,
        Self::HttpError,
        Self::Timeout,
        Self::ConnectError,
        Self::Refused,
        Self::RateLimited,
    ];

    pub fn of(outcome: &SendOutcome) -> Self {
        match outcome {
            SendOutcome::Response { status, .. } if (200..300).contains(status) => Self::Success,
            SendOutcome::Response { status: 429, .. } => Self::RateLimited,
            SendOutcome::Response { .. } => Self::HttpError,
            SendOutcome::Failed { kind, .. } => match kind {
                FailureKind::Timeout => Self::Timeout,
                FailureKind::Connect => Self::ConnectError,
                FailureKind::Refused => Self::Refused,
            },
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::HttpError => "http_error",
            Self::Timeout => "timeout",
            Self::ConnectError => "connect_error",
            Self::Refused => "refused",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// Registers help texts and units, and starts the counters at 0 (so that the first `rate()` after a start sees
/// the first event, and a counter that never moved still shows); call once, after installing a recorder.
pub fn register() {
    describe_counter!(
        MESSAGES_ACCEPTED,
        "Messages accepted (stored and queued for fan-out)"
    );
    describe_counter!(DELIVERY_ATTEMPTS, "Delivery attempts, by outcome");
    describe_counter!(RETRIES_SCHEDULED, "Failed attempts followed by a scheduled retry");
    describe_counter!(MESSAGES_EXHAUSTED, "Deliveries that failed with no retry left");
    describe_counter!(
        ENDPOINTS_DISABLED,
        "Endpoints disabled because their deliveries kept failing"
    );
    describe_histogram!(
        ATTEMPT_DURATION,
        Unit::Seconds,
        "Duration of one delivery attempt"
    );
    describe_histogram!(
        DELIVERY_LATENCY,
        Unit::Seconds,
        "Time from a message's acceptance to a 2xx answer"
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "API request duration, by route template"
    );
    describe_gauge!(QUEUE_DEPTH, "Tasks in the delivery queue, by state");
    describe_gauge!(
        DELIVERIES_IN_FLIGHT,
        "Delivery requests in flight in this process"
    );
    describe_gauge!(
        WORKER_CONCURRENCY,
        "Deliveries this process may have in flight at once"
    );
    describe_counter!(
        SINK_BATCHES,
        "Batches a pushing destination sent, by destination type and outcome"
    );
    describe_counter!(
        SINK_EVENTS_DELIVERED,
        "Events delivered in batches to pushing destinations, by destination type"
    );
    for name in [
        MESSAGES_ACCEPTED,
        RETRIES_SCHEDULED,
        MESSAGES_EXHAUSTED,
        ENDPOINTS_DISABLED,
    ] {
        counter!(name).increment(0);
    }
    for outcome in AttemptOutcome::ALL {
        counter!(DELIVERY_ATTEMPTS, "outcome" => outcome.label()).increment(0);
    }
}

pub fn message_accepted() {
    counter!(MESSAGES_ACCEPTED).increment(1);
}

/// One attempt's outcome and duration, and, when it succeeded, the message's latency since it was accepted.
pub fn attempt(sent: &Sent, accepted_at: DateTime<Utc>, now: DateTime<Utc>) {
    let outcome = AttemptOutcome::of(&sent.outcome);
    counter!(DELIVERY_ATTEMPTS, "outcome" => outcome.label()).increment(1);
    histogram!(ATTEMPT_DURATION).record(sent.elapsed.as_secs_f64());
    if outcome == AttemptOutcome::Success {
        let latency = (now - accepted_at).to_std().unwrap_or_default();
        histogram!(DELIVERY_LATENCY).record(latency.as_secs_f64());
    }
}

/// What follows a recorded attempt: a retry, or, when it was the last one and failed, the end of a delivery.
pub fn attempt_concluded(retrying: bool, exhausted: bool) {
    if retrying {
        counter!(RETRIES_SCHEDULED).increment(1);
    }
    if exhausted {
        counter!(MESSAGES_EXHAUSTED).increment(1);
    }
}

/// One batch sent to a pushing destination of type `sink_type` (a registered type's name, so a bounded label).
pub fn sink_batch(sink_type: &'static str, delivered: bool, events: usize) {
    let outcome = if delivered { "delivered" } else { "failed" };
    counter!(SINK_BATCHES, "type" => sink_type, "outcome" => outcome).increment(1);
    if delivered {
        counter!(SINK_EVENTS_DELIVERED, "type" => sink_type).increment(events as u64);
    }
}

pub fn endpoint_disabled() {
    counter!(ENDPOINTS_DISABLED).increment(1);
}

pub fn worker_concurrency(max_in_flight: usize) {
    gauge!(WORKER_CONCURRENCY).set(max_in_flight as f64);
}

pub fn queue_depths(depths: &QueueDepths) {
    let states = [
        ("ready", depths.ready),
        ("in_flight", depths.in_flight),
        ("scheduled", depths.scheduled),
        ("dead_letter", depths.dead_letter),
    ];
    for (state, depth) in states {
        gauge!(QUEUE_DEPTH, "state" => state).set(depth as f64);
    }
}

/// One API request; `route` is the route's template (`/api/v1/app/{app_id}`), never the concrete path.
pub fn http_request(route: String, method: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("route", route),
        ("method", method.to_owned()),
        ("status", status.to_string()),
    ];
    histogram!(HTTP_REQUEST_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// Counts one delivery request in flight for as long as it lives (a guard, so a cancelled send is uncounted).
#[derive(Debug)]
pub struct InFlight(());

impl InFlight {
    pub fn enter() -> Self {
        gauge!(DELIVERIES_IN_FLIGHT).increment(1.0);
        Self(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(DELIVERIES_IN_FLIGHT).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_their_labels() {
        let answer = |status| SendOutcome::Response {
            status,
            body: String::new(),
            retry_after: None,
        };
        let failed = |kind| SendOutcome::Failed {
            kind,
            detail: String::new(),
        };
        let cases = [
            (answer(200), "success"),
            (answer(204), "success"),
            (answer(302), "http_error"),
            (answer(429), "rate_limited"),
            (answer(500), "http_error"),
            (failed(FailureKind::Timeout), "timeout"),
            (failed(FailureKind::Connect), "connect_error"),
            (failed(FailureKind::Refused), "refused"),
        ];
        for (outcome, label) in cases {
            assert_eq!(AttemptOutcome::of(&outcome).label(), label, "{outcome:?}");
        }
    }
}
