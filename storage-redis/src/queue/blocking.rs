//! Connections reserved for blocking reads (`XREADGROUP … BLOCK`).
//!
//! They cannot come from the shared pool, for two reasons. A Redis connection answers in order, so a command
//! queued behind a blocked read would wait for the block to end. And redis 1.x clients give up on any reply
//! after 500 ms by default, so a longer block would fail as a timeout. These connections lift that limit (on
//! a single node) or raise it above the longest block we issue (on a cluster, whose client takes no "none"),
//! and the caller bounds each read with its own deadline instead.
//!
//! A connection is lent to one read at a time and returned only when the read ended normally: a read that was
//! cancelled or failed may still have a reply in flight, so its connection is dropped rather than reused.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Client};
use xwebhook_engine::store::{StoreError, StoreErrorKind, StoreResult};

use crate::config::RedisConfig;
use crate::conn::NodeOrCluster;
use crate::error::Context as _;

/// Idle blocking connections kept for reuse; more are opened when more receivers wait at once.
const MAX_IDLE: usize = 8;

enum BlockingClient {
    Single(Client),
    // Boxed: a cluster client is several times the size of a single-node one.
    Cluster(Box<ClusterClient>),
}

pub(super) type BlockingConn = NodeOrCluster<MultiplexedConnection, ClusterConnection>;

pub(super) struct Blocking {
    client: BlockingClient,
    idle: Mutex<Vec<BlockingConn>>,
}

impl Blocking {
    /// `cluster_reply_limit` must exceed the longest block issued on a cluster.
    pub fn new(config: &RedisConfig, cluster_reply_limit: Duration) -> StoreResult<Self> {
        let urls = config.node_urls();
        let client = if config.is_cluster() {
            let client = ClusterClientBuilder::new(urls)
                .response_timeout(cluster_reply_limit)
                .build()
                .redis("cannot configure the blocking Redis cluster client")?;
            BlockingClient::Cluster(Box::new(client))
        } else {
            let url = urls.into_iter().next().ok_or_else(|| {
                StoreError::new(StoreErrorKind::Unavailable, "no Redis URL given for the queue")
            })?;
            BlockingClient::Single(Client::open(url).redis("cannot configure the blocking Redis client")?)
        };
        Ok(Self {
            client,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// An idle connection, or a new one.
    pub async fn take(&self) -> StoreResult<BlockingConn> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop() {
            return Ok(conn);
        }
        match &self.client {
            BlockingClient::Single(client) => {
                let config = AsyncConnectionConfig::new().set_response_timeout(None);
                let conn = client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .redis("cannot open a blocking Redis connection")?;
                Ok(BlockingConn::Single(conn))
            }
            BlockingClient::Cluster(client) => {
                let conn = client
                    .get_async_connection()
                    .await
                    .redis("cannot open a blocking Redis cluster connection")?;
                Ok(BlockingConn::Cluster(Box::new(conn)))
            }
        }
    }

    /// Returns a connection whose last read ended normally.
    pub fn give_back(&self, conn: BlockingConn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}
