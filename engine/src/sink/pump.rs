//! The pump (worker role): drives every pushing sink, each from one process at a time.
//!
//! Every `scan`, a pump looks for sinks it does not drive and tries to lease each; a sink it leases gets a
//! driver of its own (a task), so that a slow or dead destination holds up nothing but itself. A driver sends
//! the sink's log in order: the next batch after the sink's position, once it is full or its first event has
//! waited `maxWaitSecs`; on success it moves the position past the batch, on failure it keeps the batch at the
//! head and tries it again after a back-off, so that nothing overtakes it. Every write of the state is fenced by
//! the lease: a driver that lost its lease (its process stalled past it) writes nothing and stops.
//!
//! A destination's events count against its application's `throttleRate`, as its endpoints' deliveries do: a
//! batch waits for a slot per event, and holds at most a second's worth.
//!
//! A process that dies holding sinks leaves them to their leases: once one lapses, another pump takes the sink
//! from its last saved position, so the batch in flight at the crash may be sent again (at least once, never
//! out of order; the batch's id tells a receiver that it is the same batch).

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{Batch, BatchSender, EventFilter, SendContext, SinkNews, SinkTypes, read_events, retry_delay};
use crate::clock::Clock;
use crate::delivery::app_rates::AppRates;
use crate::domain::{Position, Sink, SinkAttempt, SinkKey, SinkState};
use crate::log_limit::FailureLog;
use crate::store::{Admission, Limited, Ref, SinkWithState, StoreResult, Stores};

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

    fn send_timeout(&self) -> Duration {
        self.lease / 2
    }
}

pub struct SinkPump {
    stores: Stores,
    types: SinkTypes,
    cx: SendContext,
    clock: Arc<dyn Clock>,
    config: SinkPumpConfig,
    /// The sinks this process drives.
    driving: Mutex<HashSet<SinkKey>>,
    /// Applications' `throttleRate`s, which cap their destinations' events as they cap their endpoints'.
    app_rates: AppRates,
    /// Appends made by this process's intake, which wake idle drivers at once.
    news: Arc<SinkNews>,
}

/// Sinks a pump does not try to lease on its next scans: those that are pulled (never driven), and, until
/// the time given, those another process was found to hold.
#[derive(Default)]
struct Skip {
    pulled: HashSet<SinkKey>,
    held: std::collections::HashMap<SinkKey, tokio::time::Instant>,
}

