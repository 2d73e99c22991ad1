//! The worker loop: lease tasks from the queue, run each under the in-flight bounds, finish them with their
//! follow-up work; and, beside it, the maintenance loop that promotes due retries and reclaims dead leases.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, Span, debug, info, info_span, warn};

use super::app_rates::AppRates;
use super::attempt::{self, Delivery, Recorded};
use super::gates::EndpointGates;
use super::health::HealthTracker;
use super::http::HttpSender;
use super::news;
use super::recent::{Recent, RecentMessages};
use super::recorder::Recorder;
use super::throttle::Throttle;
use super::{AddressPolicy, WorkerConfig};
use crate::clock::Clock;
use crate::domain::{Endpoint, Message, MessageStatus};
use crate::fan_out::FanOut;
use crate::log_limit::FailureLog;
use crate::metrics;
use crate::operational::{EndpointRef, OperationalEvent, OperationalEvents};
use crate::store::{FollowUp, Leased, Limited, Ref, StoreResult, Stores, Task, TaskKind};
use crate::trace;

mod messages;
mod replays;

use replays::ReplayTurn;

/// When an endpoint holds its part of the worker's slots (see `EndpointGates`), further tasks for it wait this
/// long in the scheduled set instead of holding a worker slot, so a slow endpoint cannot crowd out the others.
const BUSY_ENDPOINT_DEFER: Duration = Duration::from_millis(250);
/// A delivery refused by its endpoint's rate limit waits in memory for its slot when it is at most this much
/// beyond the maintenance interval (which is how often deferred tasks come back, together); see `Throttle`.
const RATE_WAIT_BEYOND_PROMOTION: Duration = Duration::from_millis(50);
/// Pause after a queue error, so an unreachable backend is not hammered.
const ERROR_BACKOFF: Duration = Duration::from_millis(500);

pub struct Worker {
    stores: Stores,
    sender: HttpSender,
    config: WorkerConfig,
    clock: Arc<dyn Clock>,
    slots: Arc<Semaphore>,
    gates: EndpointGates,
    throttle: Throttle,
    app_rates: AppRates,
    recent: Arc<RecentMessages>,
    recorder: Recorder,
    events: Arc<dyn OperationalEvents>,
    /// `None` when endpoints are never disabled automatically.
    health: Option<HealthTracker>,
}

impl Worker {
    pub fn new(
        stores: Stores,
        config: WorkerConfig,
        policy: AddressPolicy,
        clock: Arc<dyn Clock>,
        events: Arc<dyn OperationalEvents>,
        recent: Arc<RecentMessages>,
    ) -> Arc<Self> {
        let sender = HttpSender::new(policy, config.request_timeout);
        let slots = Arc::new(Semaphore::new(config.max_in_flight));
        let gates = EndpointGates::new(config.max_per_endpoint, config.max_in_flight);
        let throttle = Throttle::new(config.maintenance_interval + RATE_WAIT_BEYOND_PROMOTION);
        let recorder = Recorder::spawn(stores.attempts.clone());
        let health = config
            .disable_after
            .map(|after| HealthTracker::new(stores.endpoint_health.clone(), after));
        Arc::new(Self {
            stores,
            sender,
            config,
            clock,
            slots,
            gates,
            throttle,
            app_rates: AppRates::default(),
            recent,
            recorder,
            events,
            health,
        })
    }

