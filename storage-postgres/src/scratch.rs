//! Throw-away schemas on a local Postgres, for this crate's tests and for benches (feature `scratch`): each
//! user migrates into a schema nobody else uses, dropped with everything in it when the guard drops, even after
//! a panic.

use crate::PostgresConfig;

/// The local Postgres the tests share (see `scripts/check-services`); `XWEBHOOK_TEST_PG_URL` points elsewhere.
pub fn local_url() -> String {
    std::env::var("XWEBHOOK_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema on the local Postgres, created by the first migration into it and dropped when this drops
/// (drop it after the store's pool has let go of it).
pub struct ScratchSchema {
    pub name: String,
}

impl ScratchSchema {
    /// `<label>_<ulid>`; the label must be a lower-case SQL identifier.
    pub fn new(label: &str) -> Self {
        Self {
            name: format!("{label}_{}", ulid::Ulid::new().to_string().to_lowercase()),
        }
    }

    /// A small pool on [`local_url`], in this schema.
    pub fn config(&self) -> PostgresConfig {
        PostgresConfig {
            schema: Some(self.name.clone()),
            pool_size: 4,
            ..PostgresConfig::new(local_url())
        }
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        // `Drop` cannot await and may run inside a runtime: a thread with a runtime of its own drops the schema.
        let (url, sql) = (
            local_url(),
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                tokio::spawn(conn);
                client.batch_execute(&sql).await
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the schema {}: {dropped:?}", self.name);
        }
    }
}
