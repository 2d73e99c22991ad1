//! Connections reserved for blocking reads (`XREADGROUP … BLOCK`).
//!
//! They cannot be the shared connections (`conn`), for two reasons. A Redis connection answers in order, so a
//! command queued behind a blocked read would wait for the block to end. And the shared ones give up on any
//! reply after `conn::REPLY_LIMIT` (500 ms), so a longer block would fail as a timeout. These connections lift that limit (on
//! a single node) or raise it above the longest block we issue (on a cluster, whose client takes no "none"),
//! and the caller bounds each read with its own deadline instead.
//!
//! A connection is lent to one read at a time and returned only when the read ended normally: a read that was
//! cancelled or failed may still have a reply in flight, so its connection is dropped rather than reused.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use xwebhook_engine::store::StoreResult;

use crate::config::RedisConfig;
use crate::conn::{Connection, Connector};

/// Idle blocking connections kept for reuse; more are opened when more receivers wait at once.
const MAX_IDLE: usize = 8;

pub(super) type BlockingConn = Connection;

pub(super) struct Blocking {
    connector: Connector,
    idle: Mutex<Vec<BlockingConn>>,
}

impl Blocking {
    /// `cluster_reply_limit` must exceed the longest block issued on a cluster.
    pub fn new(config: &RedisConfig, cluster_reply_limit: Duration) -> StoreResult<Self> {
        let reply_limit = config.is_cluster().then_some(cluster_reply_limit);
        Ok(Self {
            connector: Connector::new(config, reply_limit)?,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// An idle connection, or a new one.
    pub async fn take(&self) -> StoreResult<BlockingConn> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop() {
            return Ok(conn);
        }
        self.connector.open().await
    }

    /// Returns a connection whose last read ended normally.
    pub fn give_back(&self, conn: BlockingConn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}
