//! The delivery queue on Redis streams (to be written).

use xwebhook_engine::store::StoreResult;

use crate::RedisStore;
use crate::config::RedisConfig;
use crate::keys::Keys;

/// Queue depths, for operators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub ready: u64,
    pub in_flight: u64,
    pub scheduled: u64,
    pub dead_letter: u64,
}

pub struct QueueState {}

impl QueueState {
    pub fn new(_config: &RedisConfig, _keys: &Keys) -> StoreResult<Self> {
        Ok(Self {})
    }
}

impl RedisStore {
    /// Creates the streams' consumer group where missing (idempotent).
    pub(crate) async fn prepare_queue(&self) -> StoreResult<()> {
        Ok(())
    }
}
