//! The composition root: the only place where backends are chosen and wired to the API and the worker.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use xwebhook_api::{ApiConfig, AppParts, AppState, ConnectionLimits, JwtAuth};
use xwebhook_engine::background_tasks::{TaskRunner, TaskRunnerConfig};
use xwebhook_engine::clock::{Clock, SystemClock};
use xwebhook_engine::delivery::{AddressPolicy, HttpSender, RecentMessages, Worker, WorkerConfig};
use xwebhook_engine::intake::{Admission, Intake};
use xwebhook_engine::operational::{InBackground, OperationalEvents, OperatorWebhooks};
use xwebhook_engine::retention::{CleanerConfig, PayloadCleaner};
use xwebhook_engine::retry::RetryPolicy;
use xwebhook_engine::sink::{SendContext, SinkNews, SinkPump, SinkPumpConfig};
use xwebhook_engine::store::Stores;
use xwebhook_storage_embedded::EmbeddedStore;
use xwebhook_storage_postgres::{PostgresConfig, PostgresStore};
use xwebhook_storage_redis::{RedisConfig, RedisStore};

use crate::config::{Config, Secret};
use crate::metrics;
use crate::secret_file;

/// Opens the configured backends:
/// - nothing configured: the embedded store in the data directory, for everything;
/// - `XWEBHOOK_REDIS_URL`: Redis for everything;
/// - `XWEBHOOK_DATABASE_URL`: records in Postgres; the queue and what workers and API processes share beside it
///   (idempotency cache, token revocations, endpoint failing streaks, rate limits) on Redis when it is configured,
///   else on the embedded store.
pub async fn open_stores(config: &Config) -> anyhow::Result<Stores> {
    let base = match &config.storage.redis_url {
        Some(url) => Stores::from_one(open_redis(config, url).await?),
        None => Stores::from_one(open_embedded(config)?),
    };
    let Some(url) = &config.storage.database_url else {
        return Ok(base);
    };
    let postgres = PostgresStore::connect(&postgres_config(config, url))
        .await
        .context("cannot connect to Postgres")?;
    info!(schema = ?config.storage.database_schema, "records in Postgres");
    Ok(postgres.stores(base))
}

pub(crate) async fn open_redis(config: &Config, url: &Secret) -> anyhow::Result<Arc<RedisStore>> {
    let mut redis = RedisConfig::new(url.expose());
    redis.prefix = config.storage.redis_prefix.clone();
    redis.cluster = config.storage.redis_cluster;
    redis.pool_size = config.storage.redis_pool_size;
    // A lease outlives any live worker's hold on a task (see `WorkerConfig::lease_timeout`).
    redis.visibility_timeout = worker_config(config).lease_timeout();
    let store = RedisStore::connect(redis)
        .await
        .context("cannot connect to Redis")?;
    info!(prefix = %config.storage.redis_prefix, cluster = store.config().is_cluster(), "using Redis");
    Ok(store)
}

fn open_embedded(config: &Config) -> anyhow::Result<Arc<EmbeddedStore>> {
    // Owner-only: the store holds endpoint secrets, header credentials and payloads.
    xwebhook_storage_embedded::private::create_dir(&config.storage.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.storage.data_dir.display()
        )
    })?;
    EmbeddedStore::open(&config.storage.data_dir).with_context(|| {
        format!(
            "cannot open the embedded store in {}",
            config.storage.data_dir.display()
        )
    })
}

pub fn postgres_config(config: &Config, url: &Secret) -> PostgresConfig {
    let mut pg = PostgresConfig::new(url.expose());
    pg.schema = config.storage.database_schema.clone();
    pg.pool_size = config.storage.database_pool_size;
    pg.migrate_on_start = config.storage.database_migrate;
    pg
}

/// `xwebhook migrate`: applies pending Postgres migrations and says which.
pub async fn migrate(config: &Config) -> anyhow::Result<Vec<i32>> {
    let url = config
        .storage
        .database_url
        .as_ref()
        .context("XWEBHOOK_DATABASE_URL is not set: nothing to migrate")?;
    xwebhook_storage_postgres::migrate(&postgres_config(config, url))
        .await
        .context("migration failed")
}

/// The configured JWT secret, or the one kept in the data directory (created on first start).
pub fn jwt_secret(config: &Config) -> anyhow::Result<Secret> {
    if let Some(secret) = &config.auth.jwt_secret {
        return Ok(secret.clone());
    }
    // The error names the file and what is wrong with it.
    let (secret, created) = secret_file::read_or_create(&config.storage.data_dir)?;
    if created {
        info!(path = %secret_file::path(&config.storage.data_dir).display(),
            "generated a JWT secret; get an API token with `xwebhook jwt generate`");
    }
    Ok(secret)
}

pub fn worker_config(config: &Config) -> WorkerConfig {
    let mut w = WorkerConfig::new(consumer_name());
    w.retry = RetryPolicy {
        schedule: config.delivery.retry_schedule.clone(),
    };
    w.request_timeout = config.delivery.request_timeout;
    w.max_in_flight = config.delivery.worker_concurrency;
    w.svix_headers = config.delivery.svix_headers;
    w.disable_after = config.delivery.endpoint_failure_disable_after;
    w
}

