//! The worker's attempt recorder on a real store: concurrent deliveries share store calls, and every record is
//! stored.

use std::sync::Arc;

use xwebhook_engine::delivery::Recorder;
use xwebhook_engine::domain::MessageStatus;
use xwebhook_engine::id::{AppId, EndpointId, OrgId};
use xwebhook_engine::store::{AttemptFilter, AttemptRecord, AttemptStore, Order, Pager};
use xwebhook_engine::testsuite::fixtures::{attempt, destination, message};
use xwebhook_storage_embedded::EmbeddedStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_records_are_batched_and_all_stored() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    let recorder = Recorder::spawn(store.clone() as Arc<dyn AttemptStore>);
    let (org, app, ep) = (OrgId::generate(), AppId::generate(), EndpointId::generate());
    let before = store.write_stats();
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            let msg = message(&org, &app, "a.b", None, &[]);
            let record = AttemptRecord {
                attempt: attempt(&msg, &ep, MessageStatus::Success, 200),
                destination: destination(&msg, &ep, MessageStatus::Success),
            };
            let recorder = recorder.clone();
            tokio::spawn(async move { recorder.record(record).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("recorded");
    }
    let writes = store.write_stats().operations - before.operations;
    assert!(
        writes < 300,
        "300 records took {writes} store writes: they were not batched"
    );
    let filter = AttemptFilter::default();
    let (mut stored, mut pager) = (0, Pager::new(Order::Ascending));
    while let Some(query) = pager.next_query() {
        let rows = store
            .list_attempts_by_endpoint(&org, &app, &ep, &filter, &query)
            .await
            .expect("list");
        stored += pager.advance(rows, &query, |a| a.id.to_string()).len();
    }
    assert_eq!(stored, 300, "every record is stored");
}
