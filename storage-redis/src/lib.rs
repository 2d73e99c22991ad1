//! Xwebhook's Redis backend: every record port, the idempotency cache and the delivery queue, so that any
//! number of stateless `xwebhook` processes can share one Redis (or Redis Cluster).
//!
//! Layout:
//! - `config`: connection settings (URL, key prefix, cluster mode, shared connections, queue tuning).
//! - `conn`: a few long-lived multiplexed connections, shared by every call, for single nodes and clusters
//!   behind one type.
//! - `keys`: the key prefix; every key of a deployment starts with it.
//! - `landed`: whether a write whose reply timed out happened after all (a follow-up read on its connection).
//! - `error`: Redis failures mapped to `StoreError` kinds, sources kept.
//! - `records`: applications, endpoints, event types, messages, attempts (JSON values, sorted-set indexes), and
//!   retention across tenants (per-application expiry sets and a registry of applications), background tasks
//!   with their leases, and sinks (each application's sinks in one slot: settings, delivery states and leases,
//!   a stream per sink as its log, consumers' positions; a registry of every sink for the pumps).
//! - `idempotency`: the idempotency cache (`SET NX PX`).
//! - `health`: endpoint failing streaks for auto-disable (`SET NX` + `PEXPIRE`).
//! - `revocations`: logged-out token ids, each a key expiring with its token.
//! - `rate_limits`: endpoints' message rates (GCRA in one Lua script, Redis's clock).
//! - `queue`: the delivery queue on Redis streams with a consumer group, retries in sorted sets, a dead-letter
//!   stream.
//!
//! It must never depend on the API crate, on the server, or on another storage crate: it implements the
//! `xwebhook_engine::store` ports and nothing else.

mod config;
mod conn;
mod error;
mod health;
mod idempotency;
mod keys;
mod landed;
mod queue;
mod rate_limits;
mod records;
mod revocations;
#[cfg(feature = "scratch")]
pub mod scratch;

use std::sync::Arc;

pub use config::RedisConfig;
pub use conn::Pool;
use keys::Keys;

use xwebhook_engine::store::StoreResult;

/// Every port of `xwebhook_engine::store` on Redis.
pub struct RedisStore {
    pool: Pool,
    keys: Keys,
    config: RedisConfig,
    queue: queue::QueueState,
    retention: records::RetentionState,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.config.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects (checking that Redis answers) and prepares the queue's streams and consumer group.
    pub async fn connect(config: RedisConfig) -> StoreResult<Arc<Self>> {
        let pool = Pool::connect(&config).await?;
        pool.ping().await?;
        let keys = Keys::new(&config.prefix);
        let queue = queue::QueueState::new(&config, &keys)?;
        let store = Arc::new(Self {
            pool,
            keys,
            config,
            queue,
            retention: records::RetentionState::default(),
        });
        store.prepare_queue().await?;
        Ok(store)
    }

    pub fn config(&self) -> &RedisConfig {
        &self.config
    }
}
