//! Configuration: built-in defaults, then an optional TOML file, then `XWEBHOOK_*` environment variables, then
//! command-line flags. Loaded once, validated as a whole (every bad value is reported, not just the first), and
//! typed. The environment is a parameter so tests can drive the loader.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use xwebhook_engine::id::OrgId;
use xwebhook_engine::intake::Admission;
use xwebhook_portal::{BrandColor, BrandName, FrameAncestors, PortalConfig};

mod kinds;
mod setters;

pub use kinds::{LogFormat, Role, Secret};
pub use setters::MIN_JWT_SECRET_LEN;
use setters::*;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub jwt_secret: Option<Secret>,
    pub role: Role,
    pub retry_schedule: Vec<Duration>,
    pub request_timeout: Duration,
    /// API clients: how long a request head may take to arrive (also a new connection's wait for it).
    pub header_read_timeout: Duration,
    /// API clients: how long a request body may take to arrive once its head has (408 after).
    pub body_read_timeout: Duration,
    /// API clients: how long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// API client connections served at once; `None` (the default): derived from the open-file limit at start.
    pub max_connections: Option<usize>,
    pub allow_subnets: Vec<IpNet>,
    pub log: String,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    pub worker_concurrency: usize,
    pub svix_headers: bool,
    /// Disable an endpoint whose deliveries have all failed for this long; `None` (configured as 0): never.
    pub endpoint_failure_disable_after: Option<Duration>,
    /// Redis for records, queue and cache; unset = the embedded store. May hold a password, so it never prints.
    pub redis_url: Option<Secret>,
    pub redis_prefix: String,
    pub redis_cluster: bool,
    pub redis_pool_size: usize,
    /// Messages this process writes at once (API and operational webhooks together); the rest wait their turn.
    pub intake_concurrency: usize,
    /// How long a message waits for a turn before it is refused with 503 and `Retry-After`.
    pub intake_wait: Duration,
    /// Postgres for records (applications … attempts); the queue and cache stay on Redis or the embedded store.
    pub database_url: Option<Secret>,
    /// The schema to work in (default: the server's `search_path`); tests give each run its own.
    pub database_schema: Option<String>,
    pub database_pool_size: usize,
    /// Apply pending migrations at start (safe when several processes start at once).
    pub database_migrate: bool,
    /// The operator's organization, whose applications (uid = a tenant's org id) receive operational webhooks;
    /// unset = none are sent.
    pub operational_webhooks_org: Option<OrgId>,
    /// The deployment's operator: the only organization whose tokens may call the operator routes (`/admin/…`),
    /// which act on every tenant's data.
    pub operator_org: OrgId,
    /// The address customers reach the API at (`https://…` behind TLS), for portal links; unset = the listener's.
    pub public_url: Option<String>,
    /// The App Portal page: its brand and who may frame it.
    pub portal: PortalConfig,
    /// Pause between rounds of the payload cleaner (worker role).
    pub retention_interval: Duration,
    /// Record Prometheus metrics; off, the recorder is not installed and recording costs nothing.
    pub metrics: bool,
    /// Serve `GET /metrics` on this address instead of the API's.
    pub metrics_listen: Option<SocketAddr>,
    /// Export spans over OTLP/HTTP to the collector at this base URL; unset = spans are only logged.
    pub otlp_endpoint: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let limits = xwebhook_api::ConnectionLimits::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8071)),
            data_dir: PathBuf::from("./xwebhook-data"),
            jwt_secret: None,
            role: Role::All,
            retry_schedule: [5, 300, 1800, 7200, 18000, 36000, 36000]
                .map(Duration::from_secs)
                .to_vec(),
            request_timeout: Duration::from_secs(30),
            // The reasons for these values are given on `ConnectionLimits::default`.
            header_read_timeout: limits.header_read_timeout,
            body_read_timeout: limits.body_read_timeout,
            idle_timeout: limits.idle_timeout,
            max_connections: None,
            allow_subnets: Vec::new(),
            log: "info".into(),
            log_format: LogFormat::Text,
            max_body_bytes: 1024 * 1024,
            worker_concurrency: 512,
            svix_headers: false,
            endpoint_failure_disable_after: Some(Duration::from_secs(120 * 3600)),
            redis_url: None,
            redis_prefix: "xwebhook".into(),
            redis_cluster: false,
            redis_pool_size: 4,
            intake_concurrency: Admission::DEFAULT_LIMIT,
            intake_wait: Admission::DEFAULT_WAIT,
            database_url: None,
            database_schema: None,
            database_pool_size: 16,
            database_migrate: true,
            operational_webhooks_org: None,
            operator_org: OrgId::default_org(),
            public_url: None,
            portal: PortalConfig::default(),
            retention_interval: Duration::from_secs(300),
            metrics: true,
            metrics_listen: None,
            otlp_endpoint: None,
        }
    }
}

