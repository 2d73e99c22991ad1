//! Replayed deliveries (queued by a background task: `DeliverTask::replay`) go out at most once per replay,
//! message and endpoint, however often the task queued them.

use std::time::Duration;

use super::Worker;
use crate::delivery::Delivery;
use crate::store::{CachedResponse, FollowUp, IdempotencyState, StoreResult};

/// How long a replayed delivery is remembered as sent, against copies of it: copies come from a page queued
/// again after a crash, so they are minutes behind the first, unless the queue is more than this far behind.
/// Each replayed message keeps one key this long (about 100 bytes on Redis).
const REPLAY_SENT_KEPT: Duration = Duration::from_secs(60 * 60);
/// How soon a copy of a replayed delivery that another worker is sending looks again.
const REPLAY_RECHECK: Duration = Duration::from_secs(1);

/// What a delivery does about its replay, if it belongs to one.
pub(super) enum ReplayTurn {
    /// Send it; with the replay's key to mark sent afterwards.
    Send(Option<String>),
    /// Do not send it (now).
    Skip(FollowUp),
}

impl Worker {
    /// Whether a replay's delivery may go out (see `DeliverTask::replay`): at most once per replay, message and
    /// endpoint. The first to claim the key sends, and marks it sent once the attempt is recorded; a copy that
    /// finds it sent is dropped, and one that finds it being sent looks again a moment later, until it is sent
    /// or the claim lapses (its sender died mid-way, and then the copy sends).
    pub(super) async fn replay_turn(&self, delivery: Delivery<'_>) -> StoreResult<ReplayTurn> {
        let Some(replay) = &delivery.deliver.replay else {
            return Ok(ReplayTurn::Send(None));
        };
        let key = format!(
            "replay:{replay}:{}:{}",
            delivery.task.msg_id,
            delivery.endpoint_id()
        );
        let claim = self.config.request_timeout * 2;
        Ok(match self.stores.idempotency.begin(&key, claim).await? {
            IdempotencyState::Started => ReplayTurn::Send(Some(key)),
            IdempotencyState::Completed(_) => ReplayTurn::Skip(FollowUp::none()),
            IdempotencyState::InProgress => {
                let recheck = chrono::Duration::from_std(REPLAY_RECHECK).unwrap_or_default();
                ReplayTurn::Skip(FollowUp::retry_at(
                    delivery.task.clone(),
                    self.clock.now() + recheck,
                ))
            }
        })
    }

    /// Marks a replay's delivery sent, once its attempt is recorded, so that copies of it are dropped.
    pub(super) async fn replay_sent(&self, key: &str) -> StoreResult<()> {
        let sent = CachedResponse {
            status: 200,
            body: Vec::new(),
        };
        self.stores
            .idempotency
            .complete(key, &sent, REPLAY_SENT_KEPT)
            .await
    }
}
