//! Acknowledging finished leases in groups: the acknowledgements of many concurrent `finish` calls go to
//! Redis as one script call (one per partition on a cluster) instead of one call each.
//!
//! Each finish was its own `EVALSHA`; at thousands of deliveries a second, Redis spent more time starting
//! scripts than acknowledging. A [`Coalescer`] queues the acknowledgements (no added wait when idle: one goes
//! out at once if a writer is free; groups form only while earlier ones are in flight) and [`plan`] splits a
//! group into calls:
//! - on a single node, one call for the whole group (Redis does not check slots there);
//! - on a cluster, one call per partition: a script may only touch one slot, and a partition's keys share
//!   one (`finish.rs` has already added any follow-ups bound for other partitions);
//! - a call carries at most [`FOLLOW_UPS_PER_CALL`] follow-ups (but always at least one acknowledgement), so
//!   that one call of large fan-outs keeps Redis no longer than a single large fan-out did.
//!
//! Within a call each entry stays atomic: its follow-ups are added only if its own acknowledgement took (the
//! script is `scripts::FINISH`). A call that fails gives each of its entries the error; their leases stay
//! open, are reclaimed and run again, as when a single finish failed.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::join_all;
use xwebhook_engine::store::{Coalescer, GroupLimits, StoreResult};

use super::GROUP;
use super::layout::{Entry, Lane, PartitionKeys};
use super::schedule::{PartWork, Work};
use super::scripts;
use crate::conn::Pool;
use crate::error::Context as _;

const LIMITS: GroupLimits = GroupLimits {
    // The most acknowledgements one group carries; well below Lua's stack limit on a script's arguments.
    max_group: 128,
    // Two groups in flight: the next forms while one runs, and a slow call does not hold every finish back.
    writers: 2,
    // Finishes beyond this many waiting acknowledgements wait for room.
    queue: 128 * 8,
};

/// The most follow-up tasks one script call adds (tasks enqueued plus tasks scheduled), unless a single
/// entry has more.
const FOLLOW_UPS_PER_CALL: usize = 1024;

/// One lease to acknowledge, with the follow-ups to add if the acknowledgement takes.
#[derive(Debug)]
pub(super) struct Ack {
    pub partition: u16,
    pub lane: Lane,
    pub id: String,
    /// On a cluster, only the entry's own partition's work (see `finish.rs`).
    pub work: Work,
}

impl Ack {
    pub fn new(entry: Entry<'_>, work: Work) -> Self {
        Self {
            partition: entry.partition,
            lane: entry.lane,
            id: entry.id.to_owned(),
            work,
        }
    }

    fn follow_ups(&self) -> usize {
        self.work
            .values()
            .map(|w| w.enqueue.len() + w.schedule.len())
            .sum()
    }
}

/// The queue of acknowledgements and the task that writes them in groups.
pub(super) struct Acks {
    groups: Coalescer<Ack>,
}

impl Acks {
    /// Starts the writing task (it needs a tokio runtime); it ends when this is dropped. It holds the pool and
    /// the keys, not the store, so that dropping the store ends it.
    pub fn spawn(pool: Pool, parts: Arc<[PartitionKeys]>, cluster: bool) -> Self {
        let groups = Coalescer::spawn("queue's acknowledger", LIMITS, move |acks: Vec<Ack>| {
            let (pool, parts) = (pool.clone(), parts.clone());
            async move { write(&pool, &parts, cluster, &acks).await }
        });
        Self { groups }
    }

    /// Acknowledges one lease with its follow-ups, with whatever else is queued; returns once its call is done.
    /// An entry no longer pending is not an error: nothing of it is added.
    pub async fn submit(&self, ack: Ack) -> StoreResult<()> {
        self.groups.submit(ack).await
    }
}

/// Writes one group: its calls run concurrently, and each entry gets its call's result.
async fn write(pool: &Pool, parts: &[PartitionKeys], cluster: bool, acks: &[Ack]) -> Vec<StoreResult<()>> {
    let calls = plan(acks, cluster);
    let done = join_all(calls.iter().map(|call| run(pool, parts, acks, call))).await;
    let mut results = vec![Ok(()); acks.len()];
    for (call, result) in calls.iter().zip(done) {
        for &i in call {
            results[i] = result.clone();
        }
    }
    results
}

