//! The sink port: an application's destinations beyond webhook endpoints (`domain::Sink`), each with its ordered
//! log of messages, its delivery state and lease (pushing types), and its consumers' positions (polling types).
//!
//! It lives beside the queue, as the background tasks do: every worker process must see the logs and leases,
//! and the intake appends to a log in the same step as it queues a message's first deliveries. A backend keeps
//! each application's sinks together (one Redis Cluster slot), so that one call appends a message to all of
//! them and a lease check and a state write are one atomic step.

use std::time::Duration;

use async_trait::async_trait;

use super::{ListQuery, Ref, StoreResult};
use crate::domain::{LogEntry, Position, Sink, SinkKey, SinkState};
use crate::id::{AppId, MessageId, OrgId, SinkId};

/// How long a log keeps an entry: the longest a message's payload is kept (`payloadRetentionPeriod`'s most).
pub const LOG_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// Where `Sinks::append` wrote a message: one entry of one sink's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub sink: SinkId,
    pub position: Position,
}

/// A sink as the API shows it: its settings and where its deliveries stand.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkWithState {
    pub sink: Sink,
    pub state: SinkState,
}

#[async_trait]
pub trait Sinks: Send + Sync {
    /// Stores a new sink with an empty log, registered for the pumps. `Conflict` if its UID is taken in the
    /// application.
    async fn create_sink(&self, sink: &Sink) -> StoreResult<()>;

    /// The application's sink with this id or UID, with its state, or `None`.
    async fn get_sink(
        &self,
        org: &OrgId,
        app: &AppId,
        key: &Ref<SinkId>,
    ) -> StoreResult<Option<SinkWithState>>;

    /// Replaces an existing sink's settings, never its log, state or consumers. `NotFound` if absent,
    /// `Conflict` if its new UID is taken.
    async fn update_sink(&self, sink: &Sink) -> StoreResult<()>;

    /// Deletes the sink with its log, state, lease and consumers. `NotFound` if absent.
    async fn delete_sink(&self, org: &OrgId, app: &AppId, id: &SinkId) -> StoreResult<()>;

    /// The application's sinks ordered by id, with their states, scanned as `query.walk()` says.
    async fn list_sinks(
        &self,
        org: &OrgId,
        app: &AppId,
        query: &ListQuery,
    ) -> StoreResult<Vec<SinkWithState>>;

    /// Every sink of the application, disabled ones included, for the intake's fan-out.
    async fn sinks_of_app(&self, org: &OrgId, app: &AppId) -> StoreResult<Vec<Sink>>;

    /// Every sink of every tenant, for the pumps that look for pushing sinks to drive. It may name a
    /// sink deleted meanwhile, never miss one that exists.
    async fn all_sinks(&self) -> StoreResult<Vec<SinkKey>>;

    /// Appends `msg` to the log of each of `sinks` (all of the application `org`/`app`), at a position after
    /// every entry already there, in one atomic step, and says where: one entry per sink appended to (a sink
    /// deleted meanwhile, or named twice, gets none more). Entries older than [`LOG_RETENTION`] may be dropped
    /// as later ones are appended.
    async fn append(
        &self,
        org: &OrgId,
        app: &AppId,
        sinks: &[SinkId],
        msg: &MessageId,
    ) -> StoreResult<Vec<Appended>>;

    /// Removes entries that [`Sinks::append`] wrote for a message that will never be stored (its insert was
    /// refused), so that the sinks' readers go on at once rather than wait for it
    /// ([`crate::sink::MESSAGE_GRACE`]). An entry already gone (its sink deleted, or withdrawn before) is
    /// passed over. No reader has gone past a withdrawn entry (its message never existed), so a backend may
    /// give its position to a later append.
    async fn withdraw(&self, org: &OrgId, app: &AppId, entries: &[Appended]) -> StoreResult<()>;

    /// Up to `limit` entries of the sink's log after `after` (from the start when `None`), in order.
    async fn read_log(
        &self,
        sink: &SinkKey,
        after: Option<Position>,
        limit: usize,
    ) -> StoreResult<Vec<LogEntry>>;

    /// Leases the sink to `owner` for `lease`, or renews the lease `owner` holds; `false` while another owner's
    /// lease runs. Two owners never hold one sink at once.
    async fn lease_sink(&self, sink: &SinkKey, owner: &str, lease: Duration) -> StoreResult<bool>;

    /// Writes the sink's delivery state and renews the lease, if `owner` holds it; `false`, writing nothing,
    /// when it does not (its lease lapsed and another took the sink).
    async fn save_sink_state(
        &self,
        sink: &SinkKey,
        state: &SinkState,
        owner: &str,
        lease: Duration,
    ) -> StoreResult<bool>;

    /// Lets the lease go, if `owner` holds it, so that another process may take the sink at once.
    async fn release_sink(&self, sink: &SinkKey, owner: &str) -> StoreResult<()>;

    /// Says that the pump `owner` is alive for `ttl` more, and answers how many pumps are (it included), so
    /// that each drives its share of the sinks. A `ttl` of zero says it is gone.
    async fn pumps_alive(&self, owner: &str, ttl: Duration) -> StoreResult<usize>;

    /// Where the consumer `consumer` of a polling sink stands; `None` before its first read or seek.
    async fn consumer_position(&self, sink: &SinkKey, consumer: &str) -> StoreResult<Option<Position>>;

    /// Moves the consumer to `position`.
    async fn set_consumer_position(
        &self,
        sink: &SinkKey,
        consumer: &str,
        position: Position,
    ) -> StoreResult<()>;
}
