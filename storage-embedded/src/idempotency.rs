//! The idempotency cache: one row per key with its expiry inside, plus an (expiry, key) index to purge lapsed
//! rows. The writer thread runs one operation at a time, which is what makes `begin` an atomic claim.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use redb::Table;
use serde::{Deserialize, Serialize};
use xwebhook_engine::store::{CachedResponse, IdempotencyCache, IdempotencyState, StoreResult};

use crate::EmbeddedStore;
use crate::error::Context as _;
use crate::tables::{IDEMPOTENCY, IDEMPOTENCY_EXPIRY, get_row, put_row, remove_row, take_lapsed};
use crate::writer::Batch;

const WHAT: &str = "an idempotency entry";
/// Lapsed rows removed per `begin`: enough to keep up with the rate rows are added, small enough to be cheap.
const PURGE_PER_BEGIN: usize = 16;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Entry {
    /// Claimed until `until_ms`; after that a new request may claim it (the holder is presumed dead).
    Started { until_ms: u64 },
    /// Replayed until `until_ms`.
    Completed { response: CachedResponse, until_ms: u64 },
}

impl Entry {
    fn until_ms(&self) -> u64 {
        match self {
            Self::Started { until_ms } | Self::Completed { until_ms, .. } => *until_ms,
        }
    }
}

fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

fn after(ttl: Duration) -> u64 {
    now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

type Expiry<'t> = Table<'t, (u64, &'static str), ()>;

/// Writes (or, with `None`, removes) the entry of `key`, keeping the expiry index in step.
fn set(b: &Batch<'_>, key: &str, entry: Option<&Entry>) -> StoreResult<()> {
    let mut rows =
        b.tx.open_table(IDEMPOTENCY)
            .context("cannot open the idempotency cache")?;
    let mut expiry: Expiry<'_> =
        b.tx.open_table(IDEMPOTENCY_EXPIRY)
            .context("cannot open the idempotency expiry index")?;
    if let Some(old) = get_row::<Entry>(&rows, key, WHAT)? {
        expiry
            .remove((old.until_ms(), key))
            .context("cannot unindex an idempotency entry")?;
    }
    match entry {
        Some(entry) => {
            put_row(&mut rows, key, entry, WHAT)?;
            expiry
                .insert((entry.until_ms(), key), ())
                .context("cannot index an idempotency entry")?;
        }
        None => {
            remove_row(&mut rows, key)?;
        }
    }
    Ok(())
}

fn purge_lapsed(b: &Batch<'_>, now: u64) -> StoreResult<()> {
    let lapsed = take_lapsed(b.tx, IDEMPOTENCY_EXPIRY, now, PURGE_PER_BEGIN)?;
    let mut rows =
        b.tx.open_table(IDEMPOTENCY)
            .context("cannot open the idempotency cache")?;
    for key in lapsed {
        remove_row(&mut rows, &key)?;
    }
    Ok(())
}

fn begin(b: &Batch<'_>, key: &str, lock_ttl: Duration) -> StoreResult<IdempotencyState> {
    let now = now_ms();
    purge_lapsed(b, now)?;
    let current: Option<Entry> = {
        let rows =
            b.tx.open_table(IDEMPOTENCY)
                .context("cannot open the idempotency cache")?;
        get_row(&rows, key, WHAT)?
    };
    match current {
        Some(Entry::Started { until_ms }) if until_ms > now => Ok(IdempotencyState::InProgress),
        Some(Entry::Completed { response, until_ms }) if until_ms > now => {
            Ok(IdempotencyState::Completed(response))
        }
        // Absent or lapsed: the caller claims it.
        _ => {
            let claim = Entry::Started {
                until_ms: after(lock_ttl),
            };
            set(b, key, Some(&claim))?;
            Ok(IdempotencyState::Started)
        }
    }
}

#[async_trait]
impl IdempotencyCache for EmbeddedStore {
    async fn begin(&self, key: &str, lock_ttl: Duration) -> StoreResult<IdempotencyState> {
        let key = key.to_owned();
        self.writer.write(move |b| begin(b, &key, lock_ttl)).await
    }

    async fn complete(&self, key: &str, response: &CachedResponse, ttl: Duration) -> StoreResult<()> {
        let key = key.to_owned();
        let entry = Entry::Completed {
            response: response.clone(),
            until_ms: after(ttl),
        };
        self.writer.write(move |b| set(b, &key, Some(&entry))).await
    }

    async fn abandon(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.writer.write(move |b| set(b, &key, None)).await
    }

    /// The cache lives in this process, in the file the record store's probe reads: nothing more to check.
    async fn probe(&self) -> StoreResult<()> {
        Ok(())
    }
}
