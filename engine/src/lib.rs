//! Xwebhook's delivery core.
//!
//! It holds the domain (validated names, ids, records), the ports every backend implements (one small trait per
//! entity, plus the delivery queue and the idempotency cache), and the delivery worker that turns queued tasks
//! into signed HTTP requests, records every attempt and schedules retries.
//!
//! Layout:
//! - [`id`]: prefixed, time-sortable identifiers.
//! - [`domain`]: names, secrets, payloads and stored records.
//! - [`store`]: the storage and queue ports, their error type and pagination.
//! - [`signing`], [`retry`]: pure policy (Standard Webhooks signatures, retry delays).
//! - [`fan_out`]: which endpoints a message goes to, and its first deliveries there.
//! - [`intake`]: the one way in for delivery work (messages, examples, resends, recoveries), for the API and the
//!   operational publisher.
//! - [`delivery`]: the worker: fan-out, send, record, retry.
//! - [`sink`]: destinations beyond webhook endpoints (FIFO endpoints, pollers, brokers): the plug-in traits their
//!   types implement, their events, and the pump that drives the pushing ones.
//! - [`operational`]: events about endpoints and deliveries, reported for operational webhooks.
//! - [`metrics`]: the service's metrics (names, units, labels), recorded through the `metrics` facade.
//! - [`log_limit`]: failure logs of background loops, summarised during an outage instead of one line a retry.
//! - [`retention`]: the background cleaner that expunges payloads past their retention period.
//! - [`trace`]: the trace context that queued tasks carry from the request to its deliveries.
//! - `testsuite` (feature `testsuite`): the conformance suite every backend must pass.
//!
//! It must never depend on an HTTP routing framework, on the API crate, or on any one database; of metrics it knows only the
//! facade, never an exporter; of traces only the OpenTelemetry API, never its SDK or an exporter.

pub mod background_tasks;
pub mod clock;
pub mod delivery;
pub mod domain;
pub mod fan_out;
pub mod id;
pub mod intake;
pub mod log_limit;
pub mod metrics;
pub mod operational;
pub mod retention;
pub mod retry;
pub mod signing;
pub mod sink;
pub mod store;
// Also in the engine's own unit tests, which build on the same fixtures.
#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;
pub mod trace;
