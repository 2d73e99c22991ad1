//! The one way in for delivery work, whoever asks (the API on a tenant's behalf, the operational-webhook
//! publisher on the operator's): accepting a message, sending an example to one endpoint, and resending stored
//! messages (one to one endpoint, or all that failed to reach an endpoint in a window). Nothing else queues a
//! message's first delivery work.
//!
//! Accepting means: refuse a duplicate `eventId`, queue the fan-out, then store the message (an example queues
//! its one delivery instead of a fan-out, in the same order; `queue_then_store` holds the rule). The fan-out is
//! queued first so that no accepted message can lack one: the worker waits for a message that is not stored yet,
//! and gives up on one that never will be (a failed insert). Stored first, a crash between the two steps would
//! leave a message that is never delivered.
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

use crate::domain::{Endpoint, Message, MessageStatus, TriggerType, Uid};
use crate::id::{BackgroundTaskId, MessageId};
use crate::store::{
    DeliverTask, DestinationFilter, Order, Pager, StoreError, StoreErrorKind, StoreResult, Stores, Task,
    TimeTypeChannel,
};
use crate::trace;

/// How long a payload is kept when the sender does not say (the contract's default `payloadRetentionPeriod`).
pub const DEFAULT_RETENTION_DAYS: u16 = 90;

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
/// (`resend`, `recover`). It holds the stores, and the admission every sender of the process shares; clones
/// share both.
#[derive(Clone)]
pub struct Intake {
    stores: Stores,
    admission: Admission,
}

impl Intake {
    pub fn new(stores: Stores, admission: Admission) -> Self {
        Self { stores, admission }
    }

    /// Queues the message's fan-out and stores it, once admitted. On success the message will be delivered to
    /// every subscribed endpoint of its application; on any error but `OutcomeUnknown` it is not stored.
    pub async fn accept(&self, message: &Message) -> Result<(), IntakeError> {
        let _turn = self.admit(&message.id).await?;
        self.refuse_duplicate(message).await?;
        let fan_out = Task::fan_out(
            message.org_id.clone(),
            message.app_id.clone(),
            message.id.clone(),
            trace::current_parent(),
        );
        self.queue_then_store(message, fan_out).await
    }

    /// Accepts an example message for `endpoint` alone, whatever its filters say (the caller asked for it by
    /// name): one manual delivery instead of a fan-out, queued and stored as [`Intake::accept`] does.
    pub async fn send_example(&self, message: &Message, endpoint: &Endpoint) -> Result<(), IntakeError> {
        let _turn = self.admit(&message.id).await?;
        self.queue_then_store(message, manual_delivery(message, endpoint))
            .await
    }

    /// Sends a stored message to `endpoint` once more, now: one manual attempt, outside the retry schedule.
    pub async fn resend(&self, message: &Message, endpoint: &Endpoint) -> StoreResult<()> {
        self.stores
            .queue
            .enqueue(vec![manual_delivery(message, endpoint)])
            .await
    }

    /// Starts sending again, in the background, every message that failed to reach `endpoint` between `since`
    /// and `until` (or now); returns the background task's id at once. Each gets a fresh delivery with the whole
    /// retry schedule. A process that stops mid-way leaves the rest of the window unrecovered.
    pub fn recover(
        &self,
        endpoint: Endpoint,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> BackgroundTaskId {
        let id = BackgroundTaskId::generate();
        let (intake, task_id) = (self.clone(), id.clone());
        tokio::spawn(async move {
            match intake.resend_failed(&endpoint, since, until).await {
                Ok(count) => {
                    tracing::info!(task_id = %task_id, endpoint_id = %endpoint.id, count, "endpoint recovery queued")
                }
                Err(e) => {
                    tracing::warn!(task_id = %task_id, endpoint_id = %endpoint.id, error = %e, "endpoint recovery failed")
                }
            }
        });
        id
    }

    /// Queues a fresh scheduled delivery of every message that failed to reach `endpoint` in the window, a page
    /// at a time; returns how many.
    pub async fn resend_failed(
        &self,
        endpoint: &Endpoint,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> StoreResult<usize> {
        let (org, app) = (&endpoint.org_id, &endpoint.app_id);
        let filter = DestinationFilter {
            common: TimeTypeChannel {
                after: Some(since),
                before: until,
                ..TimeTypeChannel::default()
            },
            status: Some(MessageStatus::Fail),
        };
        let (mut queued, mut pager) = (0, Pager::new(Order::Ascending));
        while let Some(query) = pager.next_query() {
            let rows = self
                .stores
                .attempts
                .list_destinations_by_endpoint(org, app, &endpoint.id, &filter, &query)
                .await?;
            let tasks: Vec<Task> = pager
                .advance(rows, &query, |d| d.msg_id.to_string())
                .into_iter()
                .map(|d| {
                    let deliver = DeliverTask::first(endpoint.id.clone(), TriggerType::Scheduled);
                    // A recovery runs after its request has been answered: it starts its own traces.
                    Task::deliver(org.clone(), app.clone(), d.msg_id, deliver, None)
                })
                .collect();
            queued += tasks.len();
            self.stores.queue.enqueue(tasks).await?;
        }
        Ok(queued)
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
        // Most duplicates are refused here, before a fan-out task is queued for a message that will not exist;
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

    /// The intake order (see the module doc): `task`, the message's first delivery work, is queued before the
    /// message is stored, and the insert's error says whether the message may exist.
    async fn queue_then_store(&self, message: &Message, task: Task) -> Result<(), IntakeError> {
        // A failed enqueue may still have queued the task, but the message is not stored: the worker drops it.
        self.stores.queue.enqueue(vec![task]).await?;
        self.stores
            .messages
            .create_message(message)
            .await
            .map_err(|e| match e.kind() {
                StoreErrorKind::Timeout => IntakeError::OutcomeUnknown(e),
                _ => IntakeError::Store(e),
            })?;
        crate::metrics::message_accepted();
        Ok(())
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
