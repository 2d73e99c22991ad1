//! Leases that went quiet, and the dead-letter streams where tasks end up when they keep failing.
//!
//! `reclaim` takes over idle leases partition by partition, both lanes of each; a task already leased `max_deliveries` times is
//! not handed out again but moved, in the same script, to its partition's dead-letter stream, where it waits
//! for an operator (`redrive_dead_letters`). Undecodable entries are buried there too, with the reason.

use std::time::Duration;

use tracing::warn;
use xwebhook_engine::store::{Leased, StoreResult};

use super::groups::is_missing_group;
use super::layout::{Lane, receipt};
use super::{GROUP, QueueStats, decode_task};
use crate::RedisStore;
use crate::conn::Conn;
use crate::error::Context as _;

/// What the reclaim script returns for one stream: `{entry id, task, deliveries}` and how many it buried.
type Reclaimed = (Vec<(String, String, u32)>, u64);

/// What the stats script returns for one partition: fresh length and pending, retry length and pending,
/// scheduled, dead letters.
type PartitionDepths = (u64, u64, u64, u64, u64, u64);

/// Which leases `reclaim` takes over: idle at least `min_idle`, at most `max`, for `consumer`.
#[derive(Clone, Copy)]
struct Idle<'a> {
    consumer: &'a str,
    min_idle: Duration,
    max: usize,
}

impl RedisStore {
    pub(super) async fn reclaim_tasks(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> StoreResult<Vec<Leased>> {
        let mut conn = self.pool.get().await?;
        let mut leased = Vec::new();
        for p in self.rotation() {
            for lane in Lane::BOTH {
                if leased.len() >= max {
                    return Ok(leased);
                }
                let idle = Idle {
                    consumer,
                    min_idle,
                    max: max - leased.len(),
                };
                leased.extend(self.reclaim_stream(&mut conn, p, lane, idle).await?);
            }
        }
        Ok(leased)
    }

    /// Takes over the idle leases of one lane of partition `p`, burying those leased too often.
    async fn reclaim_stream(
        &self,
        conn: &mut Conn,
        p: u16,
        lane: Lane,
        idle: Idle<'_>,
    ) -> StoreResult<Vec<Leased>> {
        let keys = &self.queue.parts[usize::from(p)];
        let result: Result<Reclaimed, _> = self
            .queue
            .scripts
            .reclaim
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
        let _moved: i64 = self
            .queue
            .scripts
            .requeue
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

    /// `DeliveryQueue::redrive_dead_letters`: moves up to `max` dead-lettered tasks back to their retry
    /// streams as new entries, whose delivery count starts again (old work: it must not crowd out fresh). For operators, once the cause (a bug, a
    /// broken message) is fixed. Each partition moves in one script; returns how many moved.
    pub(super) async fn redrive(&self, max: usize) -> StoreResult<usize> {
        let mut conn = self.pool.get().await?;
        let mut moved = 0;
        for keys in &self.queue.parts {
            if moved >= max {
                break;
            }
            let n: usize = self
                .queue
                .scripts
                .redrive
                .key(&keys.dead)
                .key(&keys.retry)
                .arg(max - moved)
                .invoke_async(&mut conn)
                .await
                .redis("cannot redrive dead-lettered tasks")?;
            moved += n;
        }
        Ok(moved)
    }

    /// The queue's depths summed over partitions, for operators and tests. Each partition is read atomically,
    /// the whole is not: under load the figures are a close snapshot, not an exact one.
    /// - `ready`: entries of both lanes not leased to anyone (stream length minus pending: acknowledged entries
    ///   are deleted);
    /// - `in_flight`: entries leased and not yet finished;
    /// - `scheduled`: tasks parked until their due time;
    /// - `dead_letter`: tasks in the dead-letter streams.
    pub async fn queue_stats(&self) -> StoreResult<QueueStats> {
        let mut conn = self.pool.get().await?;
        let mut stats = QueueStats::default();
        for keys in &self.queue.parts {
            let (fresh, fresh_pending, retry, retry_pending, scheduled, dead): PartitionDepths = self
                .queue
                .scripts
                .stats
                .key(&keys.fresh)
                .key(&keys.retry)
                .key(&keys.scheduled)
                .key(&keys.dead)
                .arg(GROUP)
                .invoke_async(&mut conn)
                .await
                .redis("cannot read the delivery queue's depths")?;
            stats.ready += fresh.saturating_sub(fresh_pending) + retry.saturating_sub(retry_pending);
            stats.in_flight += fresh_pending + retry_pending;
            stats.scheduled += scheduled;
            stats.dead_letter += dead;
        }
        Ok(stats)
    }
}
