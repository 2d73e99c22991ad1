//! The retention port: operator jobs that work across every organization, unlike the tenant-scoped record
//! ports. One expunges payloads whose retention period has ended; the other deletes old messages outright.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::Message;
use crate::id::MessageId;

/// When a message's payload stops being kept: its creation plus its own retention, in hours when the sender
/// gave hours, else in days.
pub fn payload_expires_at(message: &Message) -> DateTime<Utc> {
    let kept = match message.retention_hours {
        Some(hours) => chrono::Duration::hours(i64::from(hours)),
        None => chrono::Duration::days(i64::from(message.retention_days)),
    };
    message.created_at + kept
}

/// The smallest message id created at or after `cutoff`: prune takes the messages whose id sorts below it.
/// Ids carry their creation time (the API stamps `created_at` and the id together), so every backend can
/// find old messages in id order without a second time index.
pub fn prune_bound(cutoff: DateTime<Utc>) -> MessageId {
    MessageId::lower_bound_at(cutoff)
}

/// What one prune batch deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PruneCounts {
    pub messages: u64,
    pub attempts: u64,
    pub destinations: u64,
}

impl std::ops::AddAssign for PruneCounts {
    fn add_assign(&mut self, other: Self) {
        self.messages += other.messages;
        self.attempts += other.attempts;
        self.destinations += other.destinations;
    }
}

#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Expunges, as [`super::MessageStore::expunge_message_content`] does, the payloads of at most `limit`
    /// messages of any organization whose [`payload_expires_at`] is at or before `now`, and returns how many
    /// it expunged. Each payload is counted by the one call that expunged it: concurrent callers share the
    /// work, never count a message twice, and a call that returns less than `limit` found nothing more due.
    /// Messages created before the backend kept an expiry index may be missed.
    async fn expire_payloads(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<u64>;

    /// Deletes at most `limit` messages of any organization created before `cutoff` (their id below
    /// [`prune_bound`]), each with its attempts and destinations, and returns what it deleted. Idempotent;
    /// a call that deletes fewer than `limit` messages found nothing more to delete. An attempt recorded
    /// while its message is being deleted may outlive it: the worker drops a missing message's tasks.
    async fn prune_before(&self, cutoff: DateTime<Utc>, limit: usize) -> StoreResult<PruneCounts>;
}
