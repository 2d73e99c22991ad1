//! Background tasks: kept per organization and listed in id order; claimed by one runner at a time; taken over
//! when a lease lapses, the old holder fenced off; never claimed once they end.

use std::time::Duration;

use chrono::Utc;

use crate::domain::{BackgroundTask, Job, TaskStatus};
use crate::id::{AppId, EndpointId, OrgId};
use crate::store::{ListQuery, Order, Stores};

const LONG: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_millis(300);

fn replay(org: &OrgId) -> BackgroundTask {
    let job = Job::ReplayMissing {
        app_id: AppId::generate(),
        endpoint_id: EndpointId::generate(),
        since: Utc::now(),
        until: None,
    };
    BackgroundTask::new(org.clone(), job, Utc::now())
}

async fn created(s: &Stores, org: &OrgId) -> BackgroundTask {
    let task = replay(org);
    s.background_tasks.create_task(&task).await.expect("create");
    task
}

pub async fn background_tasks_are_kept_per_organization(s: Stores) {
    let (org, other) = (OrgId::generate(), OrgId::generate());
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(created(&s, &org).await);
    }
    let theirs = created(&s, &other).await;
    let tasks = &s.background_tasks;
    assert_eq!(
        tasks.get_task(&org, &mine[1].id).await.expect("get"),
        Some(mine[1].clone())
    );
    assert_eq!(
        tasks.get_task(&org, &theirs.id).await.expect("get"),
        None,
        "tenant-scoped"
    );
    let first_two = ListQuery::first(2, Order::Ascending);
    let listed = tasks.list_tasks(&org, &first_two).await.expect("list");
    let ids: Vec<_> = listed.iter().map(|t| t.id.clone()).collect();
    let mut expected: Vec<_> = mine.iter().map(|t| t.id.clone()).collect();
    expected.sort();
    assert_eq!(ids, expected[..3], "in id order, one more than the page");
    let newest = tasks
        .list_tasks(&org, &ListQuery::first(1, Order::Descending))
        .await
        .expect("list");
    assert_eq!(newest[0].id, expected[2]);
}

pub async fn background_task_is_claimed_by_one_runner_at_a_time(s: Stores) {
    let org = OrgId::generate();
    for round in 0..5 {
        let task = created(&s, &org).await;
        let racer = |owner: &'static str| {
            let tasks = s.background_tasks.clone();
            tokio::spawn(async move { tasks.claim_task(owner, LONG).await.expect("claim") })
        };
        let (a, b) = (racer("a"), racer("b"));
        let (a, b) = (a.await.expect("a"), b.await.expect("b"));
        let claims: Vec<_> = a.iter().chain(&b).collect();
        assert_eq!(
            claims.len(),
            1,
            "round {round}: exactly one runner holds the task"
        );
        assert_eq!(claims[0].id, task.id);
        let winner = if a.is_some() { "a" } else { "b" };
        let finished = BackgroundTask {
            status: TaskStatus::Finished,
            progress: 3,
            ..task
        };
        assert!(
            s.background_tasks
                .save_task(&finished, winner, LONG)
                .await
                .expect("save")
        );
        assert_eq!(
            s.background_tasks.claim_task("c", LONG).await.expect("claim"),
            None,
            "a finished task is never claimed"
        );
        let read = s
            .background_tasks
            .get_task(&org, &finished.id)
            .await
            .expect("get");
        assert_eq!(read, Some(finished));
    }
}

pub async fn background_task_lease_lapses_and_the_old_holder_is_fenced_off(s: Stores) {
    let org = OrgId::generate();
    let task = created(&s, &org).await;
    let tasks = &s.background_tasks;
    assert!(tasks.claim_task("dead", SHORT).await.expect("claim").is_some());
    assert_eq!(
        tasks.claim_task("heir", LONG).await.expect("claim"),
        None,
        "a live lease holds"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let taken = loop {
        if let Some(taken) = tasks.claim_task("heir", LONG).await.expect("claim") {
            break taken;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lapsed lease was never taken over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(taken.id, task.id);
    let stale = BackgroundTask {
        cursor: Some("from the dead".into()),
        ..task.clone()
    };
    assert!(
        !tasks.save_task(&stale, "dead", LONG).await.expect("save"),
        "the old holder is fenced off"
    );
    let progress = BackgroundTask {
        cursor: Some("msg_2".into()),
        progress: 2,
        ..task
    };
    assert!(tasks.save_task(&progress, "heir", LONG).await.expect("save"));
    assert_eq!(
        tasks.get_task(&org, &progress.id).await.expect("get"),
        Some(progress)
    );
}
