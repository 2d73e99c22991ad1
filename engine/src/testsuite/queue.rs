//! The delivery queue: leasing, acknowledgement with follow-up, reclaiming, promotion of due tasks.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::fixtures::*;
use crate::id::{MessageId, OrgId};
use crate::store::{DeliveryQueue, FollowUp, Leased, QueueDepths, Stores, Task};

const SHORT: Duration = Duration::from_millis(50);
const LONG: Duration = Duration::from_secs(10);

fn msg_ids<'a>(tasks: impl IntoIterator<Item = &'a Task>) -> BTreeSet<MessageId> {
    tasks.into_iter().map(|t| t.msg_id.clone()).collect()
}

fn leased_ids(leased: &[Leased]) -> BTreeSet<MessageId> {
    msg_ids(leased.iter().map(|l| &l.task))
}

/// Receives until `n` tasks arrived or `LONG` passed, without acknowledging.
async fn receive_n(q: &dyn DeliveryQueue, consumer: &str, n: usize) -> Vec<Leased> {
    let deadline = Instant::now() + LONG;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        got.extend(q.receive(consumer, n - got.len(), SHORT).await.expect("receive"));
    }
    got
}

/// Receives `n` tasks, then checks that no further task is ready.
async fn receive_exactly(q: &dyn DeliveryQueue, consumer: &str, n: usize) -> Vec<Leased> {
    let got = receive_n(q, consumer, n).await;
    assert_eq!(got.len(), n, "expected {n} ready tasks");
    let extra = q.receive(consumer, 10, SHORT).await.expect("receive");
    assert!(
        extra.is_empty(),
        "expected exactly {n} ready tasks, found {} more",
        extra.len()
    );
    got
}

pub async fn queue_enqueue_receive_finish(s: Stores) {
    let org = OrgId::generate();
    let tasks: Vec<Task> = (0..3).map(|_| task(&org)).collect();
    s.queue.enqueue(tasks.clone()).await.expect("enqueue");
    let leased = receive_exactly(&*s.queue, "c1", 3).await;
    assert_eq!(leased_ids(&leased), msg_ids(&tasks));
    assert!(leased.iter().all(|l| l.deliveries == 1), "first lease");
    let receipts: BTreeSet<_> = leased.iter().map(|l| l.receipt.0.clone()).collect();
    assert_eq!(receipts.len(), 3, "receipts are distinct");
    for l in &leased {
        s.queue
            .finish(&l.receipt, FollowUp::none())
            .await
            .expect("finish");
    }
    assert!(
        s.queue
            .receive("c1", 10, SHORT)
            .await
            .expect("receive")
            .is_empty(),
        "nothing left"
    );
    let reclaimed = s.queue.reclaim("c2", Duration::ZERO, 10).await.expect("reclaim");
    assert!(reclaimed.is_empty(), "finished tasks are not reclaimable");
    // Finishing twice is not an error.
    s.queue
        .finish(&leased[0].receipt, FollowUp::none())
        .await
        .expect("finish again");
}

pub async fn queue_consumers_never_share_tasks(s: Stores) {
    let org = OrgId::generate();
    let tasks: Vec<Task> = (0..120).map(|_| task(&org)).collect();
    s.queue.enqueue(tasks.clone()).await.expect("enqueue");
    let consume = |name: &'static str| {
        let q = s.queue.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let batch = q.receive(name, 7, SHORT).await.expect("receive");
                if batch.is_empty() {
                    return seen;
                }
                for l in batch {
                    q.finish(&l.receipt, FollowUp::none()).await.expect("finish");
                    seen.push(l.task.msg_id);
                }
            }
        })
    };
    let (a, b) = (consume("a"), consume("b"));
    let (a, b) = (a.await.expect("consumer a"), b.await.expect("consumer b"));
    let total = a.len() + b.len();
    let union: BTreeSet<MessageId> = a.iter().chain(&b).cloned().collect();
    assert_eq!(
        total,
        tasks.len(),
        "every task delivered once (a got {}, b got {})",
        a.len(),
        b.len()
    );
    assert_eq!(union, msg_ids(&tasks));
}

pub async fn queue_two_receivers_race_for_one_task(s: Stores) {
    let org = OrgId::generate();
    for round in 0..10 {
        let t = task(&org);
        s.queue.enqueue(vec![t.clone()]).await.expect("enqueue");
        let racer = |name: &'static str| {
            let q = s.queue.clone();
            tokio::spawn(async move { q.receive(name, 5, SHORT).await.expect("receive") })
        };
        let (a, b) = (racer("a"), racer("b"));
        let (a, b) = (a.await.expect("a"), b.await.expect("b"));
        let got: Vec<&Leased> = a.iter().chain(&b).collect();
        assert_eq!(got.len(), 1, "round {round}: exactly one receiver holds the task");
        assert_eq!(got[0].task, t);
        s.queue
            .finish(&got[0].receipt, FollowUp::none())
            .await
            .expect("finish");
    }
}

