//! Endpoint health: one row per failing endpoint (`org/app/ep` → streak start and expiry), plus an
//! (expiry, key) index to purge lapsed rows. The writer thread runs one operation at a time, which is what
//! makes "start a streak unless one is stored" atomic.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};
use xwebhook_engine::id::{AppId, EndpointId, OrgId};
use xwebhook_engine::store::{EndpointHealth, StoreError, StoreErrorKind, StoreResult};

use crate::EmbeddedStore;
use crate::error::Context as _;
use crate::keys::key;
use crate::tables::{ENDPOINT_HEALTH, ENDPOINT_HEALTH_EXPIRY, get_row, put_row, remove_row, take_lapsed};
use crate::writer::Batch;

const WHAT: &str = "an endpoint's failing streak";
/// Lapsed rows removed per failure note: notes are rare (the worker writes on a streak's start, not per
/// failure), so a few per note keep up with the rows that lapse.
const PURGE_PER_NOTE: usize = 16;

#[derive(Debug, Serialize, Deserialize)]
struct Streak {
    since_ms: i64,
    until_ms: u64,
}

fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

fn endpoint_key(org: &OrgId, app: &AppId, endpoint: &EndpointId) -> String {
    key(&[org.as_str(), app.as_str(), endpoint.as_str()])
}

/// Writes (or, with `None`, removes) the streak of `key`, keeping the expiry index in step.
fn set(b: &Batch<'_>, key: &str, streak: Option<&Streak>) -> StoreResult<()> {
    let mut rows =
        b.tx.open_table(ENDPOINT_HEALTH)
            .context("cannot open endpoint health")?;
    let mut expiry =
        b.tx.open_table(ENDPOINT_HEALTH_EXPIRY)
            .context("cannot open the endpoint health expiry index")?;
    if let Some(old) = get_row::<Streak>(&rows, key, WHAT)? {
        expiry
            .remove((old.until_ms, key))
            .context("cannot unindex a failing streak")?;
    }
    match streak {
        Some(streak) => {
            put_row(&mut rows, key, streak, WHAT)?;
            expiry
                .insert((streak.until_ms, key), ())
                .context("cannot index a failing streak")?;
        }
        None => {
            remove_row(&mut rows, key)?;
        }
    }
    Ok(())
}

fn purge_lapsed(b: &Batch<'_>, now: u64) -> StoreResult<()> {
    let lapsed = take_lapsed(b.tx, ENDPOINT_HEALTH_EXPIRY, now, PURGE_PER_NOTE)?;
    let mut rows =
        b.tx.open_table(ENDPOINT_HEALTH)
            .context("cannot open endpoint health")?;
    for key in lapsed {
        remove_row(&mut rows, &key)?;
    }
    Ok(())
}

fn note_failure(b: &Batch<'_>, key: &str, at: DateTime<Utc>, ttl: Duration) -> StoreResult<i64> {
    let now = now_ms();
    purge_lapsed(b, now)?;
    let stored: Option<Streak> = {
        let rows =
            b.tx.open_table(ENDPOINT_HEALTH)
                .context("cannot open endpoint health")?;
        get_row(&rows, key, WHAT)?
    };
    let since_ms = match stored {
        Some(s) if s.until_ms > now => s.since_ms,
        // Absent or lapsed: a new streak.
        _ => at.timestamp_millis(),
    };
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    let streak = Streak {
        since_ms,
        until_ms: now.saturating_add(ttl_ms),
    };
    set(b, key, Some(&streak))?;
    Ok(since_ms)
}

#[async_trait]
impl EndpointHealth for EmbeddedStore {
    async fn note_failure(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        at: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<DateTime<Utc>> {
        let key = endpoint_key(org, app, endpoint);
        let since_ms = self.writer.write(move |b| note_failure(b, &key, at, ttl)).await?;
        Utc.timestamp_millis_opt(since_ms)
            .single()
            .ok_or_else(|| StoreError::new(StoreErrorKind::Internal, "a stored streak start is out of range"))
    }

    async fn note_success(&self, org: &OrgId, app: &AppId, endpoint: &EndpointId) -> StoreResult<()> {
        let key = endpoint_key(org, app, endpoint);
        self.writer.write(move |b| set(b, &key, None)).await
    }
}
