//! The one way in for delivery work, whoever asks (the API on a tenant's behalf, the operational-webhook
//! publisher on the operator's): accepting a message, sending an example to one endpoint, resending stored
//! messages (one to one endpoint), and starting replays and recoveries (background tasks, which
//! `background_tasks::TaskRunner` runs). Nothing else queues a message's first delivery work.
//!
//! Accepting means: refuse a duplicate `eventId`, plan the fan-out ([`FanOut`]: the subscribed endpoints and
//! sinks, read at ingest), append the message to its sinks' logs and queue the first deliveries, then store the
//! message with their pending destinations in one write (an example queues its one delivery, in the same order;
//! `queue_then_store` holds the rule). A message with more than [`INGEST_FAN_OUT_MAX`] targets queues one
//! fan-out task instead, which the worker expands, so that one request never writes thousands of tasks. The work
//! is queued first so that no accepted message can lack it: the worker (and a sink's reader) waits for a message
//! that is not stored yet, and gives up on one that never will be (a failed insert; a refused one is also
//! withdrawn from its sinks' logs at once). Stored first, a crash between the two steps would leave a message
//! that is never delivered.
//!
//! Fanning out at ingest, rather than in a queued task, saves a message the fan-out task's lease, its read of
//! the message, its separate write of the destinations and its acknowledgement (BENCHMARKS.md, "Issue 13: fan
//! out at ingest").
//!
//! The answer must tell the truth, because clients retry a refusal (the SDKs do): `Ok` means stored and queued;
//! every error but [`IntakeError::OutcomeUnknown`] means not stored, so never delivered. That rests on the
//! store's write contract (`MessageStore::create_message`: `Timeout` is the only error after which the message
//! may exist), and on the order above: a failure before the insert leaves at most a fan-out the worker drops.
//!
//! [`Admission`] keeps overload a clean refusal rather than a pile of timeouts: a burst of senders queues for a
//! bounded number of turns, so each write that does start meets a backend that can answer it in time.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use crate::delivery::RecentMessages;
use crate::domain::{BackgroundTask, Destination, Endpoint, Job, Message, TriggerType, Uid};
use crate::fan_out::{self, FanOut};
use crate::id::{MessageId, OrgId};
use crate::sink::SinkNews;
use crate::store::{Appended, DeliverTask, StoreError, StoreErrorKind, StoreResult, Stores, Task};
use crate::trace;

/// How long a payload is kept when the sender does not say (the contract's default `payloadRetentionPeriod`).
pub const DEFAULT_RETENTION_DAYS: u16 = 90;

/// The most targets a message is fanned out to at ingest. Beyond it the request writes one fan-out task and the
/// worker writes the rest, so a message to thousands of endpoints is accepted as fast as one to a few. Not tuned
/// by measurement: it covers the loadtest's 50-endpoint `fanout` with room to spare.
pub const INGEST_FAN_OUT_MAX: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The application already has a message with this `eventId`.
    #[error("a message with eventId `{0}` already exists")]
    DuplicateEventId(Uid),
    /// Every turn stayed taken for the whole bounded wait; nothing was stored.
    #[error("too many messages are being accepted; waited {0:?} for a turn")]
    Overloaded(Duration),
    /// The message was not stored: the store failed, and said so, before or during the insert.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The insert was sent but the store could not tell whether it happened: the message may be stored (and
    /// then it will be delivered). The one answer that is neither an acceptance nor a refusal.
    #[error("the message may or may not have been stored")]
    OutcomeUnknown(#[source] StoreError),
}

/// How many messages one process writes at once, and how long a message waits for its turn.
///
/// Without it a burst of N senders puts N inserts on the backend at once; on Redis they queue on a few shared
/// connections until the slowest exceed the reply limit. With it, all but `limit` wait here, where waiting
/// costs nothing and a refusal is certain.
#[derive(Clone, Debug)]
pub struct Admission {
    turns: Arc<Semaphore>,
    wait: Duration,
}

impl Admission {
    /// Per process. Sized to the few shared Redis connections and the Postgres pool (16): enough writes in
    /// flight to keep a backend busy, few enough that each is answered well within a reply limit. Not tuned by
    /// measurement: bursts of 3 000 and 6 000 were all accepted at this value (BENCHMARKS.md, "Overload
    /// honesty").
    pub const DEFAULT_LIMIT: usize = 64;
    /// Long enough for a burst of thousands to drain; far below the worker's two minutes of waiting for a
    /// fan-out's message (`delivery::worker::messages`), so an accepted message is never given up on.
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

