//! Message and destination inserts are grouped into shared commits; each write still gets its own answer.

use std::sync::Arc;

use xwebhook_engine::domain::MessageStatus;
use xwebhook_engine::id::{AppId, EndpointId, OrgId};
use xwebhook_engine::store::{AttemptStore, MessageStore, StoreErrorKind};
use xwebhook_engine::testsuite::fixtures::{destination, message};

use crate::helpers::store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_messages_land_and_a_taken_event_id_conflicts_alone() {
    let (pg, _schema) = store().await;
    let (org, app) = (OrgId::generate(), AppId::generate());
    // 200 distinct messages and 20 that all claim the same eventId, sent at once so that they share groups.
    let distinct: Vec<_> = (0..200)
        .map(|_| message(&org, &app, "a.b", None, &["x"]))
        .collect();
    let rivals: Vec<_> = (0..20)
        .map(|_| message(&org, &app, "a.b", Some("same-event"), &[]))
        .collect();
    let calls: Vec<_> = distinct
        .iter()
        .chain(&rivals)
        .cloned()
        .map(|m| {
            let pg = Arc::clone(&pg);
            tokio::spawn(async move { (m.event_id.is_some(), pg.create_message(&m, &[]).await) })
        })
        .collect();
    let (mut rival_wins, mut rival_conflicts) = (0, 0);
    for call in calls {
        match call.await.expect("task ran") {
            (false, result) => result.expect("a distinct message is stored"),
            (true, Ok(())) => rival_wins += 1,
            (true, Err(e)) => {
                assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
                assert!(e.context.contains("same-event"), "{e}");
                rival_conflicts += 1;
            }
        }
    }
    assert_eq!((rival_wins, rival_conflicts), (1, 19));
    for m in &distinct {
        let stored = pg.get_message(&org, &app, &m.id).await.expect("read");
        assert_eq!(stored.as_ref(), Some(m));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_fan_outs_each_store_their_destinations() {
    let (pg, _schema) = store().await;
    let (org, app) = (OrgId::generate(), AppId::generate());
    let endpoints: Vec<_> = (0..3).map(|_| EndpointId::generate()).collect();
    let messages: Vec<_> = (0..100).map(|_| message(&org, &app, "a.b", None, &[])).collect();
    let calls: Vec<_> = messages
        .iter()
        .map(|m| {
            let rows: Vec<_> = endpoints
                .iter()
                .map(|ep| destination(m, ep, MessageStatus::Pending))
                .collect();
            let pg = Arc::clone(&pg);
            tokio::spawn(async move { pg.create_destinations(&rows).await })
        })
        .collect();
    for call in calls {
        call.await.expect("task ran").expect("destinations stored");
    }
    for m in &messages {
        for ep in &endpoints {
            let d = pg.get_destination(&org, &app, &m.id, ep).await.expect("read");
            assert_eq!(d.map(|d| d.status), Some(MessageStatus::Pending));
        }
    }
}
