//! Accepting a message: the one path by which a message enters the system, whoever sends it (the API on a
//! tenant's behalf, the operational-webhook publisher on the operator's).
//!
//! Accepting means: refuse a duplicate `eventId`, queue the fan-out, then store the message. The fan-out is
//! queued first so that no accepted message can lack one: the worker waits for a message that is not stored yet,
//! and gives up on one that never will be (a failed insert). Stored first, a crash between the two steps would
//! leave a message that is never delivered.

use crate::domain::{Message, Uid};
use crate::store::{StoreError, Stores, Task, TaskKind};

/// How long a payload is kept when the sender does not say (the contract's default `payloadRetentionPeriod`).
pub const DEFAULT_RETENTION_DAYS: u16 = 90;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The application already has a message with this `eventId`.
    #[error("a message with eventId `{0}` already exists")]
    DuplicateEventId(Uid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Queues the message's fan-out and stores it. On success the message will be delivered to every subscribed
/// endpoint of its application.
pub async fn accept_message(stores: &Stores, message: &Message) -> Result<(), IntakeError> {
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
    stores.queue.enqueue(vec![task]).await?;
    stores.messages.create_message(message).await?;
    crate::metrics::message_accepted();
    Ok(())
}
