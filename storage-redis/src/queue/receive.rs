//! Leasing ready tasks: a non-blocking sweep over the partitions, then a blocking read when nothing was ready.
//!
//! - Sweep: on a single node one script reads every partition's two lanes in turn (a rotating start keeps
//!   partitions fair), each lane up to its reserved share of the batch, then, when a lane stopped at its share
//!   and the batch is not full, fills the rest from either lane: a lane only gives up what the other leaves
//!   unused. On a cluster the script runs once per partition, since one command cannot span slots, and the
//!   fill is a second pass over the partitions.
//! - Block: on a single node one `XREADGROUP … BLOCK` waits on every stream at once for the whole remaining
//!   wait. On a cluster it cannot, so it blocks on one partition's two lanes (rotating) for at most
//!   [`CLUSTER_BLOCK_SLICE`] and sweeps again: work arriving on another partition waits at most one slice, at
//!   the price of one sweep per slice while idle.
//!
//! A read cancelled by the caller (shutdown) may still lease entries on the server; nobody finishes them, so
//! they are reclaimed after the visibility timeout: delivered late, never lost.

use std::time::Duration;

use redis::streams::StreamReadReply;
use tokio::time::Instant;
use tracing::warn;
use xwebhook_engine::store::{LaneShares, Leased, StoreError, StoreErrorKind, StoreResult};

use super::blocking::BlockingConn;
use super::groups::is_missing_group;
use super::layout::{Lane, receipt};
use super::scripts;
use super::{GROUP, decode_task};
use crate::RedisStore;
use crate::conn::Conn;
use crate::error::{Context as _, redis_err};

/// How long one blocking read lasts on a cluster before the other partitions are swept again.
pub(super) const CLUSTER_BLOCK_SLICE: Duration = Duration::from_millis(100);
/// How much longer than its `BLOCK` we wait for a blocking read's reply before giving up on the connection.
pub(super) const BLOCK_GRACE: Duration = Duration::from_secs(5);

/// An entry just read: its partition, lane, entry id and raw task.
pub(super) struct Read {
    pub partition: u16,
    pub lane: Lane,
    pub id: String,
    pub raw: String,
}

/// Leases up to `max` ready tasks for `consumer`, waiting up to `wait` for some when none is ready.
pub(super) async fn receive(
    store: &RedisStore,
    consumer: &str,
    max: usize,
    wait: Duration,
) -> StoreResult<Vec<Leased>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let deadline = Instant::now() + wait;
    loop {
        let reads = store.sweep(consumer, max).await?;
        if !reads.is_empty() {
            return store.lease(reads).await;
        }
        // Redis reads `BLOCK 0` as "forever": below a millisecond there is nothing left to wait for.
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Ok(Vec::new());
        }
        let reads = store.block(consumer, max, left).await?;
        if !reads.is_empty() {
            return store.lease(reads).await;
        }
    }
}

impl RedisStore {
    /// Partitions in the order to read them this time; the start rotates from call to call.
    pub(super) fn rotation(&self) -> Vec<u16> {
        let n = self.queue.partitions;
        let start = u16::try_from(self.queue.next_start() % usize::from(n)).unwrap_or(0);
        (start..n).chain(0..start).collect()
    }

    /// Reads up to `max` ready entries without blocking: each lane up to its reserved share, then, if a lane
    /// stopped at its share, the rest of the batch from either. Streams that lost their group are repaired,
    /// and swept once more if nothing else was ready.
    async fn sweep(&self, consumer: &str, max: usize) -> StoreResult<Vec<Read>> {
        let order = self.rotation();
        let mut conn = self.pool.get().await?;
        let reserved = self.queue.reserved(max);
        let (mut reads, missing) = self
            .sweep_once(&mut conn, &order, consumer, reserved, max)
            .await?;
        if self.queue.cluster {
            let more = self
                .fill(&mut conn, &order, consumer, reserved, &reads, max)
                .await?;
            reads.extend(more);
        }
        if missing == 0 {
            return Ok(reads);
        }
        self.repair_groups("receive").await;
        if !reads.is_empty() {
            return Ok(reads);
        }
        let (reads, _) = self
            .sweep_once(&mut conn, &order, consumer, reserved, max)
            .await?;
        Ok(reads)
    }