pub async fn queue_reclaims_dead_consumer(s: Stores) {
    let org = OrgId::generate();
    let t = task(&org);
    s.queue.enqueue(vec![t.clone()]).await.expect("enqueue");
    let first = receive_n(&*s.queue, "dead", 1).await;
    assert_eq!(first.len(), 1);
    let early = s.queue.reclaim("heir", LONG, 10).await.expect("reclaim");
    assert!(early.is_empty(), "a fresh lease is not reclaimed");
    assert!(
        s.queue
            .receive("heir", 10, SHORT)
            .await
            .expect("receive")
            .is_empty(),
        "leased, not ready"
    );

    tokio::time::sleep(Duration::from_millis(60)).await;
    let taken = s
        .queue
        .reclaim("heir", Duration::from_millis(30), 10)
        .await
        .expect("reclaim");
    assert_eq!(taken.len(), 1, "an idle lease is reclaimed");
    assert_eq!(taken[0].task, t);
    assert_eq!(taken[0].deliveries, 2, "the delivery count grows");
    // Far less than `LONG` has passed since the reclaim, however loaded the machine.
    let again = s.queue.reclaim("third", LONG, 10).await.expect("reclaim");
    assert!(again.is_empty(), "the reclaimed lease is fresh again");

    s.queue
        .finish(&taken[0].receipt, FollowUp::none())
        .await
        .expect("finish");
    tokio::time::sleep(Duration::from_millis(40)).await;
    let after = s
        .queue
        .reclaim("third", Duration::from_millis(30), 10)
        .await
        .expect("reclaim");
    assert!(after.is_empty(), "a finished task is gone");
}

pub async fn queue_finish_adds_follow_up_once(s: Stores) {
    let org = OrgId::generate();
    s.queue.enqueue(vec![task(&org)]).await.expect("enqueue");
    let fan_out = receive_n(&*s.queue, "c", 1).await.pop().expect("a task");
    let (d1, d2, retry) = (task(&org), task(&org), task(&org));
    let follow_up = FollowUp {
        enqueue: vec![d1.clone(), d2.clone()],
        schedule: vec![(retry.clone(), Utc::now() - chrono::Duration::seconds(1))],
    };
    s.queue
        .finish(&fan_out.receipt, follow_up.clone())
        .await
        .expect("finish");
    // A second acknowledgement of the same receipt (a reclaimed lease finished twice) adds nothing.
    s.queue
        .finish(&fan_out.receipt, follow_up)
        .await
        .expect("finish again");

    let ready = receive_exactly(&*s.queue, "c", 2).await;
    assert_eq!(
        leased_ids(&ready),
        msg_ids([&d1, &d2]),
        "enqueued follow-up is ready, once"
    );
    assert_eq!(
        s.queue.promote_due(Utc::now(), 100).await.expect("promote"),
        1,
        "scheduled follow-up, once"
    );
    let retried = receive_exactly(&*s.queue, "c", 1).await;
    assert_eq!(leased_ids(&retried), msg_ids([&retry]));
}

pub async fn queue_promotes_due_task_exactly_once(s: Stores) {
    let org = OrgId::generate();
    let now = Utc::now();
    let due: Vec<Task> = (0..20).map(|_| task(&org)).collect();
    let later = task(&org);
    let mut scheduled: Vec<_> = due
        .iter()
        .map(|t| (t.clone(), now - chrono::Duration::seconds(1)))
        .collect();
    scheduled.push((later.clone(), now + chrono::Duration::hours(1)));
    s.queue.schedule(scheduled).await.expect("schedule");
    assert!(
        s.queue.receive("c", 10, SHORT).await.expect("receive").is_empty(),
        "not ready before promotion"
    );

    let promoters: Vec<_> = (0..4)
        .map(|_| {
            let q = Arc::clone(&s.queue);
            tokio::spawn(async move { q.promote_due(now, 100).await.expect("promote") })
        })
        .collect();
    let mut moved = 0;
    for p in promoters {
        moved += p.await.expect("promoter");
    }
    assert_eq!(moved, 20, "each due task moved exactly once");
    let ready = receive_exactly(&*s.queue, "c", 20).await;
    assert_eq!(leased_ids(&ready), msg_ids(&due));
    assert_eq!(s.queue.promote_due(now, 100).await.expect("promote"), 0);
    let at_due = now + chrono::Duration::hours(1);
    assert_eq!(
        s.queue.promote_due(at_due, 100).await.expect("promote"),
        1,
        "due at its time"
    );
    let last = receive_exactly(&*s.queue, "c", 1).await;
    assert_eq!(leased_ids(&last), msg_ids([&later]));
}

pub async fn queue_receive_waits_and_wakes(s: Stores) {
    let org = OrgId::generate();
    let started = Instant::now();
    let nothing = s
        .queue
        .receive("c", 1, Duration::from_millis(200))
        .await
        .expect("receive");
    assert!(nothing.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "receive waited for work"
    );

    let q = s.queue.clone();
    let waiter = tokio::spawn(async move {
        let started = Instant::now();
        let got = q.receive("c", 1, Duration::from_secs(30)).await.expect("receive");
        (got, started.elapsed())
    });
    // Let the receiver park first; the assertion below holds even if it did not.
    tokio::time::sleep(SHORT).await;
    let t = task(&org);
    s.queue.enqueue(vec![t.clone()]).await.expect("enqueue");
    let (got, waited) = tokio::time::timeout(LONG, waiter)
        .await
        .expect("woken")
        .expect("waiter");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task, t);
    assert!(
        waited < Duration::from_secs(5),
        "woken by the enqueue, not by its timeout ({waited:?})"
    );
}

