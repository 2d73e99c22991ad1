//! The pump (worker role): drives every pushing sink, each from one process at a time.
//!
//! Every `scan`, a pump looks for sinks it does not drive and tries to lease each; a sink it leases gets a
//! driver of its own (a task), so that a slow or dead destination holds up nothing but itself. A driver sends
//! the sink's log in order: the next batch after the sink's position, once it is full or its first event has
//! waited `maxWaitSecs`; on success it moves the position past the batch, on failure it keeps the batch at the
//! head and tries it again after a back-off, so that nothing overtakes it. Every write of the state is fenced by
//! the lease: a driver that lost its lease (its process stalled past it) writes nothing and stops.
//!
//! The pumps share the sinks: each counts the live pumps (`Sinks::pumps_alive`) and drives at most its share
//! (the sinks divided by the pumps, rounded up). One over its share stops a driver a scan, the quietest's (its
//! handover delays the fewest events), and another pump takes that sink up from where it stood.
//!
//! A destination's events count against its application's `throttleRate`, as its endpoints' deliveries do: a
//! batch waits for a slot per event, and holds at most a second's worth.
//!
//! A process that dies holding sinks leaves them to their leases: once one lapses, another pump takes the sink
//! from its last saved position, so the batch in flight at the crash may be sent again (at least once, never
//! out of order; the batch's id tells a receiver that it is the same batch). What one step of a driver does is
//! in `driver`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::driver::{Driver, Next};
use super::{SendContext, SinkNews, SinkTypes};
use crate::clock::Clock;
use crate::delivery::app_rates::AppRates;
use crate::domain::SinkKey;
use crate::log_limit::FailureLog;
use crate::store::{Ref, StoreResult, Stores};

#[derive(Debug, Clone)]
pub struct SinkPumpConfig {
    /// This pump's name on the leases it takes; unique per process.
    pub owner: String,
    /// How long a lease holds a sink without a renewal: a dead process's sinks wait this long to be taken
    /// over. A send is cut off at half of it, so that it ends before the lease could lapse.
    pub lease: Duration,
    /// How often the pump looks for sinks nobody drives.
    pub scan: Duration,
    /// The longest a driver waits before reading an empty log again (it starts at a twentieth of that); an
    /// append by this process wakes it at once.
    pub idle_poll: Duration,
}

impl SinkPumpConfig {
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            lease: Duration::from_secs(10),
            scan: Duration::from_secs(1),
            idle_poll: Duration::from_millis(500),
        }
    }

    pub(super) fn send_timeout(&self) -> Duration {
        self.lease / 2
    }
}

pub struct SinkPump {
    pub(super) stores: Stores,
    pub(super) types: SinkTypes,
    pub(super) cx: SendContext,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) config: SinkPumpConfig,
    /// The sinks this pump drives.
    driving: Mutex<HashMap<SinkKey, Driven>>,
    /// Applications' `throttleRate`s, which cap their destinations' events as they cap their endpoints'.
    pub(super) app_rates: AppRates,
    /// Appends made by this process's intake, which wake idle drivers at once.
    news: Arc<SinkNews>,
}

/// A sink a pump drives.
struct Driven {
    /// Stops its driver.
    stop: CancellationToken,
    /// When its driver last had something to send, or took it: the quietest is the one to let go.
    busy_at: tokio::time::Instant,
}

/// Sinks a pump does not try to lease on its next scans: those that are pulled (never driven), and, until
/// the time given, those another process was found to hold.
#[derive(Default)]
struct Skip {
    pulled: HashSet<SinkKey>,
    held: HashMap<SinkKey, tokio::time::Instant>,
}

impl SinkPump {
    pub fn new(
        stores: Stores,
        types: SinkTypes,
        cx: SendContext,
        clock: Arc<dyn Clock>,
        config: SinkPumpConfig,
        news: Arc<SinkNews>,
    ) -> Arc<Self> {
        Arc::new(Self {
            stores,
            types,
            cx,
            clock,
            config,
            driving: Mutex::new(HashMap::new()),
            app_rates: AppRates::default(),
            news,
        })
    }

