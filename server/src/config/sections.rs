//! The sections of the configuration. Each is a TOML table (`[listener]`, …) read by serde, whose fields name
//! their kind (`parsers`), and lists the `XWEBHOOK_*` variables that set its fields.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use xwebhook_engine::id::OrgId;
use xwebhook_engine::intake::Admission;
use xwebhook_portal::{BrandColor, BrandName, FrameAncestors, PortalConfig};

use super::parsers::*;
use super::{Env, LogFormat, Secret};

/// The API's listener and what it allows its clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Listener {
    #[serde(deserialize_with = "read::<Address, _>")]
    pub listen: SocketAddr,
    /// How long a request head may take to arrive (also a new connection's wait for it).
    #[serde(deserialize_with = "read::<PositiveSeconds, _>")]
    pub header_read_timeout: Duration,
    /// How long a request body may take to arrive once its head has (408 after).
    #[serde(deserialize_with = "read::<PositiveSeconds, _>")]
    pub body_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    #[serde(deserialize_with = "read::<PositiveSeconds, _>")]
    pub idle_timeout: Duration,
    /// Client connections served at once; `None` (the default): derived from the open-file limit at start.
    #[serde(deserialize_with = "read::<MaxConnections, _>")]
    pub max_connections: Option<usize>,
    #[serde(deserialize_with = "read::<Positive, _>")]
    pub max_body_bytes: usize,
}

impl Default for Listener {
    fn default() -> Self {
        // The reasons for these values are given on `ConnectionLimits::default`.
        let limits = xwebhook_api::ConnectionLimits::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8071)),
            header_read_timeout: limits.header_read_timeout,
            body_read_timeout: limits.body_read_timeout,
            idle_timeout: limits.idle_timeout,
            max_connections: None,
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl Listener {
    pub(super) fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<Address>("XWEBHOOK_LISTEN", &mut self.listen);
        env.read::<PositiveSeconds>("XWEBHOOK_HEADER_READ_TIMEOUT", &mut self.header_read_timeout);
        env.read::<PositiveSeconds>("XWEBHOOK_BODY_READ_TIMEOUT", &mut self.body_read_timeout);
        env.read::<PositiveSeconds>("XWEBHOOK_IDLE_TIMEOUT", &mut self.idle_timeout);
        env.read::<MaxConnections>("XWEBHOOK_MAX_CONNECTIONS", &mut self.max_connections);
        env.read::<Positive>("XWEBHOOK_MAX_BODY_BYTES", &mut self.max_body_bytes);
    }
}

/// Where records, the queue and the caches are kept: the embedded store, Redis, Postgres.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Storage {
    /// The embedded store and the generated JWT secret.
    #[serde(deserialize_with = "read::<Directory, _>")]
    pub data_dir: PathBuf,
    /// Redis for records, queue and cache; unset = the embedded store. May hold a password, so it never prints.
    #[serde(deserialize_with = "read::<RedisUrl, _>")]
    pub redis_url: Option<Secret>,
    #[serde(deserialize_with = "read::<RedisPrefix, _>")]
    pub redis_prefix: String,
    #[serde(deserialize_with = "read::<Bool, _>")]
    pub redis_cluster: bool,
    #[serde(deserialize_with = "read::<Positive, _>")]
    pub redis_pool_size: usize,
    /// Postgres for records (applications … attempts); the queue and cache stay on Redis or the embedded store.
    #[serde(deserialize_with = "read::<DatabaseUrl, _>")]
    pub database_url: Option<Secret>,
    /// The schema to work in (default: the server's `search_path`); tests give each run its own.
    #[serde(deserialize_with = "read::<DatabaseSchema, _>")]
    pub database_schema: Option<String>,
    #[serde(deserialize_with = "read::<Positive, _>")]
    pub database_pool_size: usize,
    /// Apply pending migrations at start (safe when several processes start at once).
    #[serde(deserialize_with = "read::<Bool, _>")]
    pub database_migrate: bool,
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./xwebhook-data"),
            redis_url: None,
            redis_prefix: "xwebhook".into(),
            redis_cluster: false,
            redis_pool_size: 4,
            database_url: None,
            database_schema: None,
            database_pool_size: 16,
            database_migrate: true,
        }
    }
}

impl Storage {
    pub(super) fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<Directory>("XWEBHOOK_DATA_DIR", &mut self.data_dir);
        env.read::<RedisUrl>("XWEBHOOK_REDIS_URL", &mut self.redis_url);
        env.read::<RedisPrefix>("XWEBHOOK_REDIS_PREFIX", &mut self.redis_prefix);
        env.read::<Bool>("XWEBHOOK_REDIS_CLUSTER", &mut self.redis_cluster);
        env.read::<Positive>("XWEBHOOK_REDIS_POOL_SIZE", &mut self.redis_pool_size);
        env.read::<DatabaseUrl>("XWEBHOOK_DATABASE_URL", &mut self.database_url);
        env.read::<DatabaseSchema>("XWEBHOOK_DATABASE_SCHEMA", &mut self.database_schema);
        env.read::<Positive>("XWEBHOOK_DATABASE_POOL_SIZE", &mut self.database_pool_size);
        env.read::<Bool>("XWEBHOOK_DATABASE_MIGRATE", &mut self.database_migrate);
    }
}

