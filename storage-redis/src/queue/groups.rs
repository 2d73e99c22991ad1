//! The consumer group: created at start, and re-created when Redis lost it.
//!
//! A stream and its group vanish when Redis restarts without persistence, fails over to a replica that had not
//! seen them, or someone deletes the key. Commands then fail with `NOGROUP`; the paths that can meet it
//! re-create every partition's group and carry on instead of failing until an operator steps in.

use tracing::warn;
use xwebhook_engine::store::StoreResult;

use super::GROUP;
use super::layout::Lane;
use crate::RedisStore;
use crate::error::Context as _;

/// Whether Redis answered that the stream or its group does not exist. A read blocked on a stream that is
/// deleted meanwhile is released with `UNBLOCKED`, which calls for the same repair.
pub(super) fn is_missing_group(e: &redis::RedisError) -> bool {
    matches!(e.code(), Some("NOGROUP" | "UNBLOCKED")) || {
        let text = e.to_string();
        text.contains("NOGROUP") || text.contains("UNBLOCKED")
    }
}

impl RedisStore {
    /// Creates every partition's ready streams (both lanes) and consumer group where missing (idempotent).
    pub(crate) async fn prepare_queue(&self) -> StoreResult<()> {
        let mut conn = self.pool.get().await?;
        let streams = self
            .queue
            .parts
            .iter()
            .flat_map(|part| Lane::BOTH.map(|lane| part.stream(lane)));
        for stream in streams {
            // From id 0, not `$`: acknowledged entries are deleted, so whatever a stream still holds is
            // unfinished work, which a re-created group must deliver rather than skip.
            let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(stream)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut conn)
                .await;
            match created {
                Err(e) if e.code() != Some("BUSYGROUP") => {
                    return Err(e).redis("cannot create the delivery queue's consumer group");
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// After a `NOGROUP`: re-creates the groups, logging (not returning) a failure, since the caller is about
    /// to retry or report its own error anyway. Failures go through one failure log, so a Redis that keeps
    /// refusing logs a line a minute, not one per receive.
    pub(super) async fn repair_groups(&self, during: &'static str) {
        match self.prepare_queue().await {
            Ok(()) => {
                self.queue.repairs.succeeded();
                warn!(
                    during,
                    "the delivery queue's stream or consumer group was missing; re-created it"
                );
            }
            Err(e) => {
                self.queue.repairs.failed(&e);
            }
        }
    }
}