fn task_runner_config(config: &Config) -> TaskRunnerConfig {
    TaskRunnerConfig {
        owner: consumer_name(),
        lease: config.delivery.background_task_lease,
        poll: Duration::from_secs(1),
        rate: NonZeroU32::new(u32::try_from(config.delivery.replay_rate).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN),
    }
}

fn sink_pump_config(config: &Config) -> SinkPumpConfig {
    SinkPumpConfig {
        lease: config.delivery.sink_lease,
        ..SinkPumpConfig::new(consumer_name())
    }
}

fn cleaner_config(config: &Config) -> CleanerConfig {
    CleanerConfig {
        interval: config.retention.interval,
        ..CleanerConfig::default()
    }
}

/// Unique per process, so that a restarted process never inherits a dead one's leases by name.
fn consumer_name() -> String {
    format!("worker-{}-{}", std::process::id(), ulid::Ulid::new())
}

/// Where the API and the worker report operational events: the applications of the operational webhooks
/// organization (`XWEBHOOK_OPERATIONAL_WEBHOOKS_ORG`), one per tenant that listens.
pub fn operational_events(
    config: &Config,
    stores: &Stores,
    intake: &Intake,
    clock: &Arc<dyn Clock>,
) -> Arc<dyn OperationalEvents> {
    let org = config.operational.webhooks_org.clone();
    Arc::new(OperatorWebhooks::new(
        stores.clone(),
        intake.clone(),
        org,
        clock.clone(),
    ))
}

/// A started process: its API address (when it runs the API) and its running roles.
pub struct Running {
    pub api_addr: Option<SocketAddr>,
    /// Set when `/metrics` has a listener of its own (`XWEBHOOK_METRICS_LISTEN`).
    pub metrics_addr: Option<SocketAddr>,
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
    // One admission per process: the API and the operational publisher take turns from the same limit.
    let admission = Admission::new(config.intake.concurrency, config.intake.wait);
    // Messages accepted here reach this process's worker by reference, and its destinations' drivers hear of
    // them at once, when it runs a worker.
    let handover = Handover {
        recent: Arc::new(RecentMessages::new(RecentMessages::DEFAULT_BYTES)),
        sink_news: SinkNews::new(),
    };
    let mut intake = Intake::new(stores.clone(), admission);
    if config.role.runs_worker() {
        intake = intake
            .sharing_with(handover.recent.clone())
            .announcing_to(handover.sink_news.clone());
    }
    let events = operational_events(&config, &stores, &intake, &clock);
    let mut tasks = JoinSet::new();
    let (metrics_route, metrics_addr) = match spawn_metrics(&config, &stores, &shutdown, &mut tasks).await? {
        Metrics::Off => (None, None),
        Metrics::OnApi(route) => (Some(route), None),
        Metrics::Listening(addr) => (None, Some(addr)),
    };
    if config.role.runs_worker() {
        spawn_worker(&config, &stores, &clock, &events, handover, &shutdown, &mut tasks);
    }
    let api_addr = if config.role.runs_api() {
        let api = Api {
            stores,
            intake,
            clock,
            events,
            extra_routes: metrics_route,
        };
        Some(spawn_api(&config, api, &shutdown, &mut tasks).await?)
    } else {
        None
    };
    Ok(Running {
        api_addr,
        metrics_addr,
        tasks,
        shutdown,
    })
}

/// What this process's intake hands its worker directly, rather than through the stores.
struct Handover {
    /// The messages it accepted, so that their first deliveries need not read them back.
    recent: Arc<RecentMessages>,
    /// Its appends to destinations' logs, which wake their idle drivers.
    sink_news: Arc<SinkNews>,
}

/// The delivery worker and, beside it, the destinations' pump and the payload cleaner.
fn spawn_worker(
    config: &Config,
    stores: &Stores,
    clock: &Arc<dyn Clock>,
    events: &Arc<dyn OperationalEvents>,
    handover: Handover,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) {
    let policy = AddressPolicy::new(config.delivery.allow_subnets.clone());
    // The worker reports directly: a delivery can afford to wait for its report, which keeps them in order.
    let worker = Worker::new(
        stores.clone(),
        worker_config(config),
        policy.clone(),
        clock.clone(),
        events.clone(),
        handover.recent,
    );
    let worker_shutdown = shutdown.clone();
    tasks.spawn(async move {
        worker.run(worker_shutdown).await;
        Ok(())
    });
    let runner = TaskRunner::new(stores.clone(), clock.clone(), task_runner_config(config));
    let runner_shutdown = shutdown.clone();
    tasks.spawn(async move {
        runner.run(runner_shutdown).await;
        Ok(())
    });
    let pump = SinkPump::new(
        stores.clone(),
        xwebhook_destinations::all(),
        SendContext {
            http: HttpSender::new(policy.clone(), config.delivery.request_timeout),
            policy,
        },
        clock.clone(),
        sink_pump_config(config),
        handover.sink_news,
    );
    let pump_shutdown = shutdown.clone();
    tasks.spawn(async move {
        pump.run(pump_shutdown).await;
        Ok(())
    });
    // Payload expiry runs wherever deliveries do, so an API-only process never writes in the background.
    let cleaner = PayloadCleaner::new(stores.retention.clone(), clock.clone(), cleaner_config(config));
    let shutdown = shutdown.clone();
    tasks.spawn(async move {
        cleaner.run(shutdown).await;
        Ok(())
    });
}

