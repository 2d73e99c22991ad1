//! Retry timing under paused tokio time: a failed delivery's next try, scheduled by the retry policy, becomes
//! ready exactly when its delay has passed on the (test-controlled) clock, not before.

use std::time::Duration;

use chrono::Utc;
use xwebhook_engine::clock::{Clock, TokioClock};
use xwebhook_engine::retry::RetryPolicy;
use xwebhook_engine::store::DeliveryQueue;
use xwebhook_engine::testsuite::fixtures::delivery_task;
use xwebhook_storage_embedded::EmbeddedStore;

#[tokio::test(start_paused = true)]
async fn scheduled_retry_becomes_ready_when_due() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    let clock = TokioClock::starting_at(Utc::now());
    let policy = RetryPolicy {
        schedule: vec![Duration::from_secs(5), Duration::from_secs(300)],
    };
    let task = delivery_task(1);
    // After the first failure, with the jitter draw at its lowest: 5 s − 20 % = 4 s.
    let delay = policy.next_delay(1, None, 0.0).expect("a retry is due");
    assert_eq!(delay, Duration::from_secs(4));
    store
        .schedule(vec![(
            task.clone(),
            clock.now() + chrono::Duration::from_std(delay).expect("delay"),
        )])
        .await
        .expect("schedule");

    let promote = || async { store.promote_due(clock.now(), 10).await.expect("promote") };
    assert_eq!(promote().await, 0, "not due at once");
    tokio::time::advance(Duration::from_millis(3_990)).await;
    assert_eq!(promote().await, 0, "not due 10 ms early");
    tokio::time::advance(Duration::from_millis(10)).await;
    assert_eq!(promote().await, 1, "due exactly on time");
    assert_eq!(promote().await, 0, "moved once");
    let leased = store
        .receive("worker", 10, Duration::ZERO)
        .await
        .expect("receive");
    assert_eq!(leased.iter().map(|l| &l.task).collect::<Vec<_>>(), [&task]);
}
