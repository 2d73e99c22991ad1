//! Endpoint auto-disable and the worker's operational events, end to end: the API and a worker on a shared
//! Redis (the worker built here, so that it reports to a recorder), against a real receiver.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use xwebhook_engine::clock::SystemClock;
use xwebhook_engine::delivery::{AddressPolicy, RecentMessages, Worker};
use xwebhook_engine::operational::{OperationalEvent, OperationalEvents};

use xwebhook_api::dto::attempt::{MessageAttemptOut, MessageEndpointOut};
use xwebhook_api::dto::endpoint::EndpointOut;
use xwebhook_api::pagination::ListResponse;

use crate::helpers::{Receiver, TestApp, eventually, spawn_app_with, test_config};

/// 0.0005 h = 1.8 s: longer than the first four attempts take, shorter than the pause before the fifth.
const DISABLE_AFTER_HOURS: &str = "0.0005";

/// Every event the worker reported, in order.
#[derive(Default)]
struct Heard(Mutex<Vec<OperationalEvent>>);

#[async_trait]
impl OperationalEvents for Heard {
    async fn report(&self, event: OperationalEvent) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(event);
    }
}

impl Heard {
    fn events(&self) -> Vec<OperationalEvent> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn types(&self) -> Vec<&'static str> {
        self.events().iter().map(OperationalEvent::event_type).collect()
    }
}

/// The API (role `api`) and, beside it on the same Redis prefix, a worker reporting to the returned recorder.
struct Setup {
    app: TestApp,
    heard: Arc<Heard>,
    worker_stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.worker_stop.cancel();
    }
}

