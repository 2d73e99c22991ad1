//! One pool type for single nodes and clusters. Both hand out connections that implement
//! `redis::aio::ConnectionLike`, so commands, pipelines and scripts are written once.

use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use xwebhook_engine::store::{StoreError, StoreErrorKind, StoreResult};

use crate::config::RedisConfig;
use crate::error::{Context as _, pool_err};

#[derive(Clone)]
pub enum Pool {
    Single(deadpool_redis::Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

/// A connection to a single node or to a cluster. One generic type serves the pooled connections and the
/// queue's dedicated blocking ones; the cluster side is boxed because it is several times larger.
pub enum NodeOrCluster<S, C> {
    Single(S),
    Cluster(Box<C>),
}

pub type Conn = NodeOrCluster<deadpool_redis::Connection, deadpool_redis::cluster::Connection>;

impl Pool {
    pub fn new(config: &RedisConfig) -> StoreResult<Self> {
        let urls = config.node_urls();
        let bad = |e: &dyn std::fmt::Display| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("cannot configure a Redis pool for {}: {e}", config.url),
            )
        };
        if config.is_cluster() {
            let mut cfg = deadpool_redis::cluster::Config::from_urls(urls);
            cfg.pool = Some(deadpool_redis::PoolConfig::new(config.pool_size));
            cfg.create_pool(Some(deadpool_redis::Runtime::Tokio1))
                .map(Self::Cluster)
                .map_err(|e| bad(&e))
        } else {
            let url = urls.into_iter().next().ok_or_else(|| bad(&"no URL given"))?;
            let mut cfg = deadpool_redis::Config::from_url(url);
            cfg.pool = Some(deadpool_redis::PoolConfig::new(config.pool_size));
            cfg.create_pool(Some(deadpool_redis::Runtime::Tokio1))
                .map(Self::Single)
                .map_err(|e| bad(&e))
        }
    }

    pub async fn get(&self) -> StoreResult<Conn> {
        match self {
            Self::Single(p) => p
                .get()
                .await
                .map(Conn::Single)
                .map_err(|e| pool_err("cannot get a Redis connection", e)),
            Self::Cluster(p) => p
                .get()
                .await
                .map(|c| Conn::Cluster(Box::new(c)))
                .map_err(|e| pool_err("cannot get a Redis cluster connection", e)),
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.get().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .redis("Redis did not answer PING")?;
        Ok(())
    }
}

impl<S: ConnectionLike + Send, C: ConnectionLike + Send> ConnectionLike for NodeOrCluster<S, C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}
