//! Configuration: built-in defaults, then an optional TOML file, then `XWEBHOOK_*` environment variables, then
//! command-line flags. Loaded once, validated as a whole (every bad value is reported, not just the first), and
//! typed. The environment is a parameter so tests can drive the loader.
//!
//! Layout:
//! - `sections`: the sections (`listener`, `storage`, `delivery`, …), each a TOML table read by serde and a list
//!   of the `XWEBHOOK_*` variables that set its fields.
//! - `parsers`: the kinds of setting, each reading one value (text or TOML) into its type.
//! - `kinds`: the small typed values: a secret that never prints, the process role, the log format.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

mod kinds;
mod parsers;
mod sections;

pub use kinds::{LogFormat, Role, Secret};
pub use parsers::MIN_JWT_SECRET_LEN;
use parsers::{Address, Given, Kind, RedisUrl};
pub use sections::{Auth, Delivery, Intake, Listener, Operational, Portal, Retention, Storage, Telemetry};

/// The whole configuration. In a TOML file, `role` is a top-level key and every section is a table of its name
/// (`[listener]`, `[storage]`, …).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Which parts this process runs.
    pub role: Role,
    pub listener: Listener,
    pub storage: Storage,
    pub delivery: Delivery,
    pub intake: Intake,
    pub auth: Auth,
    pub telemetry: Telemetry,
    pub portal: Portal,
    pub operational: Operational,
    pub retention: Retention,
}

/// Every problem found while loading, one line each.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

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
            config.read_file(path, &mut errors);
        }
        config.read_env(&mut Env {
            vars: env,
            errors: &mut errors,
        });
        config.read_flags(flags, &mut errors);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(errors))
        }
    }

    fn read_env(&mut self, env: &mut Env<'_>) {
        env.read::<Role>("XWEBHOOK_ROLE", &mut self.role);
        self.listener.read_env(env);
        self.storage.read_env(env);
        self.delivery.read_env(env);
        self.intake.read_env(env);
        self.auth.read_env(env);
        self.telemetry.read_env(env);
        self.portal.read_env(env);
        self.operational.read_env(env);
        self.retention.read_env(env);
    }

    fn read_flags(&mut self, flags: &Overrides, errors: &mut Vec<String>) {
        let text = |v: &Option<String>| v.clone().map(Given::Text);
        assign::<Address>("--listen", text(&flags.listen), &mut self.listener.listen, errors);
        assign::<Role>("--role", text(&flags.role), &mut self.role, errors);
        assign::<RedisUrl>(
            "--redis-url",
            text(&flags.redis_url),
            &mut self.storage.redis_url,
            errors,
        );
        if let Some(dir) = &flags.data_dir {
            self.storage.data_dir.clone_from(dir);
        }
    }

    /// Reads a TOML file over the defaults. Each key of a section is judged alone first, so that one bad value
    /// does not hide the next.
    fn read_file(&mut self, path: &Path, errors: &mut Vec<String>) {
        let table = match read_table(path) {
            Ok(table) => table,
            Err(e) => return errors.push(e),
        };
        let mut file = TomlFile { path, errors };
        for (key, value) in table {
            match key.as_str() {
                "role" => file.role(value, &mut self.role),
                "listener" => file.section(&key, value, &mut self.listener),
                "storage" => file.section(&key, value, &mut self.storage),
                "delivery" => file.section(&key, value, &mut self.delivery),
                "intake" => file.section(&key, value, &mut self.intake),
                "auth" => file.section(&key, value, &mut self.auth),
                "telemetry" => file.section(&key, value, &mut self.telemetry),
                "portal" => file.section(&key, value, &mut self.portal),
                "operational" => file.section(&key, value, &mut self.operational),
                "retention" => file.section(&key, value, &mut self.retention),
                _ => file.unknown(&key),
            }
        }
    }
}

/// The sections of a TOML file, for the message about an unknown one.
const SECTIONS: &str = "listener, storage, delivery, intake, auth, telemetry, portal, operational, retention";