/// What a driver does after a step.
enum Next {
    /// At once: there may be more to send.
    Go,
    /// After a while: what is there is not ready (a partial batch, a back-off, a disabled destination).
    Wait(Duration),
    /// After a while, or as soon as this process appends to the log: it had nothing to send.
    Idle(Duration),
    /// Never: the sink is gone, pulled, or another process holds it.
    Stop,
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
            driving: Mutex::new(HashSet::new()),
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
    }

    /// Leases every sink that nobody drives and that pushes, and starts its driver.
    async fn take_free(
        self: &Arc<Self>,
        skip: &mut Skip,
        drivers: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) -> StoreResult<()> {
        let sinks = &self.stores.sinks;
        let now = tokio::time::Instant::now();
        let all = sinks.all_sinks().await?;
        skip.held.retain(|_, until| *until > now);
        // Deleted ones are forgotten.
        let present: HashSet<&SinkKey> = all.iter().collect();
        skip.pulled.retain(|key| present.contains(key));
        for key in all.iter().cloned() {
            if skip.pulled.contains(&key) || skip.held.contains_key(&key) || self.is_driving(&key) {
                continue;
            }
            if !sinks
                .lease_sink(&key, &self.config.owner, self.config.lease)
                .await?
            {
                // Another process drives it: asked again once its lease could have lapsed, half a lease on,
                // rather than every scan.
                skip.held.insert(key, now + self.config.lease / 2);
                continue;
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
                continue;
            }
            self.driving_lock().insert(key.clone());
            drivers.spawn(self.clone().drive(key, shutdown.clone()));
        }
        Ok(())
    }

    fn driving_lock(&self) -> std::sync::MutexGuard<'_, HashSet<SinkKey>> {
        // A panic while holding this lock leaves a plain set, still consistent.
        self.driving.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_driving(&self, key: &SinkKey) -> bool {
        self.driving_lock().contains(key)
    }

    /// Sends `key`'s log until the sink is gone, the lease is lost, or `shutdown` fires.
    async fn drive(self: Arc<Self>, key: SinkKey, shutdown: CancellationToken) {
        info!(sink_id = %key.id, app_id = %key.app_id, "driving a destination");
        let mut driver = Driver {
            pump: &self,
            key: &key,
            sender: None,
            idle: Duration::ZERO,
        };
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
            tokio::select! {
                _ = shutdown.cancelled() => break,
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

/// One sink's driver: its sender (rebuilt when the sink changes), and how long its log has been idle.
struct Driver<'a> {
    pump: &'a SinkPump,
    key: &'a SinkKey,
    sender: Option<(DateTime<Utc>, Box<dyn BatchSender>)>,
    idle: Duration,
}

impl Driver<'_> {
    async fn step(&mut self) -> StoreResult<Next> {
        let pump = self.pump;
        let (owner, lease) = (&pump.config.owner, pump.config.lease);
        let found = pump
            .stores
            .sinks
            .get_sink(&self.key.org_id, &self.key.app_id, &Ref::Id(self.key.id.clone()))
            .await?;
        let Some(SinkWithState { sink, mut state }) = found else {
            return Ok(Next::Stop);
        };
        // Renewed before anything is sent, so that a send (cut off at half the lease) ends inside the lease.
        if !pump.stores.sinks.lease_sink(self.key, owner, lease).await? {
            return Ok(Next::Stop);
        }
        let now = pump.clock.now();
        if sink.disabled {
            return Ok(Next::Wait(pump.config.scan));
        }
        if let Some(due) = state.next_retry_at.filter(|due| *due > now) {
            return Ok(Next::Wait(until(now, due).min(lease / 3)));
        }
        let throttle = pump
            .app_rates
            .rate(pump.stores.applications.as_ref(), &sink.org_id, &sink.app_id)
            .await?
            .and_then(|rate| NonZeroU32::new(u32::from(rate)));
        let pending = match self.next_batch(&sink, &state, throttle, now).await? {
            Read::Nothing => return Ok(Next::Idle(self.idle_wait())),
            Read::Skipped(past) => {
                state.position = Some(past);
                return self.save(&state).await;
            }
            Read::Events(pending) => pending,
        };
        self.idle = Duration::ZERO;
        if !pending.is_ready(&sink, now) {
            return Ok(Next::Wait(pending.wait(&sink, now).min(pump.config.idle_poll)));
        }
        let batch = pending.into_batch(&sink);
        if let Some(rate) = throttle {
            self.throttle(&sink, rate, batch.events.len()).await?;
        }
        self.send(&sink, &mut state, batch, now).await
    }

    /// The events after the sink's position, up to a batch: `batchSize`, and no more than a second of the
    /// application's `throttle`, so that waiting for its slots stays well inside the lease.
    async fn next_batch(
        &self,
        sink: &Sink,
        state: &SinkState,
        throttle: Option<NonZeroU32>,
        now: DateTime<Utc>,
    ) -> StoreResult<Read> {
        let most = throttle.map_or(usize::MAX, |r| r.get() as usize);
        let size = usize::from(sink.batch_size).min(most);
        let page = read_events(
            &self.pump.stores,
            self.key,
            state.position,
            size,
            &EventFilter::default(),
            now,
        )
        .await?;
        // A scheduled message holds back itself and everything behind it until it is due.
        let due = page
            .events
            .iter()
            .position(|(_, e)| e.deliver_at.is_some_and(|at| at > now));
        let (events, held) = match due {
            Some(cut) => (
                page.events[..cut].to_vec(),
                page.events.get(cut).and_then(|(_, e)| e.deliver_at),
            ),
            None => (page.events, None),
        };
        if events.is_empty() {
            // Entries whose messages never came are passed over; a held or awaited head is waited for.
            return Ok(match page.last {
                Some(past) if held.is_none() && !page.waiting => Read::Skipped(past),
                _ => Read::Nothing,
            });
        }
        Ok(Read::Events(Pending {
            full: events.len() == size || held.is_some() || page.waiting,
            events,
        }))
    }

    /// Takes one slot of the application's rate per event, waiting for each: a destination's events count
    /// against its application's `throttleRate` as its endpoints' deliveries do.
    async fn throttle(&self, sink: &Sink, rate: NonZeroU32, events: usize) -> StoreResult<()> {
        let limited = Limited::Application(sink.app_id.clone());
        for _ in 0..events {
            while let Admission::After(wait) = self.pump.stores.rate_limits.admit(&limited, rate).await? {
                tokio::time::sleep(wait).await;
            }
        }
        Ok(())
    }

    fn idle_wait(&mut self) -> Duration {
        let most = self.pump.config.idle_poll;
        self.idle = (self.idle * 2).clamp(most / 20, most);
        self.idle
    }

    async fn send(
        &mut self,
        sink: &Sink,
        state: &mut SinkState,
        batch: Batch,
        now: DateTime<Utc>,
    ) -> StoreResult<Next> {
        let pump = self.pump;
        let Some(sink_type) = pump.types.get(&sink.type_name) else {
            return Ok(Next::Stop);
        };
        let started = tokio::time::Instant::now();
        let outcome = match self.sender(sink) {
            Ok(sender) => match tokio::time::timeout(pump.config.send_timeout(), sender.send(&batch)).await {
                Ok(sent) => sent.map_err(|e| e.0),
                Err(_) => Err(format!("no answer within {:?}", pump.config.send_timeout())),
            },
            Err(e) => Err(e),
        };
        crate::metrics::sink_batch(sink_type.name(), outcome.is_ok(), batch.events.len());
        state.attempted(SinkAttempt {
            at: now,
            first: batch.first,
            last: batch.last,
            events: u32::try_from(batch.events.len()).unwrap_or(u32::MAX),
            failure: outcome.as_ref().err().cloned(),
            took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        match outcome {
            Ok(()) => state.delivered(batch.last),
            Err(reason) => {
                let delay = retry_delay(state.failures.saturating_add(1), rand::random());
                let retry_at = now + chrono::Duration::from_std(delay).unwrap_or_default();
                warn!(sink_id = %sink.id, reason = %reason, retry_in = ?delay, "a destination's batch failed");
                state.failed(reason, retry_at);
            }
        }
        self.save(state).await
    }

    /// Writes the state, fenced by the lease: a driver that lost it stops.
    async fn save(&self, state: &SinkState) -> StoreResult<Next> {
        let pump = self.pump;
        let saved = pump
            .stores
            .sinks
            .save_sink_state(self.key, state, &pump.config.owner, pump.config.lease)
            .await?;
        Ok(if saved { Next::Go } else { Next::Stop })
    }

    /// The sink's sender, built again when the sink changed since it was built.
    fn sender(&mut self, sink: &Sink) -> Result<&mut Box<dyn BatchSender>, String> {
        let stale = self
            .sender
            .as_ref()
            .is_none_or(|(built, _)| *built != sink.updated_at);
        if stale {
            let sink_type = self
                .pump
                .types
                .get(&sink.type_name)
                .ok_or("an unknown destination type")?;
            let sender = sink_type
                .sender(sink, &self.pump.cx)
                .map_err(|e| e.to_string())?
                .ok_or("a destination type that does not push")?;
            self.sender = Some((sink.updated_at, sender));
        }
        match self.sender.as_mut() {
            Some((_, sender)) => Ok(sender),
            None => Err("no sender".to_owned()),
        }
    }
}

/// What the log holds after a sink's position.
enum Read {
    /// Nothing to send yet.
    Nothing,
    /// Only entries whose messages never came, up to this position: passed over.
    Skipped(Position),
    Events(Pending),
}

/// Events ready to be a batch, once full or old enough.
struct Pending {
    events: Vec<(Position, super::SinkEvent)>,
    /// Nothing more can join: the batch is full, or what follows it must wait.
    full: bool,
}

impl Pending {
    fn first_appended(&self) -> DateTime<Utc> {
        self.events
            .first()
            .and_then(|(p, _)| i64::try_from(p.ms).ok())
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn send_at(&self, sink: &Sink) -> DateTime<Utc> {
        self.first_appended() + chrono::Duration::seconds(i64::from(sink.max_wait_secs))
    }

    /// Whether the batch goes now: it is full, or its first event has waited `maxWaitSecs`.
    fn is_ready(&self, sink: &Sink, now: DateTime<Utc>) -> bool {
        self.full || self.send_at(sink) <= now
    }

    /// The batch (never empty: a `Pending` has events).
    fn into_batch(self, sink: &Sink) -> Batch {
        let first = self.events.first().map_or(Position::START, |(p, _)| *p);
        let last = self.events.last().map_or(Position::START, |(p, _)| *p);
        Batch {
            sink: sink.id.clone(),
            events: self.events.into_iter().map(|(_, e)| e).collect(),
            first,
            last,
        }
    }

    fn wait(&self, sink: &Sink, now: DateTime<Utc>) -> Duration {
        until(now, self.send_at(sink))
    }
}

fn until(now: DateTime<Utc>, then: DateTime<Utc>) -> Duration {
    (then - now).to_std().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{AppId, OrgId};
    use crate::testsuite::fixtures;

    fn sink(max_wait_secs: u32) -> Sink {
        let (org, app) = (OrgId::generate(), AppId::generate());
        Sink {
            max_wait_secs,
            ..fixtures::sink(&org, &app)
        }
    }

    /// Two events appended at `at_ms`, the batch full or not.
    fn pending(at_ms: u64, full: bool) -> Pending {
        let (org, app) = (OrgId::generate(), AppId::generate());
        let event = |seq| {
            let message = fixtures::message(&org, &app, "a.b", None, &[]);
            (Position { ms: at_ms, seq }, message.into())
        };
        Pending {
            events: vec![event(0), event(1)],
            full,
        }
    }

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).expect("a time")
    }

    #[test]
    fn a_full_batch_goes_at_once_and_a_partial_one_after_max_wait_from_its_first_event() {
        let waits = sink(10);
        assert!(pending(1_000, true).is_ready(&waits, at(1_000)));
        let partial = pending(1_000, false);
        assert!(!partial.is_ready(&waits, at(10_999)));
        assert_eq!(partial.wait(&waits, at(4_000)), Duration::from_secs(7));
        assert!(partial.is_ready(&waits, at(11_000)));
        assert!(
            pending(1_000, false).is_ready(&sink(0), at(1_000)),
            "no wait by default"
        );
    }

    #[test]
    fn a_batch_spans_its_events_and_is_never_empty() {
        let batch = pending(5, false).into_batch(&sink(0));
        assert_eq!(batch.events.len(), 2);
        assert_eq!(
            (batch.first, batch.last),
            (Position { ms: 5, seq: 0 }, Position { ms: 5, seq: 1 })
        );
    }
}
