//! Leases that went quiet: `reclaim` takes over idle leases partition by partition, both lanes of each. A task
//! already leased `max_deliveries` times is not handed out again but buried, in the same script, in its
//! partition's dead-letter stream, where it waits for an operator (`dead_letters.rs`). Undecodable entries are
//! buried there too, with the reason (`bury`, which `receive` uses as well).

use std::time::Duration;

use tracing::warn;
use xwebhook_engine::store::{Leased, StoreResult};

use super::groups::is_missing_group;
use super::layout::{Lane, receipt};
use super::scripts;
use super::{GROUP, decode_task};
use crate::RedisStore;
use crate::conn::Conn;
use crate::error::Context as _;

/// What the reclaim script returns for one stream: `{entry id, task, deliveries}` and how many it buried.
type Reclaimed = (Vec<(String, String, u32)>, u64);

/// Which leases `reclaim` takes over: idle at least `min_idle`, at most `max`, for `consumer`.
#[derive(Clone, Copy)]
struct Idle<'a> {
    consumer: &'a str,
    min_idle: Duration,
    max: usize,
}

/// Takes over up to `max` leases of other consumers idle for `min_idle`, burying those leased too often.
pub(super) async fn reclaim(
    store: &RedisStore,
    consumer: &str,
    min_idle: Duration,
    max: usize,
) -> StoreResult<Vec<Leased>> {
    let mut conn = store.pool.get().await?;
    let mut leased = Vec::new();
    for p in store.rotation() {
        for lane in Lane::BOTH {
            if leased.len() >= max {
                return Ok(leased);
            }
            let idle = Idle {
                consumer,
                min_idle,
                max: max - leased.len(),
            };
            leased.extend(store.reclaim_stream(&mut conn, p, lane, idle).await?);
        }
    }
    Ok(leased)
}

impl RedisStore {
    /// Takes over the idle leases of one lane of partition `p`, burying those leased too often.
    async fn reclaim_stream(
        &self,
        conn: &mut Conn,
        p: u16,
        lane: Lane,
        idle: Idle<'_>,
    ) -> StoreResult<Vec<Leased>> {
        let keys = &self.queue.parts[usize::from(p)];
        let result: Result<Reclaimed, _> = scripts::RECLAIM
            .key(keys.stream(lane))
            .key(&keys.dead)
            .arg(GROUP)
            .arg(idle.consumer)
            .arg(u64::try_from(idle.min_idle.as_millis()).unwrap_or(u64::MAX))
            .arg(idle.max)
            .arg(self.config.max_deliveries)
            .invoke_async(conn)
            .await;
        let (claimed, dead) = match result {
            Ok(r) => r,
            // A lost group holds no leases: nothing to reclaim here once it exists again.
            Err(e) if is_missing_group(&e) => {
                self.repair_groups("reclaim").await;
                return Ok(Vec::new());
            }
            Err(e) => return Err(e).redis("cannot reclaim idle delivery tasks"),
        };
        if dead > 0 {
            warn!(
                partition = p,
                count = dead,
                "moved tasks leased too often to the dead-letter stream"
            );
        }
        let mut leased = Vec::with_capacity(claimed.len());
        for (id, raw, deliveries) in claimed {
            match decode_task(&raw) {
                Ok(task) => leased.push(Leased {
                    receipt: receipt(p, lane, &id),
                    task,
                    deliveries,
                }),
                Err(e) => {
                    warn!(partition = p, entry = %id, error = %e, "burying an undecodable task");
                    self.bury(p, lane, &id, &format!("undecodable task: {e}")).await?;
                }
            }
        }
        Ok(leased)
    }

    /// Moves a leased entry of `lane` to its partition's dead-letter stream, with the reason.
    pub(super) async fn bury(&self, partition: u16, lane: Lane, id: &str, reason: &str) -> StoreResult<()> {
        let keys = &self.queue.parts[usize::from(partition)];
        let _moved: i64 = scripts::REQUEUE
            .key(keys.stream(lane))
            .key(&keys.dead)
            .arg(GROUP)
            .arg(id)
            .arg(reason)
            .invoke_async(&mut self.pool.get().await?)
            .await
            .redis("cannot move a task to the dead-letter stream")?;
        Ok(())
    }
}
