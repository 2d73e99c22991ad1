//! How the worker finds a task's message: a fan-out (and an example's delivery) waits briefly for a message that
//! is not committed yet, and a first attempt shares the message its fan-out just loaded here.

use std::sync::Arc;
use std::time::Duration;

use tracing::debug;

use super::Worker;
use crate::delivery::Delivery;
use crate::domain::Message;
use crate::store::{FollowUp, StoreResult, Task};

/// How long a fan-out waits for its message to be stored before concluding it never will be.
const MESSAGE_GRACE: Duration = Duration::from_secs(120);
/// A fan-out younger than this waits in memory for its message to commit (see `fresh_message`)...
const FRESH_MESSAGE_AGE: Duration = Duration::from_secs(1);
/// ...with pauses of 2, 4, ... up to this many milliseconds, about a quarter of a second in all.
const FRESH_MESSAGE_PAUSE_MAX: Duration = Duration::from_millis(128);
/// Payload bytes of just-fanned-out messages kept for their deliveries (see `recent`).
pub(super) const RECENT_MESSAGE_BYTES: usize = 32 << 20;

impl Worker {
    /// The task's message. The API queues a fan-out just before it stores the message, so a quick worker often
    /// leases the task a few milliseconds before the message commits: a young task waits for it here, in
    /// memory, with doubling pauses, rather than taking a round through the scheduled set (a durable write and
    /// at least 100 ms), which cut delivered throughput by about 7× on the embedded store.
    pub(super) async fn fresh_message(&self, task: &Task) -> StoreResult<Option<Message>> {
        let mut pause = Duration::from_millis(2);
        loop {
            let found = self
                .stores
                .messages
                .get_message(&task.org_id, &task.app_id, &task.msg_id)
                .await?;
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

    /// The delivery's message: shared with the fan-out that just created this first attempt when it ran here,
    /// else read from the store (always for retries and manual ones, which must see an expunged payload as
    /// such). A manual first try may be an example's, queued just before its message is stored (the intake
    /// order), so it waits for a young message as a fan-out does.
    pub(super) async fn message_of(&self, delivery: Delivery<'_>) -> StoreResult<Option<Arc<Message>>> {
        let task = delivery.task;
        if delivery.is_first_scheduled()
            && let Some(shared) = self.recent.get(&task.msg_id, std::time::Instant::now())
        {
            return Ok(Some(shared));
        }
        let message = if may_precede_its_message(delivery) {
            self.fresh_message(task).await?
        } else {
            let (org, app) = (&task.org_id, &task.app_id);
            self.stores.messages.get_message(org, app, &task.msg_id).await?
        };
        Ok(message.map(Arc::new))
    }

    /// What becomes of a delivery whose message was not found: an example's waits for it as a fan-out does;
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

/// Whether a delivery may be leased before its message is stored: only a manual first try, which is how
/// `Intake::send_example` queues an example before storing it. (A resend's message was read before it was
/// queued; a scheduled try's was found by its fan-out.)
fn may_precede_its_message(delivery: Delivery<'_>) -> bool {
    delivery.is_manual() && delivery.deliver.attempt == 0
}
