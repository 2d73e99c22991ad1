//! How the worker finds a task's message: a fan-out and a first attempt wait briefly for a message that is not
//! committed yet (their intake queued them just before storing it), and share the message this process just
//! accepted or fanned out.

use std::time::Duration;

use tracing::debug;

use super::Worker;
use crate::delivery::Delivery;
use crate::delivery::recent::Recent;
use crate::store::{FollowUp, StoreResult, Task};

/// How long a fan-out waits for its message to be stored before concluding it never will be.
const MESSAGE_GRACE: Duration = Duration::from_secs(120);
/// A fan-out younger than this waits in memory for its message to commit (see `fresh_message`)...
const FRESH_MESSAGE_AGE: Duration = Duration::from_secs(1);
/// ...with pauses of 2, 4, ... up to this many milliseconds, about a quarter of a second in all.
const FRESH_MESSAGE_PAUSE_MAX: Duration = Duration::from_millis(128);
/// How long a task waits for the outcome of its message's insert in this process; longer than any insert
/// that answers in time, after which the store is asked as for a message accepted elsewhere.
const EXPECTED_INSERT_WAIT: Duration = Duration::from_secs(5);

impl Worker {
    /// The task's message, with the endpoints it was fanned out to when this process fanned it out (else
    /// none). The intake queues a message's first work just before it stores the message, so a quick worker
    /// often leases the task before the message commits. Accepted in this process, the message is waited for
    /// in `recent`, which the intake wakes the moment the insert's outcome is known; accepted elsewhere, a
    /// young task polls the store here, in memory, with doubling pauses, rather than taking a round through
    /// the scheduled set (a durable write and at least 100 ms), which cut delivered throughput by about 7× on
    /// the embedded store.
    pub(super) async fn fresh_message(&self, task: &Task) -> StoreResult<Option<Recent>> {
        if let Some(shared) = self.recent.wait(&task.msg_id, EXPECTED_INSERT_WAIT).await {
            return Ok(Some(shared));
        }
        let mut pause = Duration::from_millis(2);
        loop {
            let found = self
                .stores
                .messages
                .get_message(&task.org_id, &task.app_id, &task.msg_id)
                .await?
                .map(Recent::read);
            let age = (self.clock.now() - task.msg_id.timestamp())
                .to_std()
                .unwrap_or_default();
            if found.is_some() || pause > FRESH_MESSAGE_PAUSE_MAX || age > FRESH_MESSAGE_AGE {
                return Ok(found);
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }

    /// A fan-out is queued before its message is stored (so that no stored message lacks one): a missing
    /// message is either not committed yet, or its insert failed and the API refused it. Young tasks try again
    /// with growing pauses; old ones are dropped.
    pub(super) fn await_message(&self, task: &Task) -> FollowUp {
        let age = (self.clock.now() - task.msg_id.timestamp())
            .to_std()
            .unwrap_or_default();
        if age > MESSAGE_GRACE {
            debug!(msg_id = %task.msg_id, "message never stored; dropping its fan-out");
            return FollowUp::none();
        }
        let pause = (age / 2).clamp(Duration::from_millis(100), Duration::from_secs(30));
        FollowUp::retry_at(
            task.clone(),
            self.clock.now() + chrono::Duration::from_std(pause).unwrap_or_default(),
        )
    }

    /// The delivery's message, with the endpoints it was fanned out to when that happened here. A first try
    /// (scheduled, or manual as an example's) may be leased before its message is stored, so it waits as a
    /// fan-out does, and shares what this process accepted or fanned out. Retries read the store, and see an
    /// expunged payload as such.
    pub(super) async fn message_of(&self, delivery: Delivery<'_>) -> StoreResult<Option<Recent>> {
        let task = delivery.task;
        if may_precede_its_message(delivery) {
            return self.fresh_message(task).await;
        }
        let (org, app) = (&task.org_id, &task.app_id);
        let message = self.stores.messages.get_message(org, app, &task.msg_id).await?;
        Ok(message.map(Recent::read))
    }

    /// What becomes of a delivery whose message was not found: a first try's waits for it as a fan-out does;
    /// any other's message existed when it was queued, so it is gone and the delivery is dropped.
    pub(super) fn without_message(&self, delivery: Delivery<'_>) -> FollowUp {
        if may_precede_its_message(delivery) {
            return self.await_message(delivery.task);
        }
        let task = delivery.task;
        debug!(msg_id = %task.msg_id, endpoint_id = %delivery.endpoint_id(), "message is gone; dropping delivery");
        FollowUp::none()
    }
}

/// Whether a delivery may be leased before its message is stored: a first try, which is how the intake queues
/// a message's deliveries (and an example's) before storing it. A resend's or a recovery's first try reads a
/// message that exists, so it does not wait; a retry's message was found by its first try.
fn may_precede_its_message(delivery: Delivery<'_>) -> bool {
    delivery.is_first()
}
