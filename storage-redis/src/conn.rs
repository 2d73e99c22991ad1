//! Long-lived shared connections, for single nodes and clusters behind one type.
//!
//! Both `redis::aio::MultiplexedConnection` and the async cluster connection are cheap to clone and carry
//! concurrent requests over one socket, pipelining whatever is queued at the moment. So instead of a pool that
//! checks a connection out per call (deadpool-redis did, and recycled each one with an `UNWATCH` + `PING`
//! round trip: two round trips per storage call), a few connections are opened once and every call takes a
//! clone of the next one round-robin. A few rather than one so that each socket's work (one driver task per
//! connection) can run on another runtime thread and a broken connection fails only the calls on it; on the
//! 2-core test machine 1, 2, 4, 8 and 32 connections measured the same within its noise.
//!
//! A connection that breaks (dropped, or a reply stream the client can no longer follow) is discarded by the
//! first call that sees the error, and the next call on its slot opens a fresh one. Calls already holding a
//! clone of the broken one fail as they would have anyway; the caller's retry policy decides.
//!
//! Nothing here may block on the server: a blocking read would stall every request queued behind it on the
//! shared socket (the queue keeps its own connections for those, see `queue::blocking`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisError, RedisFuture, Value};
use xwebhook_engine::log_limit::SharedFailureLog;
use xwebhook_engine::store::{StoreError, StoreErrorKind, StoreResult};

use crate::config::RedisConfig;
use crate::error::Context as _;

/// How long a shared connection waits for a reply before the call fails as a timeout. Nothing sent on one
/// blocks, so a slower reply means a server in trouble, and failing lets the caller's retry policy act.
pub const REPLY_LIMIT: Duration = Duration::from_millis(500);

/// A connection to a single node or to a cluster. One generic type serves the shared connections and the
/// queue's dedicated blocking ones; the cluster side is boxed because it is several times larger.
#[derive(Clone)]
pub enum NodeOrCluster<S, C> {
    Single(S),
    Cluster(Box<C>),
}

/// An open connection of either kind; clones share its socket(s).
pub type Connection = NodeOrCluster<MultiplexedConnection, ClusterConnection>;

/// Opens connections with one reply limit; `None` waits for replies as long as the connection lives.
pub enum Connector {
    // Boxed: both are large, and of different sizes.
    Single(Box<(Client, AsyncConnectionConfig)>),
    Cluster(Box<ClusterClient>),
}

impl Connector {
    /// A cluster client needs a limit: pass one longer than anything it will wait for.
    pub fn new(config: &RedisConfig, reply_limit: Option<Duration>) -> StoreResult<Self> {
        let urls = config.node_urls();
        if config.is_cluster() {
            let mut builder = ClusterClientBuilder::new(urls);
            if let Some(limit) = reply_limit {
                builder = builder.response_timeout(limit);
            }
            let client = builder.build().redis("cannot configure a Redis cluster client")?;
            return Ok(Self::Cluster(Box::new(client)));
        }
        let url = urls.into_iter().next().ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("no Redis URL in `{}`", config.url),
            )
        })?;
        let client = Client::open(url).redis("cannot configure a Redis client")?;
        let options = AsyncConnectionConfig::new().set_response_timeout(reply_limit);
        Ok(Self::Single(Box::new((client, options))))
    }

    pub async fn open(&self) -> StoreResult<Connection> {
        match self {
            Self::Single(single) => single
                .0
                .get_multiplexed_async_connection_with_config(&single.1)
                .await
                .map(Connection::Single)
                .redis("cannot open a Redis connection"),
            Self::Cluster(client) => client
                .get_async_connection()
                .await
                .map(|c| Connection::Cluster(Box::new(c)))
                .redis("cannot open a Redis cluster connection"),
        }
    }
}

/// The shared connections of one store. Clones share them.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    connector: Connector,
    slots: Box<[Arc<Slot>]>,
    /// Round-robin cursor over `slots`.
    next: AtomicUsize,
    /// Numbers every connection opened, so that a failure discards the connection that failed and not the
    /// fresh one another call may have put in its slot meanwhile.
    opened: AtomicU64,
    /// Broken connections, summarised during an outage (each call may find one broken).
    breaks: Arc<SharedFailureLog>,
}

/// One shared connection, or none after it broke.
#[derive(Default)]
struct Slot {
    current: RwLock<Option<(u64, Connection)>>,
    /// Held while opening, so that callers finding the slot empty open one connection, not one each.
    opening: tokio::sync::Mutex<()>,
}

impl Slot {
    fn current(&self) -> Option<(u64, Connection)> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn discard(&self, number: u64) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|(n, _)| *n == number) {
            *current = None;
        }
    }
}

