//! `GET /api/v1/health`: one check per dependency, `503` while one is down, and back to ready after.

use std::time::Duration;

use serde_json::Value;

use crate::binary::PrivateRedis;
use crate::helpers::{TestApp, eventually, spawn_app, spawn_app_with};

/// What the brief promises a load balancer: an answer within a second, even with Redis unreachable.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

async fn health(app: &TestApp, query: &str) -> (u16, Value) {
    let url = format!("{}/api/v1/health{query}", app.base);
    tokio::time::timeout(ANSWER_WITHIN, app.http.send("GET", &url, &[], None))
        .await
        .expect("the health check answers within a second")
}

fn statuses(report: &Value) -> [&Value; 4] {
    let checks = &report["checks"];
    [
        &report["status"],
        &checks["store"]["status"],
        &checks["queue"]["status"],
        &checks["cache"]["status"],
    ]
}

#[tokio::test]
async fn a_healthy_process_answers_204_and_reports_each_dependency_when_asked() {
    let app = spawn_app().await;
    assert_eq!(
        health(&app, "").await,
        (204, Value::Null),
        "as Svix's contract says"
    );
    let (status, report) = health(&app, "?verbose=true").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(statuses(&report), [&Value::from("ok"); 4], "{report}");
    for check in ["store", "queue", "cache"] {
        assert!(report["checks"][check]["latencyMs"].is_number(), "{report}");
    }
}

#[tokio::test]
async fn a_bare_verbose_flag_means_true() {
    let app = spawn_app().await;
    for query in ["?verbose", "?verbose=", "?verbose=1"] {
        let (status, report) = health(&app, query).await;
        assert_eq!(
            (status, &report["status"]),
            (200, &Value::from("ok")),
            "{query}: {report}"
        );
    }
    assert_eq!(health(&app, "?verbose=false").await.0, 204);
    assert_eq!(health(&app, "?verbose=maybe").await.0, 422);
}

#[tokio::test]
async fn health_is_503_while_redis_is_down_and_200_once_it_is_back() {
    let redis = PrivateRedis::start().await;
    let url = redis.url();
    let prefix = format!("xwt:{}", ulid::Ulid::new());
    let app = spawn_app_with(&[
        ("XWEBHOOK_REDIS_URL", url.as_str()),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
    ])
    .await;
    assert_eq!(health(&app, "?verbose=true").await.0, 200);

    let port = redis.stop();
    let (status, report) = health(&app, "").await;
    assert_eq!(status, 503, "{report}");
    assert_eq!(statuses(&report), [&Value::from("down"); 4], "{report}");

    let _redis = PrivateRedis::start_on(port).await;
    eventually("health to answer 200 again", || async {
        let (status, report) = health(&app, "?verbose=true").await;
        (status == 200).then_some(report)
    })
    .await;
    assert_eq!(health(&app, "").await.0, 204);
}
