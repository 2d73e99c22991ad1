//! Finishes grouped into one script call land exactly as the same finishes made one after the other would:
//! each acknowledged entry adds its own follow-ups, once, and a receipt finished twice adds one set of them.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use xwebhook_engine::id::MessageId;
use xwebhook_engine::store::{DeliveryQueue, FollowUp, Leased, Task};

use super::task;
use crate::support::store;

const LEASES: usize = 60;

/// How many times each message id appears.
fn counts<'a>(tasks: impl IntoIterator<Item = &'a Task>) -> BTreeMap<MessageId, usize> {
    let mut counts = BTreeMap::new();
    for t in tasks {
        *counts.entry(t.msg_id.clone()).or_default() += 1;
    }
    counts
}

/// Receives until `n` tasks arrived; each receive waits briefly, so a missing task ends the loop.
async fn receive_all(q: &dyn DeliveryQueue, n: usize) -> Vec<Leased> {
    let mut got = Vec::new();
    loop {
        let more = q
            .receive("c", n.max(1), Duration::from_millis(100))
            .await
            .expect("receive");
        if more.is_empty() {
            return got;
        }
        got.extend(more);
    }
}

/// Follow-ups of lease `i`: one or two ready tasks, and every third lease a retry already due.
fn follow_up(i: usize) -> FollowUp {
    let due = Utc::now() - chrono::Duration::seconds(1);
    FollowUp {
        enqueue: (0..=i % 2).map(|_| task()).collect(),
        schedule: if i % 3 == 0 {
            vec![(task(), due)]
        } else {
            Vec::new()
        },
    }
}

/// When a receipt's second finish runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Twice {
    /// Beside the first, in the same group: one of the two takes. A single node decides that in one script.
    Together,
    /// Once every first finish returned. On a cluster, two finishes of one receipt at the same moment may
    /// both add their follow-ups bound for other partitions (the duplicates `finish.rs` accepts there).
    After,
}

/// Finishes `LEASES` leases at once (a third of them twice, with different follow-ups each time), then checks
/// that every lease is gone and that exactly one set of follow-ups per lease exists, each task once.
pub async fn concurrent_finishes_land_as_sequential_ones(q: &dyn DeliveryQueue, twice: Twice) {
    q.enqueue((0..LEASES).map(|_| task()).collect())
        .await
        .expect("enqueue");
    let leased = receive_all(q, LEASES).await;
    assert_eq!(leased.len(), LEASES);
    let firsts: Vec<FollowUp> = (0..LEASES).map(follow_up).collect();
    let seconds: Vec<Option<FollowUp>> = (0..LEASES)
        .map(|i| (i % 3 == 1).then(|| follow_up(i + 1)))
        .collect();
    // Polled together, every finish is queued before the first group leaves: they share script calls.
    let first = leased
        .iter()
        .zip(&firsts)
        .map(|(l, f)| q.finish(&l.receipt, f.clone()));
    let second = leased
        .iter()
        .zip(&seconds)
        .filter_map(|(l, f)| Some(q.finish(&l.receipt, f.clone()?)));
    let results = match twice {
        Twice::Together => join_all(first.chain(second)).await,
        Twice::After => {
            let mut results = join_all(first).await;
            results.extend(join_all(second).await);
            results
        }
    };
    for result in results {
        result.expect("finish");
    }

    let promoted = q.promote_due(Utc::now(), 1000).await.expect("promote");
    let ready = receive_all(q, 1000).await;
    let depths = q.depths().await.expect("depths");
    assert_eq!(depths.scheduled, 0, "every follow-up was due");
    assert_eq!(
        depths.in_flight,
        ready.len() as u64,
        "the finished leases are gone"
    );
    let landed = counts(ready.iter().map(|l| &l.task));
    let winners: Vec<&FollowUp> = (0..LEASES)
        .map(|i| winner(&landed, &firsts[i], seconds[i].as_ref()))
        .collect();
    // Equal counts: each winner's follow-ups all landed, once, and nothing of a loser did.
    assert_eq!(landed, counts(winners.iter().flat_map(|f| tasks_of(f))));
    let scheduled: usize = winners.iter().map(|f| f.schedule.len()).sum();
    assert_eq!(promoted, scheduled);
}

fn tasks_of(f: &FollowUp) -> impl Iterator<Item = &Task> {
    f.enqueue.iter().chain(f.schedule.iter().map(|(t, _)| t))
}

/// The finish of a lease whose follow-ups landed: the second if its first ready task did, else the first.
fn winner<'a>(
    landed: &BTreeMap<MessageId, usize>,
    first: &'a FollowUp,
    second: Option<&'a FollowUp>,
) -> &'a FollowUp {
    match second {
        Some(second) if landed.contains_key(&second.enqueue[0].msg_id) => second,
        _ => first,
    }
}

#[tokio::test]
async fn concurrent_finishes_land_as_sequential_ones_on_one_node() {
    let (q, _guard) = store().await;
    concurrent_finishes_land_as_sequential_ones(&*q, Twice::Together).await;
}
