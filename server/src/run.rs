//! The composition root: the only place where backends are chosen and wired to the API and the worker.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::info;
use xwebhook_api::{ApiConfig, AppState, JwtAuth};
use xwebhook_engine::clock::{Clock, SystemClock};
use xwebhook_engine::delivery::{AddressPolicy, Worker, WorkerConfig};
use xwebhook_engine::retry::RetryPolicy;
use xwebhook_engine::store::Stores;
use xwebhook_storage_embedded::EmbeddedStore;
use xwebhook_storage_redis::{RedisConfig, RedisStore};

use crate::config::{Config, Secret};
use crate::secret_file;

/// Opens the configured backends: Redis when `XWEBHOOK_REDIS_URL` is set, otherwise the embedded store in the
/// data directory.
pub async fn open_stores(config: &Config) -> anyhow::Result<Stores> {
    if let Some(url) = &config.redis_url {
        let mut redis = RedisConfig::new(url.expose());
        redis.prefix = config.redis_prefix.clone();
        redis.cluster = config.redis_cluster;
        redis.pool_size = config.redis_pool_size;
        // A lease outlives any live worker's hold on a task (see `WorkerConfig::lease_timeout`).
        redis.visibility_timeout = worker_config(config).lease_timeout();
        let store = RedisStore::connect(redis)
            .await
            .context("cannot connect to Redis")?;
        info!(prefix = %config.redis_prefix, cluster = store.config().is_cluster(), "using Redis");
        return Ok(Stores::from_one(store));
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    let store = EmbeddedStore::open(&config.data_dir)
        .with_context(|| format!("cannot open the embedded store in {}", config.data_dir.display()))?;
    Ok(Stores::from_one(store))
}

/// The configured JWT secret, or the one kept in the data directory (created on first start).
pub fn jwt_secret(config: &Config) -> anyhow::Result<Secret> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(secret.clone());
    }
    let (secret, created) = secret_file::read_or_create(&config.data_dir)
        .with_context(|| format!("cannot keep a JWT secret in {}", config.data_dir.display()))?;
    if created {
        info!(path = %secret_file::path(&config.data_dir).display(),
            "generated a JWT secret; get an API token with `xwebhook jwt generate`");
    }
    Ok(secret)
}

pub fn worker_config(config: &Config) -> WorkerConfig {
    let mut w = WorkerConfig::new(consumer_name());
    w.retry = RetryPolicy {
        schedule: config.retry_schedule.clone(),
    };
    w.request_timeout = config.request_timeout;
    w.max_in_flight = config.worker_concurrency;
    w.svix_headers = config.svix_headers;
    w
}

/// Unique per process, so that a restarted process never inherits a dead one's leases by name.
fn consumer_name() -> String {
    format!("worker-{}-{}", std::process::id(), ulid::Ulid::new())
}

/// A started process: its API address (when it runs the API) and its running roles.
pub struct Running {
    pub api_addr: Option<SocketAddr>,
    tasks: JoinSet<anyhow::Result<()>>,
    shutdown: CancellationToken,
}

impl Running {
    /// Waits until every role has stopped (after `shutdown` fires, or when one fails, which stops the others).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        while let Some(done) = self.tasks.join_next().await {
            // One role failing takes the process down: a half-running process would look healthy and do nothing.
            if let Err(e) = done.context("a role panicked").and_then(|r| r) {
                self.shutdown.cancel();
                return Err(e);
            }
        }
        info!("stopped");
        Ok(())
    }
}

/// Opens the backends and starts the configured roles; they run until `shutdown` fires.
pub async fn start(config: Config, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let stores = open_stores(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut tasks = JoinSet::new();
    let mut api_addr = None;
    if config.role.runs_worker() {
        let policy = AddressPolicy::new(config.allow_subnets.clone());
        let worker = Worker::new(stores.clone(), worker_config(&config), policy, clock.clone());
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            worker.run(shutdown).await;
            Ok(())
        });
    }
    if config.role.runs_api() {
        let secret = jwt_secret(&config)?;
        let state = AppState {
            stores,
            auth: JwtAuth::new(secret.expose().as_bytes()),
            clock,
            config: ApiConfig {
                max_body_bytes: config.max_body_bytes,
                ..ApiConfig::default()
            },
        };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        info!(address = %addr, "API listening");
        api_addr = Some(addr);
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            xwebhook_api::serve(listener, state, async move { shutdown.cancelled().await })
                .await
                .context("the API server failed")
        });
    }
    Ok(Running {
        api_addr,
        tasks,
        shutdown,
    })
}

/// Runs the configured roles until `shutdown` fires, then drains them.
pub async fn serve(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    start(config, shutdown).await?.wait().await
}
