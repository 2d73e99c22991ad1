//! Revoked token ids: one row per `jti` holding the time its revocation may be forgotten, plus an (expiry, jti)
//! index so that lapsed rows are purged as new ones arrive and the table stays as small as the live set.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableTable, Table};
use xwebhook_engine::store::{StoreResult, TokenRevocations};

use crate::EmbeddedStore;
use crate::error::Context as _;
use crate::tables::{REVOKED_TOKENS, REVOKED_TOKENS_EXPIRY, take_lapsed};
use crate::writer::Batch;

/// Lapsed rows removed per `revoke`: more than the one each call adds, so the table cannot grow without bound.
const PURGE_PER_REVOKE: usize = 16;

type Expiry<'t> = Table<'t, (u64, &'static str), ()>;

fn millis(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

fn revoke(b: &Batch<'_>, jti: &str, until: u64) -> StoreResult<()> {
    let mut rows =
        b.tx.open_table(REVOKED_TOKENS)
            .context("cannot open the revoked tokens")?;
    let mut expiry: Expiry<'_> =
        b.tx.open_table(REVOKED_TOKENS_EXPIRY)
            .context("cannot open the revoked tokens expiry index")?;
    let old = rows
        .get(jti)
        .context("cannot read a revoked token")?
        .map(|g| g.value());
    let until = old.map_or(until, |old| old.max(until));
    if let Some(old) = old {
        expiry
            .remove((old, jti))
            .context("cannot unindex a revoked token")?;
    }
    rows.insert(jti, until).context("cannot write a revoked token")?;
    expiry
        .insert((until, jti), ())
        .context("cannot index a revoked token")?;
    Ok(())
}

fn purge_lapsed(b: &Batch<'_>, now: u64) -> StoreResult<()> {
    let lapsed = take_lapsed(b.tx, REVOKED_TOKENS_EXPIRY, now, PURGE_PER_REVOKE)?;
    let mut rows =
        b.tx.open_table(REVOKED_TOKENS)
            .context("cannot open the revoked tokens")?;
    for jti in lapsed {
        rows.remove(jti.as_str())
            .context("cannot delete a revoked token")?;
    }
    Ok(())
}

#[async_trait]
impl TokenRevocations for EmbeddedStore {
    async fn revoke(&self, jti: &str, until: DateTime<Utc>) -> StoreResult<()> {
        let jti = jti.to_owned();
        let until = millis(until);
        self.writer
            .write(move |b| {
                purge_lapsed(b, millis(Utc::now()))?;
                revoke(b, &jti, until)
            })
            .await
    }

    async fn is_revoked(&self, jti: &str) -> StoreResult<bool> {
        let tx = self.read()?;
        let rows = tx
            .open_table(REVOKED_TOKENS)
            .context("cannot open the revoked tokens")?;
        let until = rows
            .get(jti)
            .context("cannot read a revoked token")?
            .map(|g| g.value());
        Ok(until.is_some_and(|until| until > millis(Utc::now())))
    }
}
