//! The engine's way in on a real store: a message is fanned out at ingest, its deliveries queued before it is
//! stored with their destinations (the intake order), unless it has too many endpoints; a scheduled message's
//! deliveries wait in the queue's schedule until its time; an example is queued before it is stored too; a
//! recovery queues one fresh scheduled delivery per failed destination in its window.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use xwebhook_engine::background_tasks::{TaskRunner, TaskRunnerConfig};
use xwebhook_engine::clock::SystemClock;
use xwebhook_engine::domain::{Destination, Job, Message, MessageStatus, TaskStatus, TriggerType};
use xwebhook_engine::id::{AppId, MessageId, OrgId};
use xwebhook_engine::intake::{Admission, INGEST_FAN_OUT_MAX, Intake};
use xwebhook_engine::store::{
    AttemptStore, BackgroundTasks, DeliverTask, DeliveryQueue, EndpointStore, FollowUp, Leased, ListQuery,
    MessageStore, Order, QueueDepths, Receipt, StoreResult, Stores, Task, TaskKind,
};
use xwebhook_engine::testsuite::fixtures::{destination, endpoint, message, name, next_millisecond};
use xwebhook_storage_embedded::EmbeddedStore;

/// The embedded queue, noting for each task queued whether its message was already stored.
struct StoredWhenQueued {
    store: Arc<EmbeddedStore>,
    seen: Mutex<Vec<(MessageId, bool)>>,
}

#[async_trait]
impl DeliveryQueue for StoredWhenQueued {
    async fn enqueue(&self, tasks: Vec<Task>) -> StoreResult<()> {
        for t in &tasks {
            let stored = self
                .store
                .get_message(&t.org_id, &t.app_id, &t.msg_id)
                .await?
                .is_some();
            self.seen.lock().expect("lock").push((t.msg_id.clone(), stored));
        }
        self.store.enqueue(tasks).await
    }
    async fn schedule(&self, tasks: Vec<(Task, DateTime<Utc>)>) -> StoreResult<()> {
        self.store.schedule(tasks).await
    }
    async fn receive(&self, consumer: &str, max: usize, wait: Duration) -> StoreResult<Vec<Leased>> {
        self.store.receive(consumer, max, wait).await
    }
    async fn finish(&self, receipt: &Receipt, follow_up: FollowUp) -> StoreResult<()> {
        self.store.finish(receipt, follow_up).await
    }
    async fn reclaim(&self, consumer: &str, min_idle: Duration, max: usize) -> StoreResult<Vec<Leased>> {
        self.store.reclaim(consumer, min_idle, max).await
    }
    async fn promote_due(&self, now: DateTime<Utc>, max: usize) -> StoreResult<usize> {
        self.store.promote_due(now, max).await
    }
    async fn depths(&self) -> StoreResult<QueueDepths> {
        self.store.depths().await
    }
}

async fn queued(queue: &dyn DeliveryQueue) -> Vec<Task> {
    let leased = queue
        .receive("t", 100, Duration::from_millis(10))
        .await
        .expect("receive");
    leased.into_iter().map(|l| l.task).collect()
}

/// The message's destinations, as its listing shows them.
async fn destinations_of(store: &EmbeddedStore, msg: &Message) -> Vec<Destination> {
    let all = ListQuery::first(100, Order::Ascending);
    store
        .list_destinations_by_message(&msg.org_id, &msg.app_id, &msg.id, &all)
        .await
        .expect("destinations")
}

/// A fresh store, and an intake on it whose queue notes whether each task's message was stored when it was
/// queued.
struct Spied {
    store: Arc<EmbeddedStore>,
    intake: Intake,
    spy: Arc<StoredWhenQueued>,
    _dir: tempfile::TempDir,
}