/// How the worker delivers: retries, timeouts, concurrency, headers, auto-disable, allowed networks.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Delivery {
    #[serde(deserialize_with = "read::<RetrySchedule, _>")]
    pub retry_schedule: Vec<Duration>,
    #[serde(deserialize_with = "read::<PositiveSeconds, _>")]
    pub request_timeout: Duration,
    #[serde(deserialize_with = "read::<Positive, _>")]
    pub worker_concurrency: usize,
    #[serde(deserialize_with = "read::<Bool, _>")]
    pub svix_headers: bool,
    /// Disable an endpoint whose deliveries have all failed for this long; `None` (configured as 0): never.
    #[serde(deserialize_with = "read::<HoursOrNever, _>")]
    pub endpoint_failure_disable_after: Option<Duration>,
    /// Networks that may be delivered to despite the private-network block.
    #[serde(deserialize_with = "read::<Subnets, _>")]
    pub allow_subnets: Vec<IpNet>,
    /// Messages a replay (a background task) queues a second, at most.
    #[serde(deserialize_with = "read::<Positive, _>")]
    pub replay_rate: usize,
    /// How long a background task stays with a process that stopped saving it (one that died) before another
    /// takes it over.
    #[serde(deserialize_with = "read::<PositiveSeconds, _>")]
    pub background_task_lease: Duration,
    /// How long a pushing destination (a FIFO endpoint, a broker) stays with a process that stopped renewing
    /// it (one that died) before another drives it. A batch is cut off at half of it.
    #[serde(deserialize_with = "read::<PositiveSeconds, _>")]
    pub sink_lease: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            retry_schedule: [5, 300, 1800, 7200, 18000, 36000, 36000]
                .map(Duration::from_secs)
                .to_vec(),
            request_timeout: Duration::from_secs(30),
            worker_concurrency: 512,
            svix_headers: false,
            endpoint_failure_disable_after: Some(Duration::from_secs(120 * 3600)),
            allow_subnets: Vec::new(),
            replay_rate: 1000,
            background_task_lease: Duration::from_secs(30),
            sink_lease: Duration::from_secs(10),
        }
    }
}

impl Delivery {
    pub(super) fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<RetrySchedule>("XWEBHOOK_RETRY_SCHEDULE", &mut self.retry_schedule);
        env.read::<PositiveSeconds>("XWEBHOOK_REQUEST_TIMEOUT", &mut self.request_timeout);
        env.read::<Positive>("XWEBHOOK_WORKER_CONCURRENCY", &mut self.worker_concurrency);
        env.read::<Bool>("XWEBHOOK_SVIX_HEADERS", &mut self.svix_headers);
        env.read::<HoursOrNever>(
            "XWEBHOOK_ENDPOINT_FAILURE_DISABLE_AFTER",
            &mut self.endpoint_failure_disable_after,
        );
        env.read::<Subnets>("XWEBHOOK_ALLOW_SUBNETS", &mut self.allow_subnets);
        env.read::<Positive>("XWEBHOOK_REPLAY_RATE", &mut self.replay_rate);
        env.read::<PositiveSeconds>("XWEBHOOK_BACKGROUND_TASK_LEASE", &mut self.background_task_lease);
        env.read::<PositiveSeconds>("XWEBHOOK_SINK_LEASE", &mut self.sink_lease);
    }
}

/// How many messages a process writes at once (API and operational webhooks together); the rest wait a turn.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Intake {
    #[serde(deserialize_with = "read::<Positive, _>")]
    pub concurrency: usize,
    /// How long a message waits for a turn before it is refused with 503 and `Retry-After`.
    #[serde(rename = "wait_ms", deserialize_with = "read::<Milliseconds, _>")]
    pub wait: Duration,
    /// How far ahead a message's `deliverAt` must be at least (Svix documents a minute).
    #[serde(deserialize_with = "read::<PositiveSeconds, _>")]
    pub deliver_at_min_delay: Duration,
}

impl Default for Intake {
    fn default() -> Self {
        Self {
            concurrency: Admission::DEFAULT_LIMIT,
            wait: Admission::DEFAULT_WAIT,
            deliver_at_min_delay: Duration::from_secs(60),
        }
    }
}

impl Intake {
    pub(super) fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<Positive>("XWEBHOOK_INTAKE_CONCURRENCY", &mut self.concurrency);
        env.read::<Milliseconds>("XWEBHOOK_INTAKE_WAIT_MS", &mut self.wait);
        env.read::<PositiveSeconds>("XWEBHOOK_DELIVER_AT_MIN_DELAY", &mut self.deliver_at_min_delay);
    }
}