    /// At most `limit` (at least 1) messages are written at once; a message waits at most `wait` for a turn.
    pub fn new(limit: usize, wait: Duration) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(limit.max(1))),
            wait,
        }
    }
}

impl Default for Admission {
    fn default() -> Self {
        Self::new(Self::DEFAULT_LIMIT, Self::DEFAULT_WAIT)
    }
}

/// The way in for all delivery work: new messages (`accept`, `send_example`) and new deliveries of stored ones
/// (`resend`, and the replays and recoveries of `start_task`). It holds the stores, and the admission every sender of the process shares; clones
/// share both.
#[derive(Clone)]
pub struct Intake {
    stores: Stores,
    admission: Admission,
    /// The delivery worker's cache of recent messages, when it runs in this process: a message accepted here
    /// is handed to its first deliveries by reference instead of being read back from the store.
    recent: Option<Arc<RecentMessages>>,
    /// This process's sink drivers, when it runs them: told of each message appended to their logs here.
    sink_news: Option<Arc<SinkNews>>,
}

impl Intake {
    pub fn new(stores: Stores, admission: Admission) -> Self {
        Self {
            stores,
            admission,
            recent: None,
            sink_news: None,
        }
    }

    /// Hands every message accepted here to `recent`, the cache of this process's delivery worker.
    pub fn sharing_with(mut self, recent: Arc<RecentMessages>) -> Self {
        self.recent = Some(recent);
        self
    }

    /// Tells this process's sink drivers of every message accepted here for their destinations.
    pub fn announcing_to(mut self, news: Arc<SinkNews>) -> Self {
        self.sink_news = Some(news);
        self
    }

    /// Queues the message's first deliveries and stores it with their destinations, once admitted. On success
    /// the message will be delivered to every subscribed endpoint of its application; on any error but
    /// `OutcomeUnknown` it is not stored.
    pub async fn accept(&self, message: &Message) -> Result<(), IntakeError> {
        let _turn = self.admit(&message.id).await?;
        self.refuse_duplicate(message).await?;
        let (org, app) = (&message.org_id, &message.app_id);
        // Both reads at once: on a shared Redis connection they go out together, in one round trip's time.
        let (endpoints, sinks) = tokio::try_join!(
            self.stores.endpoints.endpoints_of_app(org, app),
            self.stores.sinks.sinks_of_app(org, app),
        )?;
        let traceparent = trace::current_parent();
        let mut plan = FanOut::plan(message, &endpoints, message.created_at, traceparent.clone());
        if plan.len() > INGEST_FAN_OUT_MAX {
            let fan_out = Task::fan_out(org.clone(), app.clone(), message.id.clone(), traceparent);
            plan = FanOut::task(fan_out, Vec::new());
        }
        plan.sinks = fan_out::sink_targets(&sinks, message);
        self.queue_then_store(message, plan).await
    }

    /// Accepts an example message for `endpoint` alone, whatever its filters say (the caller asked for it by
    /// name): one manual delivery instead of a fan-out, queued and stored as [`Intake::accept`] does.
    pub async fn send_example(&self, message: &Message, endpoint: &Endpoint) -> Result<(), IntakeError> {
        let _turn = self.admit(&message.id).await?;
        let example = FanOut::task(manual_delivery(message, endpoint), vec![endpoint.clone()]);
        self.queue_then_store(message, example).await
    }

    /// Sends a stored message to `endpoint` once more, now: one manual attempt, outside the retry schedule.
    pub async fn resend(&self, message: &Message, endpoint: &Endpoint) -> StoreResult<()> {
        self.stores
            .queue
            .enqueue(vec![manual_delivery(message, endpoint)])
            .await
    }

    /// Starts a background task that queues deliveries (a replay, a recovery), for a worker process's
    /// `TaskRunner` to run.
    pub async fn start_task(&self, org: OrgId, job: Job, now: DateTime<Utc>) -> StoreResult<BackgroundTask> {
        let task = BackgroundTask::new(org, job, now);
        self.stores.background_tasks.create_task(&task).await?;
        Ok(task)
    }

