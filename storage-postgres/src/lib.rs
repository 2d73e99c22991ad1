//! Xwebhook's Postgres backend for records: applications, endpoints, event types, messages, attempts and
//! destinations in Postgres tables, behind the record ports of `xwebhook_engine::store`.
//!
//! It implements `ApplicationStore`, `EndpointStore`, `EventTypeStore`, `MessageStore` and `AttemptStore`. The
//! delivery queue and the idempotency cache are not here: a Postgres deployment takes them from Redis or the
//! embedded store, and [`PostgresStore::stores`] joins the two into one `Stores`.
//!
//! Layout:
//! - `config`: [`PostgresConfig`] and the connection pool built from it (`tokio-postgres` + `deadpool`).
//! - `migrate`: versioned schema migrations embedded from `migrations/*.sql`, applied once each, safely when
//!   several processes start together.
//! - `error`: driver and pool failures mapped to `StoreError` kinds (SQLSTATE 23505 → `Conflict`, a broken
//!   connection → `Unavailable`, a pool wait or statement timeout → `Timeout`, an undecodable row →
//!   `Corrupt`), the original error kept as source.
//! - `sql`: the list-query builder (filters, and the `ListQuery::walk` scan as `key > from ORDER BY key LIMIT`).
//! - `applications`, `endpoints`, `event_types`, `messages`, `attempts`: the ports; `batch` holds the
//!   one-round-trip inserts of the delivery path, which the engine's `Coalescer` feeds (group commit).
//! - `retention`: payload expiry and pruning across tenants, one bounded statement per batch.
//! - `plans` (tests only): the query plans of the hot listings, asserted with `EXPLAIN`.
//!
//! It must never depend on the API crate, on the server, or on another storage crate.
//!
//! # Schema
//!
//! Every table is keyed by `org_id` first (`migrations/0001_records.sql`). A row keeps the record as the engine
//! wrote it in a JSONB `doc` column (so nanosecond timestamps survive) next to the columns that are constrained,
//! filtered or sorted on; a message's payload is a TEXT column holding the sender's exact bytes, since
//! signatures are computed over them. Ids are ULIDs in the `"C"` collation, so `ORDER BY id` is creation order.
//! Time filters compare at Postgres' resolution, the microsecond.
//!
//! # Indexes and plans
//!
//! Every listing is one ordered index range scan stopped by its `LIMIT`: no sort, no sequential scan. The unit
//! test `plans` asserts it with `EXPLAIN` on the store's own statements, over a seeded schema (20 000 messages
//! in 20 event types, 40 000 attempts over 10 endpoints, 20 000 destinations) after `ANALYZE`. Postgres 15
//! chose, for a newest-first page of 50, `Limit → Index Scan Backward using`:
//!
//! | query | index |
//! | --- | --- |
//! | messages of an app, newest first, time window | `messages_pkey (org_id, app_id, id)`, backward; the window becomes an `id` range |
//! | the same with one event type | `messages_by_event_type (org_id, app_id, event_type, id)`, backward |
//! | attempts of an endpoint | `attempts_by_endpoint (org_id, app_id, endpoint_id, id)` |
//! | attempts of an endpoint with a status | `attempts_by_endpoint_status (org_id, app_id, endpoint_id, status, id)` |
//! | attempts of a message | `attempts_pkey (org_id, app_id, msg_id, id)` |
//! | destinations of a message / of an endpoint | `destinations_pkey` / `destinations_by_endpoint` |
//! | application, endpoint by UID; message by `eventId` | the unique constraints `*_uid_key`, `messages_event_id_key` |
//! | payloads due to expire (any tenant) | `messages_by_payload_expiry (payload_expires_at)`, partial |
//! | messages to prune (any tenant) | `messages_by_id_time (left(id, 14))`, the time part of the id |
//!
//! One event type is sent as `event_type = $n` rather than `= ANY($n)`: with an array, Postgres 15 can no longer
//! read `messages_by_event_type` in id order and fell back to the primary key. Channel filters and several
//! event types at once are checked on the rows the range yields, so a filter that matches little reads further
//! down the range; no B-tree combines channel containment with id order.
//!
//! # Batching
//!
//! `record_attempts` sends every attempt and destination of a batch as column arrays in one statement
//! (`INSERT … SELECT FROM UNNEST(…)`, the destinations upserted by a data-modifying CTE). Message inserts and
//! fan-outs' destination inserts arrive one per request, so the engine's `Coalescer` groups the concurrent ones
//! into one statement and one commit (group commit), which is what bounded throughput: every commit waits for a
//! WAL flush (`pg_stat_activity` showed `LWLock:WALWrite` / `IO:WALSync` waits). Statements are prepared once
//! per connection.