    /// On a cluster each sweep call sees one partition, so the batch cannot be filled inside it as on a single
    /// node: a second pass over the partitions takes the rest of the batch from either lane, when a lane
    /// stopped at its share (perhaps zero, in a batch of one) and so may hold more.
    async fn fill(
        &self,
        conn: &mut Conn,
        order: &[u16],
        consumer: &str,
        reserved: LaneShares,
        reads: &[Read],
        max: usize,
    ) -> StoreResult<Vec<Read>> {
        let left = max.saturating_sub(reads.len());
        let taken = lanes_of(reads);
        if left == 0 || (taken.fresh < reserved.fresh && taken.retry < reserved.retry) {
            return Ok(Vec::new());
        }
        let fill = LaneShares {
            fresh: left,
            retry: left,
        };
        let (more, _) = self.sweep_once(conn, order, consumer, fill, left).await?;
        Ok(more)
    }

    /// Entries read, at most `shares` of each lane and `max` in all, and how many streams had no group.
    async fn sweep_once(
        &self,
        conn: &mut Conn,
        order: &[u16],
        consumer: &str,
        shares: LaneShares,
        max: usize,
    ) -> StoreResult<(Vec<Read>, u64)> {
        // One script over all streams on a single node; one per partition on a cluster.
        let chunk = if self.queue.cluster { 1 } else { order.len().max(1) };
        let (mut reads, mut missing) = (Vec::new(), 0);
        for group in order.chunks(chunk) {
            let taken = lanes_of(&reads);
            let left = max.saturating_sub(reads.len());
            if left == 0 {
                break;
            }
            let mut call = scripts::SWEEP.prepare_invoke();
            for &p in group {
                for lane in Lane::BOTH {
                    call.key(self.queue.parts[usize::from(p)].stream(lane));
                }
            }
            call.arg(GROUP).arg(consumer);
            call.arg(shares.fresh.saturating_sub(taken.fresh))
                .arg(shares.retry.saturating_sub(taken.retry))
                .arg(left)
                .arg(u8::from(!self.queue.cluster));
            let (got, lost): (Vec<(usize, String, String)>, u64) = call
                .invoke_async(conn)
                .await
                .redis("cannot read the delivery queue")?;
            missing += lost;
            for (k, id, raw) in got {
                // The script numbers keys from 1, in the order they were passed: (fresh, retry) per partition.
                let Some(i) = k.checked_sub(1) else { continue };
                let Some(&partition) = group.get(i / 2) else {
                    continue;
                };
                let lane = Lane::BOTH[i % 2];
                reads.push(Read {
                    partition,
                    lane,
                    id,
                    raw,
                });
            }
        }
        Ok((reads, missing))
    }

    /// Waits up to `left` for new entries. A missing group is repaired and reported as nothing read, so the
    /// caller sweeps again.
    async fn block(&self, consumer: &str, max: usize, left: Duration) -> StoreResult<Vec<Read>> {
        let (partitions, block) = if self.queue.cluster {
            let next = self.rotation().first().copied().unwrap_or(0);
            (vec![next], left.min(CLUSTER_BLOCK_SLICE))
        } else {
            (self.rotation(), left)
        };
        let mut conn = self.queue.blocking.take().await?;
        let read = tokio::time::timeout(
            block + BLOCK_GRACE,
            self.blocking_read(&mut conn, &partitions, consumer, max, block),
        )
        .await;
        let reads = match read {
            Ok(Ok(reads)) => reads,
            Ok(Err(e)) if is_missing_group(&e) => {
                self.repair_groups("blocking receive").await;
                return Ok(Vec::new());
            }
            Ok(Err(e)) => return Err(redis_err("cannot wait on the delivery queue", e)),
            Err(_) => {
                return Err(StoreError::new(
                    StoreErrorKind::Timeout,
                    "Redis did not end a blocking read of the delivery queue in time",
                ));
            }
        };
        self.queue.blocking.give_back(conn);
        self.release_extra(reads, max).await
    }