/// Who may call the API.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    /// The HS256 secret of API tokens; unset = the one kept in the data directory.
    #[serde(deserialize_with = "read::<JwtSecret, _>")]
    pub jwt_secret: Option<Secret>,
    /// The deployment's operator: the only organization whose tokens may call the operator routes (`/admin/…`),
    /// which act on every tenant's data.
    #[serde(deserialize_with = "read::<OrgId, _>")]
    pub operator_org: OrgId,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            operator_org: OrgId::default_org(),
        }
    }
}

impl Auth {
    pub(super) fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<JwtSecret>("XWEBHOOK_JWT_SECRET", &mut self.jwt_secret);
        env.read::<OrgId>("XWEBHOOK_OPERATOR_ORG", &mut self.operator_org);
    }
}

/// Logs, metrics and spans.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Telemetry {
    /// The log filter, in `tracing`'s `EnvFilter` syntax.
    #[serde(deserialize_with = "read::<Text, _>")]
    pub log: String,
    #[serde(deserialize_with = "read::<LogFormat, _>")]
    pub log_format: LogFormat,
    /// Record Prometheus metrics; off, the recorder is not installed and recording costs nothing.
    #[serde(deserialize_with = "read::<Switch, _>")]
    pub metrics: bool,
    /// Serve `GET /metrics` on this address instead of the API's.
    #[serde(deserialize_with = "read::<MetricsAddress, _>")]
    pub metrics_listen: Option<SocketAddr>,
    /// Export spans over OTLP/HTTP to the collector at this base URL; unset = spans are only logged.
    #[serde(deserialize_with = "read::<OtlpEndpoint, _>")]
    pub otlp_endpoint: Option<String>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            log: "info".into(),
            log_format: LogFormat::Text,
            metrics: true,
            metrics_listen: None,
            otlp_endpoint: None,
        }
    }
}

impl Telemetry {
    pub(super) fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<Text>("XWEBHOOK_LOG", &mut self.log);
        env.read::<LogFormat>("XWEBHOOK_LOG_FORMAT", &mut self.log_format);
        env.read::<Switch>("XWEBHOOK_METRICS", &mut self.metrics);
        env.read::<MetricsAddress>("XWEBHOOK_METRICS_LISTEN", &mut self.metrics_listen);
        env.read::<OtlpEndpoint>("XWEBHOOK_OTLP_ENDPOINT", &mut self.otlp_endpoint);
    }
}

/// The App Portal: the address its links name, its brand and who may frame it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Portal {
    /// The address customers reach the API at (`https://…` behind TLS), for portal links; unset = the listener's.
    #[serde(deserialize_with = "read::<PublicUrl, _>")]
    pub public_url: Option<String>,
    #[serde(deserialize_with = "read::<FrameAncestors, _>")]
    pub frame_ancestors: FrameAncestors,
    #[serde(deserialize_with = "read::<BrandName, _>")]
    pub brand_name: BrandName,
    #[serde(deserialize_with = "read::<BrandColor, _>")]
    pub brand_color: BrandColor,
}

impl Portal {
    pub(super) fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<PublicUrl>("XWEBHOOK_PUBLIC_URL", &mut self.public_url);
        env.read::<FrameAncestors>("XWEBHOOK_PORTAL_FRAME_ANCESTORS", &mut self.frame_ancestors);
        env.read::<BrandName>("XWEBHOOK_PORTAL_BRAND_NAME", &mut self.brand_name);
        env.read::<BrandColor>("XWEBHOOK_PORTAL_BRAND_COLOR", &mut self.brand_color);
    }

    /// What the portal page itself needs.
    pub fn page(&self) -> PortalConfig {
        PortalConfig {
            frame_ancestors: self.frame_ancestors.clone(),
            brand_name: self.brand_name.clone(),
            brand_color: self.brand_color.clone(),
        }
    }
}

/// Operational webhooks: events about tenants' endpoints, sent to the applications of one organization.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Operational {
    /// The organization whose applications (uid = a tenant's org id) receive operational webhooks: those a
    /// tenant makes with the SDK's `operational_webhook_endpoint` calls, and those an operator sets up by hand.
    #[serde(deserialize_with = "read::<OrgId, _>")]
    pub webhooks_org: OrgId,
}

impl Default for Operational {
    fn default() -> Self {
        Self {
            webhooks_org: OrgId::operational_webhooks(),
        }
    }
}

impl Operational {
    pub(super) fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<OrgId>("XWEBHOOK_OPERATIONAL_WEBHOOKS_ORG", &mut self.webhooks_org);
    }
}

/// The payload cleaner (worker role).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Pause between rounds of the cleaner.
    #[serde(deserialize_with = "read::<PositiveSeconds, _>")]
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
        }
    }
}

impl Retention {
    pub(super) fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<PositiveSeconds>("XWEBHOOK_RETENTION_INTERVAL", &mut self.interval);
    }
}
