//! Applications' own delivery rates (`throttleRate` on an application), as the worker applies them.
//!
//! Reading the application on every delivery would add a round trip to each; instead each process keeps what it
//! read for [`FRESH_FOR`]. A changed rate therefore applies within that long, for one read per application per
//! interval in each process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::id::{AppId, OrgId};
use crate::store::{ApplicationStore, Ref, StoreResult};

/// How long a read rate is used before the application is read again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);
/// Past this many applications, those read longer ago than [`FRESH_FOR`] are forgotten.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Clone, Copy)]
struct Known {
    rate: Option<u16>,
    read_at: Instant,
}

#[derive(Default)]
pub struct AppRates {
    known: Mutex<HashMap<AppId, Known>>,
}

impl AppRates {
    /// `app`'s rate in messages per second, `None` when it has none (or is gone).
    pub async fn rate(
        &self,
        applications: &dyn ApplicationStore,
        org: &OrgId,
        app: &AppId,
    ) -> StoreResult<Option<u16>> {
        let now = Instant::now();
        if let Some(known) = self.lock().get(app).filter(|k| now - k.read_at < FRESH_FOR) {
            return Ok(known.rate);
        }
        let read = applications.get_application(org, &Ref::Id(app.clone())).await?;
        let rate = read.and_then(|a| a.rate_limit);
        let mut known = self.lock();
        if known.len() >= SWEEP_ABOVE {
            known.retain(|_, k| now - k.read_at < FRESH_FOR);
        }
        known.insert(app.clone(), Known { rate, read_at: now });
        Ok(rate)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AppId, Known>> {
        self.known.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