fn spied_intake() -> Spied {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    let spy = Arc::new(StoredWhenQueued {
        store: store.clone(),
        seen: Mutex::new(Vec::new()),
    });
    let mut stores = Stores::from_one(store.clone());
    stores.queue = spy.clone();
    Spied {
        store,
        intake: Intake::new(stores, Admission::default()),
        spy,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_message_is_fanned_out_at_ingest_its_deliveries_queued_before_it_is_stored() {
    let t = spied_intake();
    let (org, app) = (OrgId::generate(), AppId::generate());
    let subscribed = endpoint(&org, &app, None);
    let mut other_type = endpoint(&org, &app, None);
    other_type.event_types = Some([name("user.created")].into());
    let mut disabled = endpoint(&org, &app, None);
    disabled.disabled = true;
    for ep in [&subscribed, &other_type, &disabled] {
        t.store.create_endpoint(ep).await.expect("endpoint");
    }
    let msg = message(&org, &app, "invoice.paid", None, &[]);

    t.intake.accept(&msg).await.expect("accepted");

    let seen = t.spy.seen.lock().expect("lock").clone();
    assert_eq!(seen, vec![(msg.id.clone(), false)], "queued before it was stored");
    let deliver = DeliverTask::first(subscribed.id.clone(), TriggerType::Scheduled);
    let tasks = queued(t.spy.as_ref()).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].kind, TaskKind::Deliver(deliver), "no fan-out task");
    let destinations = destinations_of(&t.store, &msg).await;
    let pending: Vec<_> = destinations.iter().map(|d| (&d.endpoint_id, d.status)).collect();
    assert_eq!(pending, vec![(&subscribed.id, MessageStatus::Pending)]);
}

#[tokio::test]
async fn a_message_to_more_endpoints_than_ingest_fans_out_to_queues_one_fan_out_task() {
    let t = spied_intake();
    let (org, app) = (OrgId::generate(), AppId::generate());
    for _ in 0..=INGEST_FAN_OUT_MAX {
        t.store
            .create_endpoint(&endpoint(&org, &app, None))
            .await
            .expect("endpoint");
    }
    let msg = message(&org, &app, "invoice.paid", None, &[]);

    t.intake.accept(&msg).await.expect("accepted");

    let tasks = queued(t.spy.as_ref()).await;
    let fan_out = Task::fan_out(org.clone(), app.clone(), msg.id.clone(), None);
    assert_eq!(tasks, vec![fan_out]);
    let destinations = destinations_of(&t.store, &msg).await;
    assert!(destinations.is_empty(), "the fan-out task creates them");
}

#[tokio::test]
async fn an_example_is_queued_before_it_is_stored_and_goes_to_its_endpoint_only() {
    let t = spied_intake();
    let (org, app) = (OrgId::generate(), AppId::generate());
    let ep = endpoint(&org, &app, None);
    let example = message(&org, &app, "svix.ping", None, &[]);

    t.intake.send_example(&example, &ep).await.expect("accepted");

    let seen = t.spy.seen.lock().expect("lock").clone();
    assert_eq!(
        seen,
        vec![(example.id.clone(), false)],
        "queued before it was stored"
    );
    let stored = t.store.get_message(&org, &app, &example.id).await.expect("read");
    assert_eq!(stored.map(|m| m.id), Some(example.id.clone()));
    let tasks = queued(t.spy.as_ref()).await;
    let expected = DeliverTask::first(ep.id.clone(), TriggerType::Manual);
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].kind, TaskKind::Deliver(expected));
}

