//! Adding work: ready tasks (`XADD` to the fresh lane), parked tasks (`ZADD`), and the promotion of due parked
//! tasks to the retry lane.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use xwebhook_engine::store::{StoreResult, Task};

use super::encode_task;
use super::layout::partition_of;
use super::scripts;
use crate::RedisStore;
use crate::conn::Conn;
use crate::error::Context as _;

/// Work bound for one partition, encoded.
#[derive(Debug, Default)]
pub(super) struct PartWork {
    /// Task JSON to append to the fresh stream.
    pub enqueue: Vec<String>,
    /// (due ms, member) to add to the scheduled set.
    pub schedule: Vec<(i64, String)>,
}

/// Work by partition, partitions in order.
pub(super) type Work = BTreeMap<u16, PartWork>;

/// Appends ready tasks to their partitions' fresh lanes.
pub(super) async fn enqueue(store: &RedisStore, tasks: &[Task]) -> StoreResult<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let work = store.work(tasks, &[])?;
    store.add_work(&mut store.pool.get().await?, &work).await
}

/// Parks tasks in their partitions' scheduled sets until their due time.
pub(super) async fn schedule(store: &RedisStore, tasks: &[(Task, DateTime<Utc>)]) -> StoreResult<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let work = store.work(&[], tasks)?;
    store.add_work(&mut store.pool.get().await?, &work).await
}

/// One script per partition moves its due members: each moves exactly once however many processes
/// promote at the same time, and a process dying mid-way leaves each member either parked or ready. They
/// become ready in the retry lane, so a wave of them never stands ahead of fresh work.
pub(super) async fn promote_due(store: &RedisStore, now: DateTime<Utc>, max: usize) -> StoreResult<usize> {
    if max == 0 {
        return Ok(0);
    }
    let mut conn = store.pool.get().await?;
    let mut moved = 0;
    for p in store.rotation() {
        if moved >= max {
            break;
        }
        let keys = &store.queue.parts[usize::from(p)];
        let n: usize = scripts::PROMOTE
            .key(&keys.scheduled)
            .key(&keys.retry)
            .arg(now.timestamp_millis())
            .arg(max - moved)
            .invoke_async(&mut conn)
            .await
            .redis("cannot promote due delivery tasks")?;
        moved += n;
    }
    Ok(moved)
}

impl RedisStore {
    /// Encodes tasks and sorts them into their partitions.
    pub(super) fn work(&self, enqueue: &[Task], schedule: &[(Task, DateTime<Utc>)]) -> StoreResult<Work> {
        let n = self.queue.partitions;
        let mut work = Work::new();
        for task in enqueue {
            let json = encode_task(task)?;
            work.entry(partition_of(task, n)).or_default().enqueue.push(json);
        }
        for (task, due) in schedule {
            let member = self.queue.tokens.member(&encode_task(task)?);
            let at = due.timestamp_millis();
            work.entry(partition_of(task, n))
                .or_default()
                .schedule
                .push((at, member));
        }
        Ok(work)
    }

    /// Writes work with plain commands (no acknowledgement involved), each batch in `MULTI` so that it is added
    /// whole or not at all. On a single node one transaction carries it all. On a cluster a transaction cannot
    /// span slots, so there is one per partition, and a failure midway leaves the earlier partitions' tasks
    /// added: the caller's retry adds them again (duplicates, never loss).
    pub(super) async fn add_work(&self, conn: &mut Conn, work: &Work) -> StoreResult<()> {
        let per_call = if self.queue.cluster { 1 } else { work.len().max(1) };
        let parts: Vec<(&u16, &PartWork)> = work.iter().collect();
        for chunk in parts.chunks(per_call) {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for &(&p, w) in chunk {
                let keys = &self.queue.parts[usize::from(p)];
                for json in &w.enqueue {
                    pipe.cmd("XADD")
                        .arg(&keys.fresh)
                        .arg("*")
                        .arg("t")
                        .arg(json)
                        .ignore();
                }
                for (at, member) in &w.schedule {
                    pipe.cmd("ZADD").arg(&keys.scheduled).arg(at).arg(member).ignore();
                }
            }
            pipe.query_async::<()>(conn)
                .await
                .redis("cannot add delivery tasks")?;
        }
        Ok(())
    }
}
