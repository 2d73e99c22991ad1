//! Connection settings and the pool built from them.

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use xwebhook_engine::store::{StoreError, StoreErrorKind, StoreResult};

/// How long a request waits for a free connection before giving up with `Timeout`.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long opening one connection may take, unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database` (or the key-value form libpq accepts).
    pub url: String,
    /// The schema every connection works in (its `search_path`); `None` keeps the server's default. Tests give
    /// each case its own. Lower-case letters, digits and `_` only, so it never needs quoting.
    pub schema: Option<String>,
    /// Connections kept open at most.
    pub pool_size: usize,
    /// Whether [`crate::PostgresStore::connect`] applies pending migrations before returning.
    pub migrate_on_start: bool,
}

impl PostgresConfig {
    pub const DEFAULT_POOL_SIZE: usize = 16;

    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            pool_size: Self::DEFAULT_POOL_SIZE,
            migrate_on_start: true,
        }
    }

    pub(crate) fn pool(&self) -> StoreResult<Pool> {
        let manager = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = Manager::from_config(self.pg_config()?, NoTls, manager);
        Pool::builder(manager)
            .max_size(self.pool_size.max(1))
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| invalid("cannot build the connection pool", e))
    }

    fn pg_config(&self) -> StoreResult<tokio_postgres::Config> {
        let mut config: tokio_postgres::Config =
            self.url.parse().map_err(|e| invalid("invalid postgres url", e))?;
        if let Some(schema) = &self.schema {
            check_schema(schema)?;
            let options = match config.get_options() {
                Some(o) => format!("{o} -c search_path={schema}"),
                None => format!("-c search_path={schema}"),
            };
            config.options(&options);
        }
        if config.get_application_name().is_none() {
            config.application_name("xwebhook");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        Ok(config)
    }
}

/// The URL may carry a password: only its host part is shown.
impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.url.rsplit_once('@').map_or("***", |(_, host)| host);
        f.debug_struct("PostgresConfig")
            .field("url", &format_args!("***@{host}"))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("migrate_on_start", &self.migrate_on_start)
            .finish()
    }
}

pub(crate) fn check_schema(schema: &str) -> StoreResult<()> {
    let ok = schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::new(
            StoreErrorKind::Internal,
            format!("invalid schema name `{schema}`: use lower-case letters, digits and `_`"),
        ))
    }
}

fn invalid(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::with_source(StoreErrorKind::Internal, what, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_never_need_quoting() {
        for ok in ["xwt_01abc", "_x", "public"] {
            assert!(check_schema(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1x", "Upper", "a-b", "a;drop", &"x".repeat(64)] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let c = PostgresConfig::new("postgres://user:hunter2@db:5432/x");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("db:5432/x"),
            "{shown}"
        );
    }
}
