//! Revoked token ids: one row per `jti` holding the time its revocation may be forgotten, plus an (expiry, jti)
//! index so that lapsed rows are purged as new ones arrive and the table stays as small as the live set.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableTable, Table, TableDefinition, TableHandle};
use xwebhook_engine::store::{ScopeExpiry, StoreResult, TokenRevocations};

use crate::EmbeddedStore;
use crate::error::Context as _;
use crate::tables::{
    EXPIRED_SCOPES, EXPIRED_SCOPES_EXPIRY, ExpiryIndex, REVOKED_TOKENS, REVOKED_TOKENS_EXPIRY, take_lapsed,
};
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

/// Deletes a few rows of `table` whose entries in `index` lapsed before `now`.
fn purge_lapsed<V: redb::Value + 'static>(
    b: &Batch<'_>,
    table: TableDefinition<'static, &'static str, V>,
    index: ExpiryIndex,
    now: u64,
) -> StoreResult<()> {
    let lapsed = take_lapsed(b.tx, index, now, PURGE_PER_REVOKE)?;
    let what = format!("cannot purge lapsed rows of {}", table.name());
    let mut rows = b.tx.open_table(table).context(what.as_str())?;
    for key in lapsed {
        rows.remove(key.as_str()).context(what.as_str())?;
    }
    Ok(())
}

fn from_millis(ms: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Keeps one row per scope, merged as [`ScopeExpiry::merge`] says, until the later of the two `until`s.
fn expire_scope(b: &Batch<'_>, scope: &str, expiry: ScopeExpiry, until: u64) -> StoreResult<()> {
    let mut rows =
        b.tx.open_table(EXPIRED_SCOPES)
            .context("cannot open the expired scopes")?;
    let mut index: Expiry<'_> =
        b.tx.open_table(EXPIRED_SCOPES_EXPIRY)
            .context("cannot open the expired scopes expiry index")?;
    let old = rows
        .get(scope)
        .context("cannot read an expired scope")?
        .map(|g| g.value());
    let (expiry, until) = match old {
        None => (expiry, until),
        Some((issued_until, from, old_until)) => {
            index
                .remove((old_until, scope))
                .context("cannot unindex an expired scope")?;
            let old = ScopeExpiry {
                issued_until: from_millis(issued_until),
                from: from_millis(from),
            };
            (old.merge(expiry), old_until.max(until))
        }
    };
    let row = (millis(expiry.issued_until), millis(expiry.from), until);
    rows.insert(scope, row).context("cannot write an expired scope")?;
    index
        .insert((until, scope), ())
        .context("cannot index an expired scope")?;
    Ok(())
}

#[async_trait]
impl TokenRevocations for EmbeddedStore {
    async fn revoke(&self, jti: &str, until: DateTime<Utc>) -> StoreResult<()> {
        let jti = jti.to_owned();
        let until = millis(until);
        self.writer
            .write(move |b| {
                purge_lapsed(b, REVOKED_TOKENS, REVOKED_TOKENS_EXPIRY, millis(Utc::now()))?;
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

    async fn expire_scope(&self, scope: &str, expiry: ScopeExpiry, until: DateTime<Utc>) -> StoreResult<()> {
        let scope = scope.to_owned();
        let until = millis(until);
        self.writer
            .write(move |b| {
                purge_lapsed(b, EXPIRED_SCOPES, EXPIRED_SCOPES_EXPIRY, millis(Utc::now()))?;
                expire_scope(b, &scope, expiry, until)
            })
            .await
    }

    async fn scope_expiry(&self, scope: &str) -> StoreResult<Option<ScopeExpiry>> {
        let tx = self.read()?;
        let rows = tx
            .open_table(EXPIRED_SCOPES)
            .context("cannot open the expired scopes")?;
        let row = rows
            .get(scope)
            .context("cannot read an expired scope")?
            .map(|g| g.value());
        Ok(row
            .filter(|&(_, _, until)| until > millis(Utc::now()))
            .map(|(issued_until, from, _)| ScopeExpiry {
                issued_until: from_millis(issued_until),
                from: from_millis(from),
            }))
    }
}
