//! Versioned schema migrations, embedded in the binary and applied in order, each exactly once.
//!
//! Every run takes a transaction-scoped advisory lock keyed by the target schema, so processes that start
//! together queue up: the first applies what is missing, the others then find nothing to do. The schema
//! (when configured), the `schema_migrations` ledger and every pending migration are created in that one
//! transaction: a failed migration leaves nothing behind.

use tokio_postgres::Client;
use xwebhook_engine::store::StoreResult;

use crate::error::{Context as _, corrupt};

/// One step of the schema. Versions only grow; a released migration is never edited.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "records",
        sql: include_str!("../migrations/0001_records.sql"),
    },
    Migration {
        version: 2,
        name: "retention",
        sql: include_str!("../migrations/0002_retention.sql"),
    },
];

/// Distinguishes our advisory locks from any other application's on the same server.
const LOCK_NAMESPACE: &str = "xwebhook.migrate";

/// Applies the pending migrations into `schema` (or the connection's current schema); returns the versions
/// this call applied, in order.
pub(crate) async fn apply(client: &mut Client, schema: Option<&str>) -> StoreResult<Vec<i32>> {
    let tx = client
        .transaction()
        .await
        .context("cannot start the migration transaction")?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1), hashtext(coalesce($2, current_schema())))",
        &[&LOCK_NAMESPACE, &schema],
    )
    .await
    .context("cannot take the migration lock")?;
    if let Some(schema) = schema {
        // `schema` was checked to be a plain identifier (see `config::check_schema`).
        // The connection's search_path names it already, but it may not have existed when the session began.
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema}"
        ))
        .await
        .context("cannot create the schema")?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .context("cannot create the migrations ledger")?;
    let done = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .context("cannot read the migrations ledger")?
        .iter()
        .map(|row| {
            row.try_get::<_, i32>(0)
                .map_err(|e| corrupt("the migrations ledger", e))
        })
        .collect::<StoreResult<Vec<i32>>>()?;
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        tx.batch_execute(m.sql)
            .await
            .context(&format!("cannot apply migration {} ({})", m.version, m.name))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await
        .context("cannot record a migration")?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        applied.push(m.version);
    }
    tx.commit().await.context("cannot commit the migrations")?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_unique_and_increasing() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        assert_eq!(versions.first(), Some(&1));
    }
}