/// Every problem found while loading, one line each.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

/// The settings, by their environment name, TOML key and parser.
const SETTINGS: &[(&str, &str, Setter)] = &[
    ("XWEBHOOK_LISTEN", "listen", |c, v| {
        c.listen = parse(v, "an address like 127.0.0.1:8071")?;
        Ok(())
    }),
    ("XWEBHOOK_DATA_DIR", "data_dir", |c, v| {
        c.data_dir = PathBuf::from(v);
        Ok(())
    }),
    ("XWEBHOOK_JWT_SECRET", "jwt_secret", set_jwt_secret),
    ("XWEBHOOK_ROLE", "role", |c, v| {
        c.role = v.parse()?;
        Ok(())
    }),
    ("XWEBHOOK_RETRY_SCHEDULE", "retry_schedule", set_retry_schedule),
    ("XWEBHOOK_REQUEST_TIMEOUT", "request_timeout", set_request_timeout),
    ("XWEBHOOK_HEADER_READ_TIMEOUT", "header_read_timeout", |c, v| {
        c.header_read_timeout = positive_seconds(v)?;
        Ok(())
    }),
    ("XWEBHOOK_BODY_READ_TIMEOUT", "body_read_timeout", |c, v| {
        c.body_read_timeout = positive_seconds(v)?;
        Ok(())
    }),
    ("XWEBHOOK_IDLE_TIMEOUT", "idle_timeout", |c, v| {
        c.idle_timeout = positive_seconds(v)?;
        Ok(())
    }),
    ("XWEBHOOK_MAX_CONNECTIONS", "max_connections", set_max_connections),
    ("XWEBHOOK_ALLOW_SUBNETS", "allow_subnets", set_allow_subnets),
    ("XWEBHOOK_LOG", "log", |c, v| {
        c.log = v.to_owned();
        Ok(())
    }),
    ("XWEBHOOK_LOG_FORMAT", "log_format", |c, v| {
        c.log_format = v.parse()?;
        Ok(())
    }),
    ("XWEBHOOK_MAX_BODY_BYTES", "max_body_bytes", |c, v| {
        c.max_body_bytes = positive(v)?;
        Ok(())
    }),
    ("XWEBHOOK_WORKER_CONCURRENCY", "worker_concurrency", |c, v| {
        c.worker_concurrency = positive(v)?;
        Ok(())
    }),
    ("XWEBHOOK_SVIX_HEADERS", "svix_headers", |c, v| {
        c.svix_headers = parse(v, "true or false")?;
        Ok(())
    }),
    (
        "XWEBHOOK_ENDPOINT_FAILURE_DISABLE_AFTER",
        "endpoint_failure_disable_after",
        set_endpoint_failure_disable_after,
    ),
    ("XWEBHOOK_REDIS_URL", "redis_url", set_redis_url),
    ("XWEBHOOK_REDIS_PREFIX", "redis_prefix", set_redis_prefix),
    ("XWEBHOOK_REDIS_CLUSTER", "redis_cluster", |c, v| {
        c.redis_cluster = parse(v, "true or false")?;
        Ok(())
    }),
    ("XWEBHOOK_REDIS_POOL_SIZE", "redis_pool_size", |c, v| {
        c.redis_pool_size = positive(v)?;
        Ok(())
    }),
    ("XWEBHOOK_INTAKE_CONCURRENCY", "intake_concurrency", |c, v| {
        c.intake_concurrency = positive(v)?;
        Ok(())
    }),
    ("XWEBHOOK_INTAKE_WAIT_MS", "intake_wait_ms", |c, v| {
        c.intake_wait = Duration::from_millis(parse(v, "a number of milliseconds")?);
        Ok(())
    }),
    ("XWEBHOOK_DATABASE_URL", "database_url", set_database_url),
    ("XWEBHOOK_DATABASE_SCHEMA", "database_schema", set_database_schema),
    ("XWEBHOOK_DATABASE_POOL_SIZE", "database_pool_size", |c, v| {
        c.database_pool_size = positive(v)?;
        Ok(())
    }),
    ("XWEBHOOK_DATABASE_MIGRATE", "database_migrate", |c, v| {
        c.database_migrate = parse(v, "true or false")?;
        Ok(())
    }),
    (
        "XWEBHOOK_OPERATIONAL_WEBHOOKS_ORG",
        "operational_webhooks_org",
        set_operational_webhooks_org,
    ),
    ("XWEBHOOK_OPERATOR_ORG", "operator_org", |c, v| {
        c.operator_org = org_id(v)?;
        Ok(())
    }),
    ("XWEBHOOK_PUBLIC_URL", "public_url", set_public_url),
    (
        "XWEBHOOK_PORTAL_FRAME_ANCESTORS",
        "portal_frame_ancestors",
        |c, v| {
            c.portal.frame_ancestors = FrameAncestors::parse(v).map_err(|e| e.to_string())?;
            Ok(())
        },
    ),
    ("XWEBHOOK_PORTAL_BRAND_NAME", "portal_brand_name", |c, v| {
        c.portal.brand_name = BrandName::parse(v).map_err(|e| e.to_string())?;
        Ok(())
    }),
    ("XWEBHOOK_PORTAL_BRAND_COLOR", "portal_brand_color", |c, v| {
        c.portal.brand_color = BrandColor::parse(v).map_err(|e| e.to_string())?;
        Ok(())
    }),
    ("XWEBHOOK_RETENTION_INTERVAL", "retention_interval", |c, v| {
        c.retention_interval = positive_seconds(v)?;
        Ok(())
    }),
    ("XWEBHOOK_METRICS", "metrics", |c, v| {
        c.metrics = switch(v)?;
        Ok(())
    }),
    ("XWEBHOOK_METRICS_LISTEN", "metrics_listen", |c, v| {
        c.metrics_listen = match v.trim() {
            "" => None,
            v => Some(parse(v, "an address like 0.0.0.0:9090")?),
        };
        Ok(())
    }),
    ("XWEBHOOK_OTLP_ENDPOINT", "otlp_endpoint", set_otlp_endpoint),
];