mod applications;
mod attempts;
mod batch;
mod config;
mod endpoints;
mod error;
mod event_types;
mod messages;
mod migrate;
mod retention;
#[cfg(feature = "scratch")]
pub mod scratch;
mod sql;

#[cfg(test)]
mod plans;

use std::sync::Arc;

use deadpool_postgres::{Object, Pool};
use tokio_postgres::Row;
use xwebhook_engine::domain::Destination;
use xwebhook_engine::store::{Coalescer, GroupLimits, StoreResult, Stores};

pub use crate::config::PostgresConfig;
use crate::error::Context as _;
pub use crate::migrate::{MIGRATIONS, Migration};
use crate::sql::Query;

/// Most rows one grouped insert carries.
const MAX_GROUP: usize = 512;

/// Grouped inserts queued beyond this wait for room rather than growing the queue without bound.
const QUEUE_CAPACITY: usize = 8 * 1024;

/// The record ports on a pool of Postgres connections. Cheap to share: clone the `Arc`.
pub struct PostgresStore {
    pool: Pool,
    schema: Option<String>,
    /// Message inserts (each with its first destinations), grouped into shared commits.
    message_writer: Coalescer<messages::NewMessage>,
    /// Fan-outs' destination inserts, grouped likewise.
    destination_writer: Coalescer<Vec<Destination>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PostgresStore {
    /// Builds the pool, checks that the server answers and, when `migrate_on_start`, applies pending migrations.
    pub async fn connect(config: &PostgresConfig) -> StoreResult<Arc<Self>> {
        let pool = config.pool()?;
        let limits = GroupLimits {
            max_group: MAX_GROUP,
            // A quarter of the pool for each kind of grouped write, half in all, so that reads and the attempt
            // recorder always find a connection.
            writers: (config.pool_size / 4).max(1),
            queue: QUEUE_CAPACITY,
        };
        let store = Self {
            message_writer: Coalescer::spawn("postgres message writer", limits, {
                let pool = pool.clone();
                move |group| messages::insert_group(pool.clone(), group)
            }),
            destination_writer: Coalescer::spawn("postgres destination writer", limits, {
                let pool = pool.clone();
                move |group| attempts::insert_destination_group(pool.clone(), group)
            }),
            pool,
            schema: config.schema.clone(),
        };
        // Opens the first connection now, so that a wrong URL fails at start-up rather than on a request.
        drop(store.client().await?);
        if config.migrate_on_start {
            store.migrate().await?;
        }
        tracing::info!(schema = ?store.schema, pool_size = config.pool_size, "postgres store ready");
        Ok(Arc::new(store))
    }

    /// Applies the pending migrations; returns the versions this call applied (none when up to date).
    pub async fn migrate(&self) -> StoreResult<Vec<i32>> {
        let mut client = self.client().await?;
        migrate::apply(&mut client, self.schema.as_deref()).await
    }

    /// Every port of a `Stores`: the records from here; the queue and the shared caches (idempotency, token
    /// revocations, endpoint failing streaks, rate limits), background tasks and sinks from `beside`, whose
    /// record ports are dropped.
    pub fn stores(self: &Arc<Self>, beside: Stores) -> Stores {
        Stores {
            applications: self.clone(),
            endpoints: self.clone(),
            event_types: self.clone(),
            messages: self.clone(),
            attempts: self.clone(),
            retention: self.clone(),
            ..beside
        }
    }

    async fn client(&self) -> StoreResult<Object> {
        self.pool.get().await.context("cannot get a postgres connection")
    }

    /// Runs a built list query on a pooled connection, through the connection's statement cache.
    async fn query(&self, q: &Query, what: &str) -> StoreResult<Vec<Row>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(q.sql()).await.context(what)?;
        client.query(&stmt, &q.params()).await.context(what)
    }
}

/// Applies the pending migrations of `config`'s database and schema (what `xwebhook migrate` runs).
pub async fn migrate(config: &PostgresConfig) -> StoreResult<Vec<i32>> {
    let config = PostgresConfig {
        pool_size: 1,
        migrate_on_start: false,
        ..config.clone()
    };
    let store = PostgresStore::connect(&config).await?;
    store.migrate().await
}
