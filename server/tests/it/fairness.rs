//! Fairness toward slow endpoints: endpoints that never answer cannot hold every worker slot.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Receiver, spawn_app_with};

#[tokio::test]
async fn endpoints_that_never_answer_do_not_starve_a_healthy_one() {
    // Eight slots, and requests that would hold a slot for longer than the test waits.
    let app = spawn_app_with(&[
        ("XWEBHOOK_WORKER_CONCURRENCY", "8"),
        ("XWEBHOOK_REQUEST_TIMEOUT", "120"),
    ])
    .await;
    let rx = Receiver::start().await;
    for n in 0..3 {
        let path = format!("/stuck{n}");
        rx.delay(&path, Duration::from_secs(600));
        let (a, _, _) = app.app_with_endpoint(&rx.url(&path)).await;
        for i in 0..8 {
            app.send(&a.id, "test.event", json!({"i": i})).await;
        }
    }
    let (a, _, _) = app.app_with_endpoint(&rx.url("/healthy")).await;
    app.send(&a.id, "test.event", json!({"healthy": true})).await;
    rx.wait_for("/healthy", 1).await;
}