    /// Runs until `shutdown` fires, then stops leasing and waits for in-flight deliveries to finish (each is
    /// bounded by the request timeout). Unfinished leases are reclaimed by another worker or after a restart.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        info!(consumer = %self.config.consumer, max_in_flight = self.config.max_in_flight, "delivery worker started");
        metrics::worker_concurrency(self.config.max_in_flight);
        let maintenance = tokio::spawn(self.clone().maintain(shutdown.clone()));
        let mut failures = FailureLog::new("receiving from the delivery queue");
        while !shutdown.is_cancelled() {
            let Ok(first) = self.slots.clone().acquire_owned().await else {
                break;
            };
            let max = (self.slots.available_permits() + 1).min(self.config.batch_size);
            let leased = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = self.stores.queue.receive(&self.config.consumer, max, self.config.poll_wait) => r,
            };
            match leased {
                Ok(tasks) => {
                    failures.succeeded();
                    self.dispatch(tasks, first);
                }
                Err(e) => {
                    failures.failed(&e);
                    drop(first);
                    tokio::time::sleep(ERROR_BACKOFF).await;
                }
            }
        }
        let _ = maintenance.await;
        let all = u32::try_from(self.config.max_in_flight).unwrap_or(u32::MAX);
        let _ = self.slots.acquire_many(all).await;
        info!("delivery worker stopped");
    }

    /// Starts one task per lease, each holding a slot; `first` is the slot already taken for the first one.
    fn dispatch(self: &Arc<Self>, tasks: Vec<Leased>, first: OwnedSemaphorePermit) {
        let mut first = Some(first);
        for leased in tasks {
            let permit = match first.take() {
                Some(p) => p,
                None => match self.slots.clone().try_acquire_owned() {
                    Ok(p) => p,
                    // More leases than slots cannot happen (we asked for at most the free slots), but a lease
                    // without a slot still runs rather than being dropped.
                    Err(_) => {
                        let worker = self.clone();
                        tokio::spawn(async move { worker.handle(leased).await });
                        continue;
                    }
                },
            };
            let worker = self.clone();
            tokio::spawn(async move {
                worker.handle(leased).await;
                drop(permit);
            });
        }
    }

    async fn maintain(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.config.maintenance_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut promote_failures = FailureLog::new("promoting due retries");
        let mut reclaim_failures = FailureLog::new("reclaiming stale deliveries");
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let promoted = self.stores.queue.promote_due(self.clock.now(), 10_000).await;
            promote_failures.note(&promoted);
            let min_idle = self.config.lease_timeout();
            match self
                .stores
                .queue
                .reclaim(&self.config.consumer, min_idle, self.config.batch_size)
                .await
            {
                Ok(tasks) if !tasks.is_empty() => {
                    reclaim_failures.succeeded();
                    info!(count = tasks.len(), "reclaimed deliveries of a silent worker");
                    for leased in tasks {
                        let worker = self.clone();
                        tokio::spawn(async move { worker.handle(leased).await });
                    }
                }
                Ok(_) => {
                    reclaim_failures.succeeded();
                }
                Err(e) => {
                    reclaim_failures.failed(&e);
                }
            }
        }
    }

    /// Runs one leased task in its span, a child of the span that queued it (see [`crate::trace`]).
    async fn handle(&self, leased: Leased) {
        let span = task_span(&leased.task);
        trace::follow(&span, leased.task.traceparent.as_deref());
        self.run_task(leased).instrument(span).await;
    }

    async fn run_task(&self, leased: Leased) {
        let task = &leased.task;
        let result = match &task.kind {
            TaskKind::FanOut => self.fan_out(task).await,
            TaskKind::Deliver(deliver) => self.deliver(Delivery { task, deliver }).await,
        };
        let follow_up = match result {
            Ok(follow_up) => follow_up,
            // The lease stays open: the task is reclaimed and retried after the lease timeout.
            Err(e) => {
                return warn!(error = %e, msg_id = %leased.task.msg_id, "delivery task failed; will be retried");
            }
        };
        if let Err(e) = self.stores.queue.finish(&leased.receipt, follow_up).await {
            warn!(error = %e, msg_id = %leased.task.msg_id, "finishing a delivery task failed; will be retried");
        }
    }

    /// Creates one delivery per subscribed, enabled endpoint of a message with too many for its intake to
    /// fan out (see [`crate::intake`]), and of fan-out tasks queued before the intake fanned out.
    async fn fan_out(&self, task: &Task) -> StoreResult<FollowUp> {
        let Some(found) = self.fresh_message(task).await? else {
            return Ok(self.await_message(task));
        };
        let endpoints = self
            .stores
            .endpoints
            .endpoints_of_app(&task.org_id, &task.app_id)
            .await?;
        // Attempts are children of this fan-out, which is a child of the request.
        let traceparent = trace::current_parent().or_else(|| task.traceparent.clone());
        let plan = FanOut::plan(&found.message, &endpoints, self.clock.now(), traceparent);
        self.stores
            .attempts
            .create_destinations(&plan.destinations)
            .await?;
        self.recent
            .put(found.message, plan.endpoints, std::time::Instant::now());
        Ok(FollowUp {
            enqueue: plan.tasks,
            schedule: Vec::new(),
        })
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> StoreResult<FollowUp> {
        let task = delivery.task;
        let Some(_turn) = self.gates.enter(delivery.endpoint_id()).await else {
            let due = self.clock.now() + chrono::Duration::from_std(BUSY_ENDPOINT_DEFER).unwrap_or_default();
            return Ok(FollowUp::retry_at(task.clone(), due));
        };
        let Some(found) = self.message_of(delivery).await? else {
            return Ok(self.without_message(delivery));
        };
        let Some(endpoint) = self.endpoint_of(delivery, &found).await? else {
            debug!(msg_id = %task.msg_id, endpoint_id = %delivery.endpoint_id(), "endpoint is gone; dropping delivery");
            return Ok(FollowUp::none());
        };
        if endpoint.disabled && !delivery.is_manual() {
            self.end_untried(task, &endpoint).await?;
            return Ok(FollowUp::none());
        }
        if let Some(due) = self.rate_slots(&endpoint).await? {
            return Ok(FollowUp::retry_at(task.clone(), due));
        }
        let replay = match self.replay_turn(delivery).await? {
            ReplayTurn::Send(replay) => replay,
            ReplayTurn::Skip(follow_up) => return Ok(follow_up),
        };
        let message = &found.message;
        let recorded = self.attempt(delivery, message, &endpoint).await;
        let follow_up = self.conclude(delivery, message, &endpoint, recorded).await?;
        if let Some(key) = replay {
            self.replay_sent(&key).await?;
        }
        Ok(follow_up)
    }

    /// Takes a slot of the endpoint's own rate limit, then of its application's, where they have one; `Some(due)`
    /// when the task should go back to the queue until then. The endpoint's is asked first: a slot it grants
    /// that the application then refuses is lost to this endpoint alone, where the other order would waste
    /// slots that the application's other endpoints could use.
    async fn rate_slots(&self, endpoint: &Endpoint) -> StoreResult<Option<DateTime<Utc>>> {
        let (limits, clock) = (self.stores.rate_limits.as_ref(), self.clock.as_ref());
        if endpoint.rate_limit.is_some() {
            let limited = Limited::Endpoint(endpoint.id.clone());
            let due = self
                .throttle
                .slot(limits, clock, &limited, endpoint.rate_limit)
                .await?;
            if due.is_some() {
                return Ok(due);
            }
        }
        let applications = self.stores.applications.as_ref();
        let app_rate = self
            .app_rates
            .rate(applications, &endpoint.org_id, &endpoint.app_id)
            .await?;
        if app_rate.is_none() {
            return Ok(None);
        }
        let limited = Limited::Application(endpoint.app_id.clone());
        self.throttle.slot(limits, clock, &limited, app_rate).await
    }

    /// The delivery's endpoint: as its message was fanned out to it in this process (see `recent`), else as
    /// stored now; `None` when it is gone.
    async fn endpoint_of(&self, delivery: Delivery<'_>, found: &Recent) -> StoreResult<Option<Endpoint>> {
        if let Some(endpoint) = found.endpoint(delivery.endpoint_id()) {
            return Ok(Some(endpoint.clone()));
        }
        let (task, key) = (delivery.task, Ref::Id(delivery.endpoint_id().clone()));
        let (org, app) = (&task.org_id, &task.app_id);
        self.stores.endpoints.get_endpoint(org, app, &key).await
    }

    /// After an attempt: the endpoint's health (which may end the delivery), the record, the news.
    async fn conclude(
        &self,
        delivery: Delivery<'_>,
        message: &Message,
        endpoint: &Endpoint,
        mut recorded: Recorded,
    ) -> StoreResult<FollowUp> {
        if self.watch_health(endpoint, &recorded).await {
            recorded.end_here();
        }
        let Recorded { record, retry } = recorded;
        let (trigger, earlier) = (delivery.deliver.trigger, delivery.deliver.attempt);
        let news = news::news_event(trigger, earlier, message, &record);
        let exhausted = matches!(news, Some(OperationalEvent::AttemptExhausted(_)));
        metrics::attempt_concluded(retry.is_some(), exhausted);
        self.recorder.record(record).await?;
        // Reported once the attempt is stored, so that whoever hears the news can read the attempt back.
        if let Some(event) = news {
            self.events.report(event).await;
        }
        Ok(retry.map_or_else(FollowUp::none, |(next, due)| FollowUp::retry_at(next, due)))
    }

    /// A scheduled retry whose endpoint was disabled meanwhile is not sent (Svix stops delivering to disabled
    /// endpoints). Its destination, still waiting, is marked failed so that listings tell the truth and
    /// `recover` sends it again once the endpoint is enabled.
    async fn end_untried(&self, task: &Task, endpoint: &Endpoint) -> StoreResult<()> {
        let (org, app) = (&task.org_id, &task.app_id);
        let destination = self
            .stores
            .attempts
            .get_destination(org, app, &task.msg_id, &endpoint.id)
            .await?;
        let Some(mut d) =
            destination.filter(|d| matches!(d.status, MessageStatus::Pending | MessageStatus::Sending))
        else {
            return Ok(());
        };
        d.status = MessageStatus::Fail;
        d.next_attempt = None;
        d.updated_at = self.clock.now();
        debug!(msg_id = %task.msg_id, endpoint_id = %endpoint.id, "endpoint disabled; delivery ends untried");
        self.stores.attempts.put_destinations(&[d]).await
    }

    /// Notes the attempt in the endpoint's failing streak and disables the endpoint once the streak is long
    /// enough; true when the endpoint is (now) disabled. A health store failure costs auto-disable for this
    /// attempt, never the delivery.
    async fn watch_health(&self, endpoint: &Endpoint, recorded: &Recorded) -> bool {
        let Some(health) = &self.health else {
            return false;
        };
        // A manual resend to a disabled endpoint says nothing new about a streak that already disabled it.
        if endpoint.disabled {
            return false;
        }
        let succeeded = recorded.record.attempt.status == MessageStatus::Success;
        let fail_since = match health.after_attempt(endpoint, succeeded, self.clock.now()).await {
            Ok(Some(since)) => since,
            Ok(None) => return false,
            Err(e) => {
                warn!(error = %e, endpoint_id = %endpoint.id, "noting an endpoint's health failed");
                return false;
            }
        };
        match self.disable(endpoint, fail_since).await {
            Ok(disabled) => disabled,
            Err(e) => {
                warn!(error = %e, endpoint_id = %endpoint.id, "disabling a failing endpoint failed");
                false
            }
        }
    }

    /// Disables the endpoint as a `PATCH {"disabled": true}` would, and reports it; true when the endpoint is
    /// disabled now (by us, or already), false when it is gone.
    async fn disable(&self, endpoint: &Endpoint, fail_since: DateTime<Utc>) -> StoreResult<bool> {
        let (org, app) = (&endpoint.org_id, &endpoint.app_id);
        // Reloaded, so that changes made since this delivery loaded it are kept.
        let Some(mut current) = self
            .stores
            .endpoints
            .get_endpoint(org, app, &Ref::Id(endpoint.id.clone()))
            .await?
        else {
            return Ok(false);
        };
        if current.disabled {
            return Ok(true);
        }
        current.disabled = true;
        current.updated_at = self.clock.now();
        self.stores.endpoints.update_endpoint(&current).await?;
        metrics::endpoint_disabled();
        info!(endpoint_id = %current.id, %fail_since, "disabled an endpoint whose deliveries kept failing");
        if let Some(health) = &self.health
            && let Err(e) = health.forget(&current).await
        {
            warn!(error = %e, endpoint_id = %current.id, "clearing a disabled endpoint's failing streak failed");
        }
        let endpoint = EndpointRef {
            org_id: current.org_id,
            app_id: current.app_id,
            endpoint_id: current.id,
            endpoint_uid: current.uid,
        };
        self.events
            .report(OperationalEvent::EndpointDisabled { endpoint, fail_since })
            .await;
        Ok(true)
    }

    async fn attempt(&self, delivery: Delivery<'_>, message: &Message, endpoint: &Endpoint) -> Recorded {
        let request = attempt::prepare(message, endpoint, self.clock.now(), self.config.svix_headers);
        let sent = self.sender.send(request).await;
        metrics::attempt(&sent, message.created_at, self.clock.now());
        let recorded = attempt::record(
            delivery,
            message,
            endpoint,
            sent,
            self.clock.now(),
            &self.config.retry,
            rand::thread_rng().r#gen::<f64>(),
        );
        let a = &recorded.record.attempt;
        if a.status == MessageStatus::Success {
            debug!(msg_id = %a.msg_id, endpoint_id = %a.endpoint_id, attempt_id = %a.id, status = a.response_status_code, "delivered");
        } else {
            warn!(msg_id = %a.msg_id, endpoint_id = %a.endpoint_id, attempt_id = %a.id, status = a.response_status_code,
                retry = recorded.retry.is_some(), response = %truncate(&a.response, 200), "delivery attempt failed");
        }
        recorded
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn task_span(task: &Task) -> Span {
    match &task.kind {
        TaskKind::FanOut => info_span!("fan_out", msg_id = %task.msg_id),
        TaskKind::Deliver(d) => {
            info_span!("delivery_attempt", msg_id = %task.msg_id, endpoint_id = %d.endpoint_id, attempt = d.attempt)
        }
    }
}