    /// Waits for a turn to write a message; the turn is held until the returned permit is dropped.
    async fn admit(&self, msg_id: &MessageId) -> Result<tokio::sync::SemaphorePermit<'_>, IntakeError> {
        let turn = tokio::time::timeout(self.admission.wait, self.admission.turns.acquire()).await;
        // The semaphore is never closed, so only the wait can fail.
        let Ok(Ok(turn)) = turn else {
            tracing::debug!(msg_id = %msg_id, "no intake turn within the wait; refused");
            return Err(IntakeError::Overloaded(self.admission.wait));
        };
        Ok(turn)
    }

    async fn refuse_duplicate(&self, message: &Message) -> Result<(), IntakeError> {
        let Some(event_id) = &message.event_id else {
            return Ok(());
        };
        // Most duplicates are refused here, before deliveries are queued for a message that will not exist;
        // a concurrent duplicate is still refused by the insert (`Conflict`).
        let existing = self
            .stores
            .messages
            .message_id_by_event_id(&message.org_id, &message.app_id, event_id)
            .await?;
        match existing {
            Some(_) => Err(IntakeError::DuplicateEventId(event_id.clone())),
            None => Ok(()),
        }
    }

    /// The intake order (see the module doc): the message is appended to `work.sinks`' logs and `work.tasks`,
    /// its first delivery work, are queued before it is stored with `work.destinations`, and the insert's error
    /// says whether it may exist.
    async fn queue_then_store(&self, message: &Message, work: FanOut) -> Result<(), IntakeError> {
        // This process's worker, leasing a task before the insert is done, waits for its outcome here.
        let _expected = self.recent.as_ref().map(|r| r.expect(&message.id));
        let (org, app) = (&message.org_id, &message.app_id);
        let appended = if work.sinks.is_empty() {
            Vec::new()
        } else {
            self.stores
                .sinks
                .append(org, app, &work.sinks, &message.id)
                .await?
        };
        if let Err(e) = self
            .queue_and_store(message, work.tasks, &work.destinations)
            .await
        {
            // Refused, so never stored: its log entries go too, or a FIFO destination would wait for it (up to
            // `MESSAGE_GRACE`) before passing over it. A concurrent duplicate `eventId` gets here. After a
            // timeout the message may exist, and its entries stay.
            if !matches!(e, IntakeError::OutcomeUnknown(_)) {
                self.withdraw(message, &appended).await;
            }
            return Err(e);
        }
        // Only once stored: a delivery must never send a message whose sender was told it was refused. A
        // scheduled message's deliveries come long after the hand-over would have expired.
        if let Some(recent) = self.recent.as_ref().filter(|_| message.deliver_at.is_none()) {
            recent.put(
                Arc::new(message.clone()),
                work.endpoints,
                std::time::Instant::now(),
            );
        }
        if let Some(news) = &self.sink_news {
            news.appended(&work.sinks);
        }
        crate::metrics::message_accepted();
        Ok(())
    }

    async fn queue_and_store(
        &self,
        message: &Message,
        tasks: Vec<Task>,
        destinations: &[Destination],
    ) -> Result<(), IntakeError> {
        // A failed enqueue may still have queued tasks, but the message is not stored: the worker drops them.
        if !tasks.is_empty() {
            match message.deliver_at {
                // A scheduled message's first work waits in the queue's durable schedule until it is due.
                Some(due) => {
                    let scheduled = tasks.into_iter().map(|t| (t, due)).collect();
                    self.stores.queue.schedule(scheduled).await?;
                }
                None => self.stores.queue.enqueue(tasks).await?,
            }
        }
        self.stores
            .messages
            .create_message(message, destinations)
            .await
            .map_err(|e| match e.kind() {
                StoreErrorKind::Timeout => IntakeError::OutcomeUnknown(e),
                _ => IntakeError::Store(e),
            })
    }

    /// Takes a refused message's entries out of its sinks' logs. Should that fail too, the sinks' readers pass
    /// over the entries once `MESSAGE_GRACE` is over.
    async fn withdraw(&self, message: &Message, appended: &[Appended]) {
        if appended.is_empty() {
            return;
        }
        let (org, app) = (&message.org_id, &message.app_id);
        if let Err(e) = self.stores.sinks.withdraw(org, app, appended).await {
            tracing::warn!(
                msg_id = %message.id, error = %e,
                "cannot withdraw a refused message from its sinks' logs"
            );
        }
    }
}

/// One manual attempt of `message` at `endpoint`, whatever its filters say (the caller named it), never retried.
fn manual_delivery(message: &Message, endpoint: &Endpoint) -> Task {
    let deliver = DeliverTask::first(endpoint.id.clone(), TriggerType::Manual);
    Task::deliver(
        message.org_id.clone(),
        message.app_id.clone(),
        message.id.clone(),
        deliver,
        trace::current_parent(),
    )
}