async fn setup(retry_schedule: &str) -> Setup {
    let prefix = format!("xwt:{}", ulid::Ulid::new());
    let env = [
        ("XWEBHOOK_REDIS_URL", "redis://127.0.0.1:6379"),
        ("XWEBHOOK_REDIS_PREFIX", prefix.as_str()),
        ("XWEBHOOK_RETRY_SCHEDULE", retry_schedule),
        ("XWEBHOOK_ENDPOINT_FAILURE_DISABLE_AFTER", DISABLE_AFTER_HOURS),
    ];
    let app = spawn_app_with(&[env.as_slice(), &[("XWEBHOOK_ROLE", "api")]].concat()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(dir.path(), &env);
    let stores = xwebhook::run::open_stores(&config).await.expect("stores");
    let heard = Arc::new(Heard::default());
    let worker = Worker::new(
        stores,
        xwebhook::run::worker_config(&config),
        AddressPolicy::allow_all(),
        Arc::new(SystemClock),
        heard.clone(),
        Arc::new(RecentMessages::new(RecentMessages::DEFAULT_BYTES)),
    );
    let worker_stop = CancellationToken::new();
    tokio::spawn(worker.run(worker_stop.clone()));
    Setup {
        app,
        heard,
        worker_stop,
        _dir: dir,
    }
}

/// Waits until the message's attempt listing has `n` attempts, and returns it.
async fn attempts(app: &TestApp, app_id: &str, msg_id: &str, n: usize) -> Vec<MessageAttemptOut> {
    app.wait_for_list(&format!("/app/{app_id}/attempt/msg/{msg_id}"), n)
        .await
}

async fn is_disabled(app: &TestApp, app_id: &str, ep_id: &str) -> bool {
    let ep: EndpointOut = app.get(&format!("/app/{app_id}/endpoint/{ep_id}")).await;
    ep.disabled
}

#[tokio::test]
async fn an_endpoint_failing_past_the_threshold_is_disabled_and_reported() {
    // Five attempts: four within the threshold, the fifth well after it.
    let s = setup("0.05,0.05,0.05,3").await;
    let rx = Receiver::start().await;
    rx.script("/down", &[500; 20]);
    let (a, ep, _) = s.app.app_with_endpoint(&rx.url("/down")).await;
    let (app_id, ep_id) = (&a.id, &ep.id);
    let msg_id = s.app.send(app_id, "test.event", json!({"n": 1})).await.id;

    eventually("the delivery to be exhausted", || async {
        s.heard
            .types()
            .contains(&"message.attempt.exhausted")
            .then_some(())
    })
    .await;
    assert_eq!(
        s.heard.types(),
        [
            "message.attempt.failing",
            "endpoint.disabled",
            "message.attempt.exhausted"
        ]
    );
    assert!(is_disabled(&s.app, app_id, ep_id).await);
    assert_eq!(rx.received("/down").len(), 5);

    let events = s.heard.events();
    let OperationalEvent::AttemptFailing(failing) = &events[0] else {
        panic!("not failing: {events:?}")
    };
    assert_eq!(failing.msg_id.as_str(), msg_id);
    assert_eq!(failing.endpoint_id.as_str(), ep_id);
    assert_eq!(failing.last_attempt.response_status_code, 500);
    let OperationalEvent::EndpointDisabled { endpoint, fail_since } = &events[1] else {
        panic!("not disabled: {events:?}")
    };
    assert_eq!(endpoint.endpoint_id.as_str(), ep_id);
    assert!(
        *fail_since <= failing.last_attempt.timestamp,
        "the streak began with the first failure"
    );
    let all = attempts(&s.app, app_id, &msg_id, 5).await;
    let fourth = all.iter().find(|a| a.id == failing.last_attempt.id.as_str());
    assert!(fourth.is_some(), "the failing event names a stored attempt");
}

#[tokio::test]
async fn an_endpoint_that_recovers_is_not_disabled_and_its_streak_restarts() {
    // Four failures within the threshold, then a success after it; a later failure starts a new streak.
    let s = setup("0.05,0.05,0.05,3,0.05").await;
    let rx = Receiver::start().await;
    rx.script("/flaky", &[500, 500, 500, 500]);
    let (a, ep, _) = s.app.app_with_endpoint(&rx.url("/flaky")).await;
    let (app_id, ep_id) = (&a.id, &ep.id);
    let first = s.app.send(app_id, "test.event", json!({"n": 1})).await.id;
    eventually("the delivery to recover", || async {
        s.heard
            .types()
            .contains(&"message.attempt.recovered")
            .then_some(())
    })
    .await;
    assert_eq!(
        s.heard.types(),
        ["message.attempt.failing", "message.attempt.recovered"]
    );
    let OperationalEvent::AttemptRecovered(recovered) = &s.heard.events()[1] else {
        panic!("not recovered")
    };
    assert_eq!(recovered.msg_id.as_str(), first);
    assert_eq!(recovered.last_attempt.response_status_code, 200);

    // Without the restart, this failure (past the threshold since the first one) would disable the endpoint.
    rx.script("/flaky", &[500]);
    let second = s.app.send(app_id, "test.event", json!({"n": 2})).await.id;
    let tried = attempts(&s.app, app_id, &second, 2).await;
    assert!(
        tried.iter().any(|a| a.status == 0),
        "the retry succeeded: {tried:?}"
    );
    assert!(!is_disabled(&s.app, app_id, ep_id).await);
    assert_eq!(
        s.heard.types(),
        ["message.attempt.failing", "message.attempt.recovered"]
    );
}

#[tokio::test]
async fn a_healthy_endpoint_reports_nothing() {
    let s = setup("0.05").await;
    let rx = Receiver::start().await;
    let (a, ep, _) = s.app.app_with_endpoint(&rx.url("/ok")).await;
    let sent =
        futures_util::future::join_all((0..3).map(|i| s.app.send(&a.id, "test.event", json!({"n": i}))))
            .await;
    for msg in &sent {
        let tried = attempts(&s.app, &a.id, &msg.id, 1).await;
        assert_eq!(tried[0].status, 0, "{tried:?}");
    }
    assert!(s.heard.events().is_empty(), "{:?}", s.heard.types());
    assert!(!is_disabled(&s.app, &a.id, &ep.id).await);
}

/// A retry waiting when its endpoint is disabled is not sent, and its destination ends failed (so that
/// `recover` finds it once the endpoint is enabled again).
#[tokio::test]
async fn a_disabled_endpoints_waiting_retry_ends_failed_untried() {
    let app = spawn_app_with(&[("XWEBHOOK_RETRY_SCHEDULE", "2")]).await;
    let rx = Receiver::start().await;
    rx.script("/paused", &[500; 5]);
    let (a, ep, _) = app.app_with_endpoint(&rx.url("/paused")).await;
    let (app_id, ep_id) = (&a.id, &ep.id);
    let msg_id = app.send(app_id, "test.event", json!({"n": 1})).await.id;
    rx.wait_for("/paused", 1).await;
    let (status, ep) = app
        .call(
            "PATCH",
            &format!("/app/{app_id}/endpoint/{ep_id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{ep}");
    let destinations = format!("/app/{app_id}/msg/{msg_id}/endpoint");
    let failed = eventually("the waiting delivery to end failed", || async {
        let page: ListResponse<MessageEndpointOut> = app.list(&destinations).await;
        page.data.into_iter().find(|d| d.status == 2)
    })
    .await;
    assert_eq!(failed.next_attempt, None, "{failed:?}");
    assert_eq!(rx.received("/paused").len(), 1, "the retry was not sent");
}
