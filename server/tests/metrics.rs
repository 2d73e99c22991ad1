//! `/metrics` after a scripted scenario: every counter equals what happened, histograms counted every event.
//!
//! A test binary of its own: the metrics recorder is process-wide, so services started by other tests would
//! add to the counts.

#[allow(dead_code)] // shared with the `it` binary, which uses all of it
#[path = "it/helpers.rs"]
mod helpers;
#[allow(dead_code)] // shared with the `it` binary, which uses all of it
#[path = "it/receiver.rs"]
mod receiver;

use std::collections::BTreeMap;

use helpers::{Receiver, TestApp, eventually, spawn_app_with};
use serde_json::json;

const HEALTHY: usize = 5;
const FAILING: usize = 3;
/// The retry schedule's length plus the first attempt.
const ATTEMPTS_PER_FAILURE: usize = 3;

#[tokio::test]
async fn metrics_count_what_happened() {
    let app = spawn_app_with(&[
        ("XWEBHOOK_RETRY_SCHEDULE", "0.1,0.1"),
        // Off, so that every failing delivery runs its whole schedule.
        ("XWEBHOOK_ENDPOINT_FAILURE_DISABLE_AFTER", "0"),
    ])
    .await;
    let _receiver = play_scenario(&app).await;

    let ended = (FAILING + 1) as f64;
    let scraped = eventually("every delivery to end", || async {
        let m = scrape(&app).await;
        let done = m.sum("xwebhook_messages_exhausted_total", &[]) == ended
            && m.sum("xwebhook_delivery_attempts_total", &[("outcome", "success")]) == HEALTHY as f64
            && m.sum("xwebhook_queue_depth", &[]) == 0.0;
        done.then_some(m)
    })
    .await;

    let attempts = |outcome| scraped.sum("xwebhook_delivery_attempts_total", &[("outcome", outcome)]);
    let failed_attempts = FAILING * ATTEMPTS_PER_FAILURE;
    let all_attempts = HEALTHY + failed_attempts + ATTEMPTS_PER_FAILURE;
    let retries = (FAILING + 1) * (ATTEMPTS_PER_FAILURE - 1);
    let messages = HEALTHY + FAILING + 1;
    let expected = [
        ("xwebhook_messages_accepted_total", messages),
        ("xwebhook_retries_scheduled_total", retries),
        ("xwebhook_messages_exhausted_total", FAILING + 1),
        ("xwebhook_endpoints_disabled_total", 0),
        ("xwebhook_attempt_duration_seconds_count", all_attempts),
        ("xwebhook_delivery_latency_seconds_count", HEALTHY),
        ("xwebhook_deliveries_in_flight", 0),
        ("xwebhook_worker_concurrency", 512),
    ];
    for (name, value) in expected {
        assert_eq!(scraped.sum(name, &[]), value as f64, "{name}");
    }
    assert_eq!(attempts("success"), HEALTHY as f64);
    assert_eq!(attempts("http_error"), failed_attempts as f64);
    assert_eq!(attempts("refused"), ATTEMPTS_PER_FAILURE as f64);
    for outcome in ["timeout", "connect_error", "rate_limited"] {
        assert_eq!(attempts(outcome), 0.0, "{outcome}");
    }
    assert_eq!(
        scraped.sum("xwebhook_delivery_attempts_total", &[]),
        all_attempts as f64
    );
    for state in ["ready", "in_flight", "scheduled", "dead_letter"] {
        assert_eq!(
            scraped.value("xwebhook_queue_depth", &[("state", state)]),
            Some(0.0),
            "{state}"
        );
    }
    assert_request_counts(&scraped, messages);
}

/// Sends `HEALTHY` messages to a healthy endpoint, `FAILING` to one that always answers 500, and one to a
/// blocked address; the receiver must live until every delivery has ended.
async fn play_scenario(app: &TestApp) -> Receiver {
    let rx = Receiver::start().await;
    rx.script("/fail", &[500; FAILING * ATTEMPTS_PER_FAILURE]);
    let (healthy, _, _) = app.app_with_endpoint(&rx.url("/ok")).await;
    let (failing, _, _) = app.app_with_endpoint(&rx.url("/fail")).await;
    // Private, and not among the test configuration's allowed subnets.
    let (blocked, _, _) = app.app_with_endpoint("http://10.1.2.3/hook").await;
    for _ in 0..HEALTHY {
        app.send(&healthy.id, "test.event", json!({"to": "ok"})).await;
    }
    for _ in 0..FAILING {
        app.send(&failing.id, "test.event", json!({"to": "fail"})).await;
    }
    app.send(&blocked.id, "test.event", json!({"to": "blocked"}))
        .await;
    rx
}

/// The API request histogram counted each request under its route template, and not the scrapes.
fn assert_request_counts(scraped: &Scraped, messages: usize) {
    let requests = |route, method| {
        scraped.sum(
            "xwebhook_http_request_duration_seconds_count",
            &[("route", route), ("method", method)],
        )
    };
    assert_eq!(requests("/api/v1/app/{app_id}/msg", "POST"), messages as f64);
    assert_eq!(requests("/api/v1/app", "POST"), 3.0);
    assert_eq!(
        requests("/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret", "GET"),
        3.0
    );
    let scrapes = requests("/metrics", "GET");
    assert_eq!(scrapes, 0.0, "the scrape itself is not an API request");
}

/// The parsed `/metrics` text: each series (name and labels) and its value.
struct Scraped(BTreeMap<(String, BTreeMap<String, String>), f64>);

impl Scraped {
    fn parse(text: &str) -> Self {
        let series = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("a series and its value");
                let value: f64 = value.parse().expect("a number");
                (parse_series(series), value)
            })
            .collect();
        Self(series)
    }

    /// The sum over the series of `name` whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|((n, l), _)| n == name && labels.iter().all(|(k, v)| l.get(*k).is_some_and(|x| x == v)))
            .map(|(_, v)| v)
            .sum()
    }

    /// The value of the one series of `name` with exactly `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0.get(&(name.to_owned(), labels)).copied()
    }
}

/// `name` or `name{k="v",…}`; values are taken as written (ours hold no quotes or escapes).
fn parse_series(series: &str) -> (String, BTreeMap<String, String>) {
    let Some((name, rest)) = series.split_once('{') else {
        return (series.to_owned(), BTreeMap::new());
    };
    let mut labels = BTreeMap::new();
    let mut rest = rest.strip_suffix('}').expect("labels end with }");
    while let Some((key, after)) = rest.split_once("=\"") {
        let (value, after) = after.split_once('"').expect("a quoted label value");
        labels.insert(key.to_owned(), value.to_owned());
        rest = after.strip_prefix(',').unwrap_or(after);
    }
    (name.to_owned(), labels)
}

async fn scrape(app: &TestApp) -> Scraped {
    let (status, body) = app
        .http
        .send("GET", &format!("{}/metrics", app.base), &[], None)
        .await;
    assert_eq!(status, 200);
    Scraped::parse(body.as_str().expect("text"))
}
