//! Embedded-only guarantees: what was acknowledged is there after a reopen, and concurrent writes share commits.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use xwebhook_engine::domain::{Application, Message};
use xwebhook_engine::id::{AppId, MessageId, OrgId};
use xwebhook_engine::store::{
    ApplicationStore, DeliveryQueue, FollowUp, MessageStore, Receipt, Ref, StoreErrorKind, Task,
};
use xwebhook_engine::testsuite::fixtures;
use xwebhook_storage_embedded::EmbeddedStore;

fn app(org: &OrgId) -> Application {
    fixtures::application(org, Some("kept"))
}

fn message(org: &OrgId, app: &AppId, event_id: &str) -> Message {
    fixtures::message(org, app, "a.b", Some(event_id), &[])
}

fn task(org: &OrgId) -> Task {
    Task::fan_out(org.clone(), AppId::generate(), MessageId::generate(), None)
}

fn ids(tasks: &[Task]) -> BTreeSet<MessageId> {
    tasks.iter().map(|t| t.msg_id.clone()).collect()
}

/// What a first run of the store acknowledged before it went away.
struct FirstRun {
    org: OrgId,
    app: Application,
    msg: Message,
    ready: Vec<Task>,
    due: Task,
    receipts: Vec<Receipt>,
}

/// Writes records and tasks, leases one task and never finishes it, then drops the store (closing the file).
async fn first_run(dir: &Path) -> FirstRun {
    let org = OrgId::generate();
    let (app, due, later) = (app(&org), task(&org), task(&org));
    let msg = message(&org, &app.id, "evt");
    let ready = vec![task(&org), task(&org)];
    let store = EmbeddedStore::open(dir).expect("open");
    store.create_application(&app).await.expect("create app");
    store.create_message(&msg, &[]).await.expect("create message");
    store.enqueue(ready.clone()).await.expect("enqueue");
    let now = Utc::now();
    let scheduled = vec![(due.clone(), now), (later, now + chrono::Duration::hours(1))];
    store.schedule(scheduled).await.expect("schedule");
    let leased = store
        .receive("doomed", 1, Duration::from_secs(1))
        .await
        .expect("receive");
    assert_eq!(leased.len(), 1);
    let receipts = leased.into_iter().map(|l| l.receipt).collect();
    FirstRun {
        org,
        app,
        msg,
        ready,
        due,
        receipts,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_acknowledged_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let first = first_run(dir.path()).await;
    let (org, a) = (&first.org, &first.app);

    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    let got = store
        .get_application(org, &Ref::Uid("kept".parse().expect("uid")))
        .await;
    assert_eq!(got.expect("get").as_ref(), Some(a));
    let msg = store.get_message(org, &a.id, &first.msg.id).await.expect("get");
    assert_eq!(msg.as_ref(), Some(&first.msg));
    let dup = store.create_message(&message(org, &a.id, "evt"), &[]).await;
    assert_eq!(
        dup.map_err(|e| e.kind).err(),
        Some(StoreErrorKind::Conflict),
        "indexes survive too"
    );

    let again = store
        .receive("heir", 10, Duration::from_secs(1))
        .await
        .expect("receive");
    let again_tasks: Vec<Task> = again.iter().map(|l| l.task.clone()).collect();
    assert_eq!(
        ids(&again_tasks),
        ids(&first.ready),
        "every unfinished ready task is ready again"
    );
    assert_eq!(
        store.promote_due(Utc::now(), 10).await.expect("promote"),
        1,
        "the due task only"
    );
    let promoted = store
        .receive("heir", 10, Duration::from_secs(1))
        .await
        .expect("receive");
    assert_eq!(promoted.len(), 1);
    assert_eq!(promoted[0].task, first.due);
    // Sequence numbers are never reused, so an old receipt cannot acknowledge a new task.
    assert!(first.receipts.iter().all(|r| promoted[0].receipt != *r));
    for l in again.iter().chain(&promoted) {
        store.finish(&l.receipt, FollowUp::none()).await.expect("finish");
    }
    let at_later = Utc::now() + chrono::Duration::hours(2);
    assert_eq!(
        store.promote_due(at_later, 10).await.expect("promote"),
        1,
        "the later task waited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let (org, app_id) = (OrgId::generate(), AppId::generate());
    let before = store.write_stats();
    // 500 messages; every tenth reuses an eventId, so 50 of them must fail alone.
    let writers: Vec<_> = (0..500)
        .map(|i| {
            let store = Arc::clone(&store);
            let event = if i % 10 == 9 { i - 9 } else { i };
            let m = message(&org, &app_id, &format!("evt-{event}"));
            tokio::spawn(async move { (store.create_message(&m, &[]).await, m) })
        })
        .collect();
    let (mut created, mut conflicts) = (Vec::new(), 0);
    for w in writers {
        match w.await.expect("writer") {
            (Ok(()), m) => created.push(m),
            (Err(e), _) if e.kind == StoreErrorKind::Conflict => conflicts += 1,
            (Err(e), _) => panic!("unexpected failure: {e}"),
        }
    }
    assert_eq!(created.len(), 450);
    assert_eq!(conflicts, 50, "a conflict fails its own write only");
    for m in &created {
        assert_eq!(
            store
                .get_message(&org, &app_id, &m.id)
                .await
                .expect("get")
                .as_ref(),
            Some(m)
        );
    }
    let after = store.write_stats();
    assert_eq!(after.operations - before.operations, 500);
    assert!(
        after.commits - before.commits < 500,
        "500 concurrent writes took {} commits",
        after.commits - before.commits
    );
}