/// Where each top-level key of the flat files read before the sections went, for a message that says where to
/// move it.
const MOVED: &[(&str, &str)] = &[
    ("listen", "listener.listen"),
    ("header_read_timeout", "listener.header_read_timeout"),
    ("body_read_timeout", "listener.body_read_timeout"),
    ("idle_timeout", "listener.idle_timeout"),
    ("max_connections", "listener.max_connections"),
    ("max_body_bytes", "listener.max_body_bytes"),
    ("data_dir", "storage.data_dir"),
    ("redis_url", "storage.redis_url"),
    ("redis_prefix", "storage.redis_prefix"),
    ("redis_cluster", "storage.redis_cluster"),
    ("redis_pool_size", "storage.redis_pool_size"),
    ("database_url", "storage.database_url"),
    ("database_schema", "storage.database_schema"),
    ("database_pool_size", "storage.database_pool_size"),
    ("database_migrate", "storage.database_migrate"),
    ("retry_schedule", "delivery.retry_schedule"),
    ("request_timeout", "delivery.request_timeout"),
    ("worker_concurrency", "delivery.worker_concurrency"),
    ("svix_headers", "delivery.svix_headers"),
    (
        "endpoint_failure_disable_after",
        "delivery.endpoint_failure_disable_after",
    ),
    ("allow_subnets", "delivery.allow_subnets"),
    ("replay_rate", "delivery.replay_rate"),
    ("background_task_lease", "delivery.background_task_lease"),
    ("sink_lease", "delivery.sink_lease"),
    ("intake_concurrency", "intake.concurrency"),
    ("intake_wait_ms", "intake.wait_ms"),
    ("deliver_at_min_delay", "intake.deliver_at_min_delay"),
    ("jwt_secret", "auth.jwt_secret"),
    ("operator_org", "auth.operator_org"),
    ("log", "telemetry.log"),
    ("log_format", "telemetry.log_format"),
    ("metrics", "telemetry.metrics"),
    ("metrics_listen", "telemetry.metrics_listen"),
    ("otlp_endpoint", "telemetry.otlp_endpoint"),
    ("public_url", "portal.public_url"),
    ("portal_frame_ancestors", "portal.frame_ancestors"),
    ("portal_brand_name", "portal.brand_name"),
    ("portal_brand_color", "portal.brand_color"),
    ("operational_webhooks_org", "operational.webhooks_org"),
    ("retention_interval", "retention.interval"),
];

/// A syntax error names its line, not the line's text, which may hold a secret.
fn read_table(path: &Path) -> Result<toml::Table, String> {
    let file = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {file}: {e}"))?;
    text.parse::<toml::Table>().map_err(|e| {
        let line = e.span().map_or(String::new(), |span| {
            let line = text[..span.start].matches('\n').count() + 1;
            format!(" (line {line})")
        });
        format!("{file} is not valid TOML{line}: {}", e.message().trim_end())
    })
}

/// One TOML file being read, and the problems found in it.
struct TomlFile<'a> {
    path: &'a Path,
    errors: &'a mut Vec<String>,
}

impl TomlFile<'_> {
    fn role(&mut self, value: toml::Value, role: &mut Role) {
        let name = format!("role in {}", self.path.display());
        assign::<Role>(&name, Some(Given::from(value)), role, self.errors);
    }

    /// Reads the table `name` into `section`: its good keys are set, each bad one is reported.
    fn section<T: DeserializeOwned>(&mut self, name: &str, value: toml::Value, section: &mut T) {
        let file = self.path.display();
        let toml::Value::Table(table) = value else {
            let e = format!("{name} in {file}: must be a section, [{name}], not a single value");
            return self.errors.push(e);
        };
        let mut good = toml::Table::new();
        for (key, value) in table {
            let alone = toml::Table::from_iter([(key.clone(), value.clone())]);
            match toml::Value::Table(alone).try_into::<T>() {
                Ok(_) => {
                    good.insert(key, value);
                }
                Err(e) => self
                    .errors
                    .push(format!("{name}.{key} in {file}: {}", e.message())),
            }
        }
        // Each key read alone, so together they read too.
        match toml::Value::Table(good).try_into() {
            Ok(read) => *section = read,
            Err(e) => self.errors.push(format!("[{name}] in {file}: {}", e.message())),
        }
    }

    fn unknown(&mut self, key: &str) {
        let file = self.path.display();
        let e = match MOVED.iter().find(|(old, _)| *old == key) {
            Some((_, new)) => format!(
                "{key} in {file}: settings are in sections now: write it as {new} (see the README's Configuration)"
            ),
            None => format!("{key} in {file}: unknown section: expected role or one of {SECTIONS}"),
        };
        self.errors.push(e);
    }
}

/// The environment being read, and the problems found in it.
struct Env<'a> {
    vars: &'a HashMap<String, String>,
    errors: &'a mut Vec<String>,
}

impl Env<'_> {
    /// Sets `slot` from the variable `name` when it is set.
    fn read<K: Kind>(&mut self, name: &str, slot: &mut K::Value) {
        let given = self.vars.get(name).map(|v| Given::Text(v.clone()));
        assign::<K>(name, given, slot, self.errors);
    }
}

/// Sets `slot` to the value `given` under `name`, or reports what is wrong with it.
fn assign<K: Kind>(name: &str, given: Option<Given>, slot: &mut K::Value, errors: &mut Vec<String>) {
    match given.map(K::read) {
        Some(Ok(value)) => *slot = value,
        Some(Err(e)) => errors.push(format!("{name}: {e}")),
        None => {}
    }
}

#[cfg(test)]
mod tests;