/// A recovery is a background task: the runner queues one scheduled delivery (with the whole retry schedule)
/// per failed destination of the endpoint in the window, marked as the task's, and finishes the task.
#[tokio::test]
async fn a_recovery_queues_one_scheduled_delivery_per_failed_destination_in_its_window() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    let stores = Stores::from_one(store.clone());
    let intake = Intake::new(stores.clone(), Admission::default());
    let (org, app) = (OrgId::generate(), AppId::generate());
    let ep = endpoint(&org, &app, None);
    let other = endpoint(&org, &app, None);
    for e in [&ep, &other] {
        store.create_endpoint(e).await.expect("endpoint");
    }
    let failed_before = message(&org, &app, "a.b", None, &[]);
    next_millisecond().await;
    let since = Utc::now();
    next_millisecond().await;
    let (failed, also_failed, succeeded) = (
        message(&org, &app, "a.b", None, &[]),
        message(&org, &app, "a.b", None, &[]),
        message(&org, &app, "a.b", None, &[]),
    );
    let rows = [
        destination(&failed_before, &ep.id, MessageStatus::Fail),
        destination(&failed, &ep.id, MessageStatus::Fail),
        destination(&also_failed, &ep.id, MessageStatus::Fail),
        destination(&succeeded, &ep.id, MessageStatus::Success),
        destination(&failed, &other.id, MessageStatus::Fail),
    ];
    store.create_destinations(&rows).await.expect("destinations");
    let job = Job::Recover {
        app_id: app.clone(),
        endpoint_id: ep.id.clone(),
        since,
        until: None,
    };
    let task = intake
        .start_task(org.clone(), job, Utc::now())
        .await
        .expect("started");

    let config = TaskRunnerConfig {
        owner: "runner".into(),
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(10),
        rate: NonZeroU32::new(1000).expect("non-zero"),
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(TaskRunner::new(stores, Arc::new(SystemClock), config).run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let done = loop {
        let read = store.get_task(&org, &task.id).await.expect("task");
        if let Some(done) = read.filter(|t| t.status == TaskStatus::Finished) {
            break done;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the recovery never finished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    shutdown.cancel();

    assert_eq!(done.progress, 2);
    let mut tasks = queued(store.as_ref()).await;
    tasks.sort_by(|a, b| a.msg_id.cmp(&b.msg_id));
    let fresh = |m: &Message| {
        let deliver = DeliverTask::replay(ep.id.clone(), task.id.clone(), TriggerType::Scheduled);
        Task::deliver(org.clone(), app.clone(), m.id.clone(), deliver, None)
    };
    let mut expected = vec![fresh(&failed), fresh(&also_failed)];
    expected.sort_by(|a, b| a.msg_id.cmp(&b.msg_id));
    assert_eq!(tasks, expected);
}

#[tokio::test]
async fn a_scheduled_message_is_stored_at_once_and_delivered_from_the_schedule_at_its_time() {
    let t = spied_intake();
    let (org, app) = (OrgId::generate(), AppId::generate());
    let ep = endpoint(&org, &app, None);
    t.store.create_endpoint(&ep).await.expect("endpoint");
    let at = Utc::now() + chrono::Duration::hours(1);
    let msg = Message {
        deliver_at: Some(at),
        ..message(&org, &app, "invoice.paid", None, &[])
    };

    t.intake.accept(&msg).await.expect("accepted");

    let depths = t.store.depths().await.expect("depths");
    assert_eq!((depths.ready, depths.scheduled), (0, 1), "{depths:?}");
    let stored = t.store.get_message(&org, &app, &msg.id).await.expect("read");
    assert_eq!(stored.and_then(|m| m.deliver_at), Some(at));
    let destinations = destinations_of(&t.store, &msg).await;
    let pending: Vec<_> = destinations.iter().map(|d| (&d.endpoint_id, d.status)).collect();
    assert_eq!(
        pending,
        vec![(&ep.id, MessageStatus::Pending)],
        "pending until then"
    );
    let early = at - chrono::Duration::seconds(1);
    assert_eq!(
        t.store.promote_due(early, 10).await.expect("promote"),
        0,
        "not before its time"
    );
    assert_eq!(t.store.promote_due(at, 10).await.expect("promote"), 1);
    let tasks = queued(t.spy.as_ref()).await;
    let deliver = DeliverTask::first(ep.id.clone(), TriggerType::Scheduled);
    assert_eq!(
        tasks.iter().map(|t| &t.kind).collect::<Vec<_>>(),
        vec![&TaskKind::Deliver(deliver)]
    );
}
