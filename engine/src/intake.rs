//! Accepting a message: the one path by which a message enters the system, whoever sends it (the API on a
//! tenant's behalf, the operational-webhook publisher on the operator's).
//!
//! Accepting means: refuse a duplicate `eventId`, queue the fan-out, then store the message. The fan-out is
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

use tokio::sync::Semaphore;

use crate::domain::{Message, Uid};
use crate::store::{StoreError, StoreErrorKind, Stores, Task, TaskKind};

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

/// The way in: the stores, and the admission every sender of the process shares. Clones share both.
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
        let turn = tokio::time::timeout(self.admission.wait, self.admission.turns.acquire()).await;
        // The semaphore is never closed, so only the wait can fail.
        let Ok(Ok(_turn)) = turn else {
            tracing::debug!(msg_id = %message.id, "no intake turn within the wait; refused");
            return Err(IntakeError::Overloaded(self.admission.wait));
        };
        accept_message(&self.stores, message).await
    }
}

async fn accept_message(stores: &Stores, message: &Message) -> Result<(), IntakeError> {
    if let Some(event_id) = &message.event_id {
        // Most duplicates are refused here, before a fan-out task is queued for a message that will not exist;
        // a concurrent duplicate is still refused by the insert (`Conflict`).
        let existing = stores
            .messages
            .message_id_by_event_id(&message.org_id, &message.app_id, event_id)
            .await?;
        if existing.is_some() {
            return Err(IntakeError::DuplicateEventId(event_id.clone()));
        }
    }
    let task = Task {
        org_id: message.org_id.clone(),
        app_id: message.app_id.clone(),
        msg_id: message.id.clone(),
        traceparent: crate::trace::current_parent(),
        kind: TaskKind::FanOut,
    };
    // A failed enqueue may still have queued the task, but the message is not stored: the worker drops it.
    stores.queue.enqueue(vec![task]).await?;
    stores
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