/// Connections served at once on a `/metrics` listener of its own.
const METRICS_MAX_CONNECTIONS: usize = 16;

/// Where `/metrics` is served.
enum Metrics {
    Off,
    /// By the API's listener, to which this route is to be added.
    OnApi(Router),
    /// On a listener of its own, at this address.
    Listening(SocketAddr),
}

/// Installs the metrics recorder (unless `XWEBHOOK_METRICS` is off) and keeps it drained. Serves `/metrics` on
/// `XWEBHOOK_METRICS_LISTEN` when set; otherwise returns the route, for the API's listener to serve.
async fn spawn_metrics(
    config: &Config,
    stores: &Stores,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<Metrics> {
    if !config.telemetry.metrics {
        return Ok(Metrics::Off);
    }
    let handle = metrics::install()?;
    let upkeep = metrics::upkeep(handle.clone(), shutdown.clone());
    tasks.spawn(async move {
        upkeep.await;
        Ok(())
    });
    let route = metrics::router(handle, stores.queue.clone());
    let Some(addr) = config.telemetry.metrics_listen else {
        if !config.role.runs_api() {
            warn!("metrics are recorded but not served: set XWEBHOOK_METRICS_LISTEN on worker processes");
        }
        return Ok(Metrics::OnApi(route));
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for metrics on {addr}"))?;
    let addr = listener.local_addr()?;
    info!(address = %addr, "metrics listening");
    // The API's timeouts, so a slow client cannot hold the scraper's listener; scrapers are few.
    let limits = ConnectionLimits {
        max_connections: METRICS_MAX_CONNECTIONS,
        ..crate::limits::connection_limits(config)
    };
    let shutdown = shutdown.clone();
    tasks.spawn(async move {
        xwebhook_api::serve(listener, route, limits, async move { shutdown.cancelled().await })
            .await
            .context("the metrics server failed")
    });
    Ok(Metrics::Listening(addr))
}

/// What the API serves: the backends, and routes of the process merged beside the API's (`/metrics`).
struct Api {
    stores: Stores,
    intake: Intake,
    clock: Arc<dyn Clock>,
    events: Arc<dyn OperationalEvents>,
    extra_routes: Option<Router>,
}

/// The API on its listener; returns the address it listens on.
async fn spawn_api(
    config: &Config,
    Api {
        stores,
        intake,
        clock,
        events,
        extra_routes,
    }: Api,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<SocketAddr> {
    let secret = jwt_secret(config)?;
    let listener = tokio::net::TcpListener::bind(config.listener.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listener.listen))?;
    let addr = listener.local_addr()?;
    let limits = crate::limits::connection_limits(config);
    info!(address = %addr, max_connections = limits.max_connections, "API listening");
    // Requests only queue their reports; the ones still queued at shutdown are published before exit.
    let (api_events, reports) = InBackground::spawn(events);
    let state = AppState::new(AppParts {
        stores,
        intake,
        auth: JwtAuth::new(secret.expose().as_bytes()),
        clock,
        events: Arc::new(api_events),
        config: ApiConfig {
            max_body_bytes: config.listener.max_body_bytes,
            operator_org: config.auth.operator_org.clone(),
            operational_webhooks_org: config.operational.webhooks_org.clone(),
            public_url: public_url(config, addr),
            deliver_at_min_delay: config.intake.deliver_at_min_delay,
            ..ApiConfig::default()
        },
        sink_types: xwebhook_destinations::all(),
    });
    // The portal page is static and public; it reaches data only through the API routes beside it.
    let mut app = xwebhook_api::router(state).merge(xwebhook_portal::router(config.portal.page()));
    if let Some(routes) = extra_routes {
        app = app.merge(routes);
    }
    let shutdown = shutdown.clone();
    tasks.spawn(async move {
        let served =
            xwebhook_api::serve(listener, app, limits, async move { shutdown.cancelled().await }).await;
        reports.finish().await;
        served.context("the API server failed")
    });
    Ok(addr)
}

/// Where customers reach the API, for portal links: `XWEBHOOK_PUBLIC_URL`, else the listener's own address.
fn public_url(config: &Config, addr: SocketAddr) -> String {
    if let Some(url) = &config.portal.public_url {
        return url.clone();
    }
    if addr.ip().is_unspecified() {
        warn!(address = %addr, "portal links will name an unspecified address: set XWEBHOOK_PUBLIC_URL");
    }
    format!("http://{addr}")
}

/// Runs the configured roles until `shutdown` fires, then drains them.
pub async fn serve(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    start(config, shutdown).await?.wait().await
}
