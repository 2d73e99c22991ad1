//! One destination's driver: a step reads the destination and renews its lease, then sends the next batch of
//! its log when it is ready (full, or its first event waited `maxWaitSecs`), and saves where it stands, fenced
//! by the lease. The pump (`pump`) decides which destinations this process drives and runs their loops.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::warn;

use super::pump::SinkPump;
use super::{Batch, BatchSender, EventFilter, read_events, retry_delay};
use crate::domain::{Position, Sink, SinkAttempt, SinkKey, SinkState};
use crate::store::{Admission, Limited, Ref, SinkWithState, StoreResult};

/// What a driver does after a step.
pub(super) enum Next {
    /// At once: there may be more to send.
    Go,
    /// After a while: what is there is not ready (a partial batch, a back-off, a disabled destination).
    Wait(Duration),
    /// After a while, or as soon as this process appends to the log: it had nothing to send.
    Idle(Duration),
    /// Never: the sink is gone, pulled, or another process holds it.
    Stop,
}

/// One sink's driver: its sender (rebuilt when the sink changes), and how long its log has been idle.
pub(super) struct Driver<'a> {
    pump: &'a SinkPump,
    key: &'a SinkKey,
    sender: Option<(DateTime<Utc>, Box<dyn BatchSender>)>,
    idle: Duration,
}

impl<'a> Driver<'a> {
    pub(super) fn new(pump: &'a SinkPump, key: &'a SinkKey) -> Self {
        Self {
            pump,
            key,
            sender: None,
            idle: Duration::ZERO,
        }
    }

    pub(super) async fn step(&mut self) -> StoreResult<Next> {
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