/// Splits a group into script calls, as indices into `acks` (the module doc says how).
fn plan(acks: &[Ack], cluster: bool) -> Vec<Vec<usize>> {
    let mut by_slot: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (i, ack) in acks.iter().enumerate() {
        let slot = if cluster { ack.partition } else { 0 };
        by_slot.entry(slot).or_default().push(i);
    }
    let mut calls = Vec::new();
    for indices in by_slot.into_values() {
        let (mut call, mut follow_ups) = (Vec::new(), 0);
        for i in indices {
            let n = acks[i].follow_ups();
            if !call.is_empty() && follow_ups + n > FOLLOW_UPS_PER_CALL {
                calls.push(std::mem::take(&mut call));
                follow_ups = 0;
            }
            call.push(i);
            follow_ups += n;
        }
        calls.push(call);
    }
    calls
}

/// One call of the finish script for the entries `call` picks out of `acks`.
async fn run(pool: &Pool, parts: &[PartitionKeys], acks: &[Ack], call: &[usize]) -> StoreResult<()> {
    let entries: Vec<&Ack> = call.iter().map(|&i| &acks[i]).collect();
    let mut conn = pool.get().await?;
    let _acknowledged: i64 = script_call(parts, &entries)
        .invoke_async(&mut conn)
        .await
        .redis("cannot finish delivery tasks")?;
    Ok(())
}

/// The finish script's keys and arguments (the script's doc gives the layout): each partition involved passes
/// its three keys once, and entries and follow-ups name partitions by their place in that list.
fn script_call(parts: &[PartitionKeys], entries: &[&Ack]) -> redis::ScriptInvocation<'static> {
    let mut places: BTreeMap<u16, usize> = BTreeMap::new();
    for ack in entries {
        places.insert(ack.partition, 0);
        places.extend(ack.work.keys().map(|&p| (p, 0)));
    }
    let mut call = scripts::FINISH.prepare_invoke();
    for (place, (&p, at)) in places.iter_mut().enumerate() {
        *at = place;
        let keys = &parts[usize::from(p)];
        call.key(&keys.fresh).key(&keys.retry).key(&keys.scheduled);
    }
    call.arg(GROUP);
    for ack in entries {
        let lane = match ack.lane {
            Lane::Fresh => 0,
            Lane::Retry => 1,
        };
        call.arg(places[&ack.partition])
            .arg(lane)
            .arg(&ack.id)
            .arg(ack.work.len());
        for (p, PartWork { enqueue, schedule }) in &ack.work {
            call.arg(places[p]).arg(enqueue.len()).arg(schedule.len());
            for json in enqueue {
                call.arg(json);
            }
            for (at, member) in schedule {
                call.arg(at).arg(member);
            }
        }
    }
    call
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(partition: u16, follow_ups: &[(u16, usize)]) -> Ack {
        let mut work = Work::new();
        for &(p, n) in follow_ups {
            work.entry(p).or_default().enqueue = vec!["{}".to_owned(); n];
        }
        Ack {
            partition,
            lane: Lane::Fresh,
            id: "1-0".to_owned(),
            work,
        }
    }

    #[test]
    fn a_single_node_finishes_a_group_in_one_call() {
        let acks: Vec<Ack> = (0..100u16).map(|i| ack(i % 8, &[((i + 1) % 8, 1)])).collect();
        assert_eq!(plan(&acks, false), vec![(0..100).collect::<Vec<_>>()]);
    }

    #[test]
    fn a_cluster_finishes_a_group_in_one_call_per_partition() {
        let acks: Vec<Ack> = (0..100u16).map(|i| ack(i % 4, &[(i % 4, 1)])).collect();
        let calls = plan(&acks, true);
        assert_eq!(calls.len(), 4);
        for call in &calls {
            let partition = acks[call[0]].partition;
            assert!(call.iter().all(|&i| acks[i].partition == partition));
            assert_eq!(call.len(), 25);
        }
    }

    #[test]
    fn large_follow_ups_split_a_call_but_every_entry_goes() {
        let acks = vec![
            ack(0, &[(1, 600)]),
            ack(0, &[(2, 600)]),
            ack(0, &[]),
            ack(0, &[(1, 5000)]),
            ack(0, &[(1, 1)]),
        ];
        assert_eq!(plan(&acks, false), vec![vec![0], vec![1, 2], vec![3], vec![4]]);
    }
}