    /// Drives sinks until `shutdown` fires; each driver then lets its lease go.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut failures = FailureLog::new("looking for destinations to drive");
        let mut skip = Skip::default();
        // Owned by this future: if it is dropped (the process's task aborted), so are the drivers, as in a crash.
        let mut drivers = JoinSet::new();
        while !shutdown.is_cancelled() {
            let taken = self.take_free(&mut skip, &mut drivers, &shutdown).await;
            failures.note(&taken);
            while drivers.try_join_next().is_some() {}
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(self.config.scan) => {}
            }
        }
        while drivers.join_next().await.is_some() {}
        // Gone at once, rather than when its mark lapses: the other pumps' shares grow now.
        if let Err(e) = self
            .stores
            .sinks
            .pumps_alive(&self.config.owner, Duration::ZERO)
            .await
        {
            warn!(error = %e, "cannot say this pump is gone; the others count it until its mark lapses");
        }
    }

    /// How many sinks this pump drives.
    pub fn driving(&self) -> usize {
        self.driving_lock().len()
    }

    /// Leases sinks that nobody drives and that push, up to this pump's share, and starts their drivers; one
    /// over its share lets a sink go.
    async fn take_free(
        self: &Arc<Self>,
        skip: &mut Skip,
        drivers: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) -> StoreResult<()> {
        let sinks = &self.stores.sinks;
        let now = tokio::time::Instant::now();
        let (all, pumps) = tokio::try_join!(
            sinks.all_sinks(),
            sinks.pumps_alive(&self.config.owner, self.config.lease),
        )?;
        skip.held.retain(|_, until| *until > now);
        // Deleted ones are forgotten.
        let present: HashSet<&SinkKey> = all.iter().collect();
        skip.pulled.retain(|key| present.contains(key));
        let share = all.len().saturating_sub(skip.pulled.len()).div_ceil(pumps.max(1));
        if let Some(key) = self.shed_beyond(share) {
            // Left for another pump: this one asks again only once a lease could have come and gone.
            skip.held.insert(key, now + self.config.lease);
        }
        for key in all.iter().cloned() {
            if self.driving() >= share {
                break;
            }
            if skip.pulled.contains(&key) || skip.held.contains_key(&key) || self.drives(&key) {
                continue;
            }
            self.take(key, skip, drivers, shutdown).await?;
        }
        Ok(())
    }

    /// Leases `key` and starts its driver, if it is free and pushes; notes it in `skip` otherwise.
    async fn take(
        self: &Arc<Self>,
        key: SinkKey,
        skip: &mut Skip,
        drivers: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) -> StoreResult<()> {
        let sinks = &self.stores.sinks;
        if !sinks
            .lease_sink(&key, &self.config.owner, self.config.lease)
            .await?
        {
            // Another process drives it: asked again once its lease could have lapsed, half a lease on, rather
            // than every scan.
            skip.held
                .insert(key, tokio::time::Instant::now() + self.config.lease / 2);
            return Ok(());
        }
        let found = sinks
            .get_sink(&key.org_id, &key.app_id, &Ref::Id(key.id.clone()))
            .await?;
        let pushes = found
            .as_ref()
            .and_then(|f| self.types.get(&f.sink.type_name))
            .is_some_and(|t| t.pushes());
        if !pushes {
            sinks.release_sink(&key, &self.config.owner).await?;
            if found.is_some() {
                skip.pulled.insert(key);
            }
            return Ok(());
        }
        let stop = shutdown.child_token();
        let driven = Driven {
            stop: stop.clone(),
            busy_at: tokio::time::Instant::now(),
        };
        self.driving_lock().insert(key.clone(), driven);
        drivers.spawn(self.clone().drive(key, stop));
        Ok(())
    }

    /// Stops the quietest driver if this pump drives more than `share` sinks (one a scan, so that the pumps
    /// converge without trading sinks back and forth), and says whose.
    fn shed_beyond(&self, share: usize) -> Option<SinkKey> {
        let driving = self.driving_lock();
        // A driver told to stop may still be finishing its step.
        let going_on = driving.iter().filter(|(_, d)| !d.stop.is_cancelled());
        if going_on.clone().count() <= share {
            return None;
        }
        let (key, quietest) = going_on.min_by_key(|(_, d)| d.busy_at)?;
        info!(sink_id = %key.id, share, "over this process's share of destinations; letting one go");
        quietest.stop.cancel();
        Some(key.clone())
    }

    fn busy(&self, key: &SinkKey) {
        if let Some(d) = self.driving_lock().get_mut(key) {
            d.busy_at = tokio::time::Instant::now();
        }
    }

    fn driving_lock(&self) -> std::sync::MutexGuard<'_, HashMap<SinkKey, Driven>> {
        // A panic while holding this lock leaves a plain map, still consistent.
        self.driving.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this pump drives `key`.
    pub fn drives(&self, key: &SinkKey) -> bool {
        self.driving_lock().contains_key(key)
    }

    /// Sends `key`'s log until the sink is gone, the lease is lost, or `stop` fires (shutdown, or this pump
    /// has more than its share).
    async fn drive(self: Arc<Self>, key: SinkKey, stop: CancellationToken) {
        info!(sink_id = %key.id, app_id = %key.app_id, "driving a destination");
        let mut driver = Driver::new(&self, &key);
        let mut failures = FailureLog::new("driving a destination");
        let news = self.news.watch(&key.id);
        loop {
            let (wait, on_news) = match driver.step().await {
                Ok(Next::Go) => (Duration::ZERO, false),
                Ok(Next::Wait(wait)) => (wait, false),
                Ok(Next::Idle(wait)) => (wait, true),
                Ok(Next::Stop) => break,
                Err(e) => {
                    failures.failed(&e);
                    (self.config.idle_poll, false)
                }
            };
            // Anything but an empty log counts as busy.
            if !on_news {
                self.busy(&key);
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = news.notified(), if on_news => {}
            }
        }
        self.news.forget(&key.id);
        if let Err(e) = self.stores.sinks.release_sink(&key, &self.config.owner).await {
            warn!(sink_id = %key.id, error = %e, "cannot release a destination; it waits for its lease");
        }
        self.driving_lock().remove(&key);
        info!(sink_id = %key.id, "no longer driving a destination");
    }
}