type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// Flags given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub role: Option<String>,
    pub redis_url: Option<String>,
}

impl Config {
    pub fn load(
        file: Option<&Path>,
        env: &HashMap<String, String>,
        flags: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        let mut errors = Vec::new();
        if let Some(path) = file {
            match file_values(path) {
                Ok(values) => config.apply(
                    &values,
                    |key| format!("{} in {}", key, path.display()),
                    &mut errors,
                ),
                Err(e) => errors.push(e),
            }
        }
        let env_values: HashMap<&str, String> = SETTINGS
            .iter()
            .filter_map(|(name, key, _)| env.get(*name).map(|v| (*key, v.clone())))
            .collect();
        let env_name = |key: &str| {
            SETTINGS
                .iter()
                .find(|s| s.1 == key)
                .map_or(key.to_owned(), |s| s.0.to_owned())
        };
        config.apply(&env_values, env_name, &mut errors);
        let mut flag_values = HashMap::new();
        if let Some(v) = &flags.listen {
            flag_values.insert("listen", v.clone());
        }
        if let Some(v) = &flags.data_dir {
            flag_values.insert("data_dir", v.display().to_string());
        }
        if let Some(v) = &flags.role {
            flag_values.insert("role", v.clone());
        }
        if let Some(v) = &flags.redis_url {
            flag_values.insert("redis_url", v.clone());
        }
        config.apply(
            &flag_values,
            |key| format!("--{}", key.replace('_', "-")),
            &mut errors,
        );
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(errors))
        }
    }

    fn apply(
        &mut self,
        values: &HashMap<&str, String>,
        name: impl Fn(&str) -> String,
        errors: &mut Vec<String>,
    ) {
        for (_, key, set) in SETTINGS {
            if let Some(Err(e)) = values.get(key).map(|v| set(self, v)) {
                errors.push(format!("{}: {e}", name(key)));
            }
        }
    }
}

/// Reads a TOML file into setting values. Values may be strings, numbers, booleans or (schedule, subnets) arrays.
fn file_values(path: &Path) -> Result<HashMap<&'static str, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{} is not valid TOML: {e}", path.display()))?;
    let mut values = HashMap::new();
    for (key, value) in table {
        let Some((_, known, _)) = SETTINGS.iter().find(|s| s.1 == key) else {
            return Err(format!("unknown setting `{key}` in {}", path.display()));
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        values.insert(*known, text);
    }
    Ok(values)
}

#[cfg(test)]
mod tests;