    async fn blocking_read(
        &self,
        conn: &mut BlockingConn,
        partitions: &[u16],
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> redis::RedisResult<Vec<Read>> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(GROUP).arg(consumer).arg("COUNT").arg(max);
        cmd.arg("BLOCK").arg(block.as_millis().max(1)).arg("STREAMS");
        for &p in partitions {
            for lane in Lane::BOTH {
                cmd.arg(self.queue.parts[usize::from(p)].stream(lane));
            }
        }
        for _ in 0..partitions.len() * Lane::BOTH.len() {
            cmd.arg(">");
        }
        let reply: Option<StreamReadReply> = cmd.query_async(conn).await?;
        let mut reads = Vec::new();
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            let Some((partition, lane)) = self.queue.stream_owner(&stream.key) else {
                continue;
            };
            for entry in stream.ids {
                let raw = entry.get::<String>("t").unwrap_or_default();
                reads.push(Read {
                    partition,
                    lane,
                    id: entry.id,
                    raw,
                });
            }
        }
        Ok(reads)
    }

    /// `COUNT` applies to each stream of an `XREADGROUP`: when several streams filled up during one block, more
    /// than `max` entries may come back. What the batch keeps is shared between the lanes as a sweep would
    /// share it; the surplus goes back to the end of its stream, unleased.
    async fn release_extra(&self, reads: Vec<Read>, max: usize) -> StoreResult<Vec<Read>> {
        if reads.len() <= max {
            return Ok(reads);
        }
        let ready = lanes_of(&reads);
        let mut keep = LaneShares::take(max, ready.fresh, ready.retry, self.queue.odd_to_fresh());
        let (mut kept, mut extra) = (Vec::with_capacity(max), Vec::new());
        for r in reads {
            let share = match r.lane {
                Lane::Fresh => &mut keep.fresh,
                Lane::Retry => &mut keep.retry,
            };
            if *share > 0 {
                *share -= 1;
                kept.push(r);
            } else {
                extra.push(r);
            }
        }
        let mut conn = self.pool.get().await?;
        for r in extra {
            let stream = self.queue.parts[usize::from(r.partition)].stream(r.lane);
            let _: i64 = scripts::REQUEUE
                .key(stream)
                .key(stream)
                .arg(GROUP)
                .arg(&r.id)
                .arg("")
                .invoke_async(&mut conn)
                .await
                .redis("cannot hand back a surplus lease")?;
        }
        Ok(kept)
    }

    /// Freshly read entries as leases (delivered once so far); undecodable ones are buried, not returned.
    async fn lease(&self, reads: Vec<Read>) -> StoreResult<Vec<Leased>> {
        let mut leased = Vec::with_capacity(reads.len());
        for r in reads {
            match decode_task(&r.raw) {
                Ok(task) => leased.push(Leased {
                    receipt: receipt(r.partition, r.lane, &r.id),
                    task,
                    deliveries: 1,
                }),
                Err(e) => {
                    warn!(partition = r.partition, entry = %r.id, error = %e, "burying an undecodable task");
                    self.bury(r.partition, r.lane, &r.id, &format!("undecodable task: {e}"))
                        .await?;
                }
            }
        }
        Ok(leased)
    }
}

/// How many of `reads` each lane gave.
fn lanes_of(reads: &[Read]) -> LaneShares {
    let fresh = reads.iter().filter(|r| r.lane == Lane::Fresh).count();
    LaneShares {
        fresh,
        retry: reads.len() - fresh,
    }
}