impl Pool {
    /// Opens `config.pool_size` shared connections (at least one).
    pub async fn connect(config: &RedisConfig) -> StoreResult<Self> {
        let pool = Self {
            inner: Arc::new(Inner {
                connector: Connector::new(config, Some(REPLY_LIMIT))?,
                slots: (0..config.pool_size.max(1)).map(|_| Arc::default()).collect(),
                next: AtomicUsize::new(0),
                opened: AtomicU64::new(0),
                breaks: Arc::new(SharedFailureLog::new(
                    "keeping the shared Redis connections open (a broken one is reopened by the next call)",
                )),
            }),
        };
        for _ in 0..pool.inner.slots.len() {
            pool.get().await?;
        }
        Ok(pool)
    }

    /// A clone of the next shared connection, opening it first if its slot is empty. Cheap: no round trip.
    pub async fn get(&self) -> StoreResult<Conn> {
        let inner = &self.inner;
        let slot = &inner.slots[inner.next.fetch_add(1, Ordering::Relaxed) % inner.slots.len()];
        if let Some(current) = slot.current() {
            return Ok(Conn::new(slot, &inner.breaks, current));
        }
        let _opening = slot.opening.lock().await;
        // Another call may have opened it while this one waited.
        if let Some(current) = slot.current() {
            return Ok(Conn::new(slot, &inner.breaks, current));
        }
        let fresh = (
            inner.opened.fetch_add(1, Ordering::Relaxed),
            inner.connector.open().await?,
        );
        *slot.current.write().unwrap_or_else(PoisonError::into_inner) = Some(fresh.clone());
        inner.breaks.succeeded();
        Ok(Conn::new(slot, &inner.breaks, fresh))
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

/// A clone of one shared connection, for one call or a few in a row.
pub struct Conn {
    connection: Connection,
    slot: Arc<Slot>,
    number: u64,
    breaks: Arc<SharedFailureLog>,
}

impl Conn {
    fn new(
        slot: &Arc<Slot>,
        breaks: &Arc<SharedFailureLog>,
        (number, connection): (u64, Connection),
    ) -> Self {
        Self {
            connection,
            slot: Arc::clone(slot),
            number,
            breaks: Arc::clone(breaks),
        }
    }

    /// Discards the connection from its slot if the error says it can no longer be used: the redis client
    /// calls those errors unrecoverable (a dropped connection, a reply it cannot parse). Timeouts are not:
    /// a late reply is matched to its request and dropped, and the connection stays in step.
    fn check<T>(&self, reply: RedisResult<T>) -> RedisResult<T> {
        if let Err(e) = &reply
            && e.is_unrecoverable_error()
        {
            self.breaks.failed(e);
            self.slot.discard(self.number);
        }
        reply
    }
}

type RedisResult<T> = Result<T, RedisError>;

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let reply = self.connection.req_packed_command(cmd).await;
            self.check(reply)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let reply = self.connection.req_packed_commands(cmd, offset, count).await;
            self.check(reply)
        })
    }

    fn get_db(&self) -> i64 {
        self.connection.get_db()
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    const DEADLINE: Duration = Duration::from_secs(10);

    async fn pool(connections: usize) -> Pool {
        let url =
            std::env::var("XWEBHOOK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let mut config = RedisConfig::new(url);
        config.pool_size = connections;
        Pool::connect(&config).await.expect("connect to the test Redis")
    }

    async fn client_id(pool: &Pool) -> StoreResult<i64> {
        let mut conn = pool.get().await?;
        redis::cmd("CLIENT")
            .arg("ID")
            .query_async(&mut conn)
            .await
            .redis("CLIENT ID")
    }

    #[tokio::test]
    async fn calls_share_the_open_connections_round_robin() {
        let pool = pool(2).await;
        let ids = [
            client_id(&pool).await.expect("first"),
            client_id(&pool).await.expect("second"),
            client_id(&pool).await.expect("third"),
            client_id(&pool).await.expect("fourth"),
        ];
        assert_ne!(ids[0], ids[1], "two slots, two connections");
        assert_eq!(
            (ids[0], ids[1]),
            (ids[2], ids[3]),
            "no call opened a connection of its own"
        );
    }

    #[tokio::test]
    async fn a_killed_connection_is_replaced() {
        let pool = pool(1).await;
        let killed = client_id(&pool).await.expect("client id");
        let mut admin = pool.inner.connector.open().await.expect("admin connection");
        let _: () = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(killed)
            .query_async(&mut admin)
            .await
            .expect("kill the shared connection");
        // Calls fail until one sees the dropped connection and discards it; the next opens a fresh one.
        let deadline = Instant::now() + DEADLINE;
        let fresh = loop {
            match client_id(&pool).await {
                Ok(id) => break id,
                Err(e) => assert!(Instant::now() < deadline, "never recovered: {e}"),
            }
            tokio::task::yield_now().await;
        };
        assert_ne!(fresh, killed);
        assert_eq!(
            client_id(&pool).await.expect("again"),
            fresh,
            "the fresh connection is kept"
        );
    }
}
