//! Storage and queue ports: what any backend must provide, with each method's contract.

mod background_tasks;
mod coalesce;
mod endpoint_health;
mod error;
mod filter;
mod idempotency;
mod lanes;
mod page;
mod queue;
mod rate_limit;
mod records;
mod retention;
mod revocation;
mod sinks;

use std::sync::Arc;

pub use background_tasks::BackgroundTasks;
pub use coalesce::{Coalescer, GroupLimits, one_for_all};
pub use endpoint_health::EndpointHealth;
pub use error::{StoreError, StoreErrorKind, StoreResult};
pub use filter::{AttemptFilter, DestinationFilter, MessageFilter, TimeTypeChannel, status_code_class};
pub use idempotency::{CachedResponse, IdempotencyCache, IdempotencyState};
pub use lanes::LaneShares;
pub use page::{Cursor, DEFAULT_LIMIT, ListQuery, MAX_LIMIT, Order, Page, Pager, Walk};
pub use queue::{
    DeadLetter, DeliverTask, DeliveryQueue, FollowUp, Leased, QueueDepths, Receipt, Task, TaskKind,
};
pub use rate_limit::{Admission, Limited, RateLimits, burst, emission_interval};
pub use records::{
    ApplicationStore, AttemptRecord, AttemptStore, EndpointStore, EventTypeStore, MessageStore, Ref,
    StatusCounts,
};
pub use retention::{PruneCounts, RetentionStore, payload_expires_at, prune_bound};
pub use revocation::{ScopeExpiry, TokenRevocations};
pub use sinks::{Appended, LOG_RETENTION, SinkWithState, Sinks};

/// The backends a process runs on, chosen at start-up. Each port may come from a different backend (records in
/// Postgres, queue and cache in Redis); the rest of the code sees only these traits.
#[derive(Clone)]
pub struct Stores {
    pub applications: Arc<dyn ApplicationStore>,
    pub endpoints: Arc<dyn EndpointStore>,
    pub event_types: Arc<dyn EventTypeStore>,
    pub messages: Arc<dyn MessageStore>,
    pub attempts: Arc<dyn AttemptStore>,
    pub queue: Arc<dyn DeliveryQueue>,
    pub idempotency: Arc<dyn IdempotencyCache>,
    /// Where failing streaks live: beside the queue, since every worker process must share them.
    pub endpoint_health: Arc<dyn EndpointHealth>,
    pub retention: Arc<dyn RetentionStore>,
    pub revocations: Arc<dyn TokenRevocations>,
    /// Endpoints' message rates: beside the queue too, since every worker process must share them.
    pub rate_limits: Arc<dyn RateLimits>,
    /// Long jobs (replays) and their leases: beside the queue, since any worker process may run them.
    pub background_tasks: Arc<dyn BackgroundTasks>,
    /// Sinks with their logs, leases and consumers: beside the queue, since the intake appends to a log as it
    /// queues, and every worker process must see the leases.
    pub sinks: Arc<dyn Sinks>,
}

impl Stores {
    /// Every port from one backend that implements them all (the embedded store, Redis).
    pub fn from_one<B>(backend: Arc<B>) -> Self
    where
        B: ApplicationStore
            + EndpointStore
            + EventTypeStore
            + MessageStore
            + AttemptStore
            + DeliveryQueue
            + IdempotencyCache
            + EndpointHealth
            + RetentionStore
            + TokenRevocations
            + RateLimits
            + BackgroundTasks
            + Sinks
            + 'static,
    {
        Self {
            applications: backend.clone(),
            endpoints: backend.clone(),
            event_types: backend.clone(),
            messages: backend.clone(),
            attempts: backend.clone(),
            queue: backend.clone(),
            idempotency: backend.clone(),
            endpoint_health: backend.clone(),
            retention: backend.clone(),
            revocations: backend.clone(),
            rate_limits: backend.clone(),
            background_tasks: backend.clone(),
            sinks: backend,
        }
    }
}