pub async fn queue_depths_count_each_state(s: Stores) {
    let org = OrgId::generate();
    let depths = |s: Stores| async move { s.queue.depths().await.expect("depths") };
    assert_eq!(
        depths(s.clone()).await,
        QueueDepths::default(),
        "a fresh queue is empty"
    );
    s.queue
        .enqueue(vec![task(&org), task(&org)])
        .await
        .expect("enqueue");
    let later = Utc::now() + chrono::Duration::hours(1);
    s.queue
        .schedule(vec![(task(&org), later)])
        .await
        .expect("schedule");
    let leased = s.queue.receive("c1", 1, LONG).await.expect("receive");
    assert_eq!(leased.len(), 1, "receive takes no more than asked");
    let expected = QueueDepths {
        ready: 1,
        in_flight: 1,
        scheduled: 1,
        dead_letter: 0,
    };
    assert_eq!(depths(s.clone()).await, expected);
    s.queue
        .finish(&leased[0].receipt, FollowUp::none())
        .await
        .expect("finish");
    assert_eq!(
        depths(s.clone()).await.in_flight,
        0,
        "finished work leaves the queue"
    );
}

/// Schedules `n` tasks already due and promotes them: a wave of retries, as after an endpoint outage.
async fn promote_wave(q: &dyn DeliveryQueue, org: &OrgId, n: usize) -> Vec<Task> {
    let due = Utc::now() - chrono::Duration::seconds(1);
    let tasks: Vec<Task> = (0..n).map(|_| task(org)).collect();
    let scheduled = tasks.iter().map(|t| (t.clone(), due)).collect();
    q.schedule(scheduled).await.expect("schedule");
    assert_eq!(q.promote_due(Utc::now(), n).await.expect("promote"), n);
    tasks
}

pub async fn queue_fresh_task_passes_a_wave_of_retries(s: Stores) {
    let org = OrgId::generate();
    let retries = promote_wave(&*s.queue, &org, 200).await;
    let fresh = task(&org);
    s.queue.enqueue(vec![fresh.clone()]).await.expect("enqueue");
    let batch = s.queue.receive("c", 10, LONG).await.expect("receive");
    assert!(
        batch.iter().any(|l| l.task == fresh),
        "the first batch holds the fresh task, enqueued after 200 ready retries"
    );
    assert_eq!(batch.len(), 10, "retries fill what the fresh lane leaves");
    let retried = msg_ids(&retries);
    assert!(
        batch
            .iter()
            .filter(|l| l.task != fresh)
            .all(|l| retried.contains(&l.task.msg_id)),
        "the rest of the batch is retries"
    );

    // Leases of both lanes are reclaimed and finished alike.
    let taken = s
        .queue
        .reclaim("heir", Duration::ZERO, 10)
        .await
        .expect("reclaim");
    assert_eq!(
        leased_ids(&taken),
        leased_ids(&batch),
        "both lanes' leases reclaimed"
    );
    for l in &taken {
        s.queue
            .finish(&l.receipt, FollowUp::none())
            .await
            .expect("finish");
    }
    let depths = s.queue.depths().await.expect("depths");
    assert_eq!((depths.ready, depths.in_flight), (191, 0));
}

pub async fn queue_batches_of_one_alternate_lanes(s: Stores) {
    let org = OrgId::generate();
    let retries = msg_ids(&promote_wave(&*s.queue, &org, 3).await);
    let fresh: Vec<Task> = (0..3).map(|_| task(&org)).collect();
    s.queue.enqueue(fresh.clone()).await.expect("enqueue");
    let mut got = Vec::new();
    for _ in 0..2 {
        got.extend(s.queue.receive("c", 1, LONG).await.expect("receive"));
    }
    let ids = leased_ids(&got);
    assert_eq!(ids.len(), 2);
    assert_eq!(
        ids.intersection(&retries).count(),
        1,
        "two batches of one take one task from each lane"
    );
}

pub async fn queue_due_retry_passes_a_wave_of_fresh_tasks(s: Stores) {
    let org = OrgId::generate();
    s.queue
        .enqueue((0..200).map(|_| task(&org)).collect())
        .await
        .expect("enqueue");
    let retry = promote_wave(&*s.queue, &org, 1).await;
    let batch = s.queue.receive("c", 10, LONG).await.expect("receive");
    assert!(
        batch.iter().any(|l| l.task == retry[0]),
        "the first batch holds the retry, promoted after 200 ready fresh tasks"
    );
    assert_eq!(batch.len(), 10);
    assert_eq!(
        s.queue.depths().await.expect("depths").ready,
        191,
        "ready counts both lanes"
    );
}
