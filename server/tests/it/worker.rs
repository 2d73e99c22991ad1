//! The delivery worker on a real store, without the API: tasks queued by hand, as the intake and a crashed
//! intake leave them.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use xwebhook_engine::clock::SystemClock;
use xwebhook_engine::delivery::{AddressPolicy, RecentMessages, Worker, WorkerConfig};
use xwebhook_engine::domain::TriggerType;
use xwebhook_engine::id::{AppId, BackgroundTaskId, MessageId, OrgId};
use xwebhook_engine::store::{DeliverTask, Stores, Task};
use xwebhook_engine::testsuite::fixtures::{application, endpoint, message};

use crate::delivery::header;
use crate::helpers::{Receiver, eventually};

/// Stores in `dir`, and a worker on them until the token is cancelled.
async fn running_worker(dir: &std::path::Path) -> (Stores, CancellationToken) {
    let stores = xwebhook::run::open_stores(&crate::helpers::test_config(dir, &[]))
        .await
        .expect("stores");
    let shutdown = CancellationToken::new();
    let worker = Worker::new(
        stores.clone(),
        WorkerConfig::new("t"),
        AddressPolicy::allow_all(),
        Arc::new(SystemClock),
        Arc::new(xwebhook_engine::operational::Discard),
        Arc::new(RecentMessages::new(RecentMessages::DEFAULT_BYTES)),
    );
    tokio::spawn(worker.run(shutdown.clone()));
    (stores, shutdown)
}

/// The intake queues a message's first work (a fan-out task, for a message to many endpoints) before it stores
/// the message; the worker must wait for a message that is not there yet, and drop the fan-out of one that will
/// never be (its insert failed long ago).
#[tokio::test]
async fn fan_out_waits_for_its_message_and_drops_orphans() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (stores, shutdown) = running_worker(dir.path()).await;
    let rx = Receiver::start().await;
    let org = OrgId::generate();
    let app = application(&org, None);
    let mut ep = endpoint(&org, &app.id, None);
    ep.url = rx.url("/late").try_into().expect("valid url");
    let msg = message(&org, &app.id, "a.b", None, &[]);
    let fan_out = |msg_id: MessageId, app_id: AppId| Task::fan_out(org.clone(), app_id, msg_id, None);

    stores
        .queue
        .enqueue(vec![fan_out(msg.id.clone(), app.id.clone())])
        .await
        .expect("enqueue");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stores.applications.create_application(&app).await.expect("app");
    stores.endpoints.create_endpoint(&ep).await.expect("endpoint");
    stores.messages.create_message(&msg, &[]).await.expect("message");
    let got = rx.wait_for("/late", 1).await;
    assert_eq!(header(&got[0], "webhook-id"), msg.id.as_str());

    let long_ago = MessageId::lower_bound_at(chrono::Utc::now() - chrono::Duration::minutes(10));
    stores
        .queue
        .enqueue(vec![fan_out(long_ago, app.id.clone())])
        .await
        .expect("enqueue");
    eventually("the orphan fan-out to be dropped", || async {
        let d = stores.queue.depths().await.expect("depths");
        (d.ready + d.in_flight + d.scheduled == 0).then_some(())
    })
    .await;
    shutdown.cancel();
}

/// A replay's runner may queue a message twice (it resumed a page after a crash); the worker sends it once per
/// replay, and a second replay sends it again.
#[tokio::test]
async fn a_replay_sends_each_message_once_however_often_it_is_queued() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (stores, shutdown) = running_worker(dir.path()).await;
    let rx = Receiver::start().await;
    let org = OrgId::generate();
    let app = application(&org, None);
    let mut ep = endpoint(&org, &app.id, None);
    ep.url = rx.url("/replayed").try_into().expect("valid url");
    let msg = message(&org, &app.id, "a.b", None, &[]);
    stores.applications.create_application(&app).await.expect("app");
    stores.endpoints.create_endpoint(&ep).await.expect("endpoint");
    stores.messages.create_message(&msg, &[]).await.expect("message");
    let (first, second) = (BackgroundTaskId::generate(), BackgroundTaskId::generate());
    let replay = |task: &BackgroundTaskId| {
        let deliver = DeliverTask::replay(ep.id.clone(), task.clone(), TriggerType::Manual);
        Task::deliver(org.clone(), app.id.clone(), msg.id.clone(), deliver, None)
    };
    let copies = vec![replay(&first), replay(&first), replay(&first), replay(&second)];
    stores.queue.enqueue(copies).await.expect("enqueue");
    rx.wait_for("/replayed", 2).await;
    eventually("every copy to be handled", || async {
        let d = stores.queue.depths().await.expect("depths");
        (d.ready + d.in_flight + d.scheduled == 0).then_some(())
    })
    .await;
    assert_eq!(rx.received("/replayed").len(), 2, "once per replay");
    shutdown.cancel();
}
