//! Every API route × every kind of caller → the status it must get. The access rules live in one table
//! (`xwebhook_api::access`); this test holds the server to it, over real HTTP, one fresh fixture per call so
//! destructive routes (deleting the application, rotating the secret) cannot affect the next row.
//!
//! Callers: the organization's token, a portal token of the fixture's application (from the real
//! `/auth/app-portal-access` route), another organization's token, and no token at all. The organization is the
//! deployment's operator here (`spawn_app` makes it so); the other organization is a tenant.

use serde_json::{Value, json};

use crate::helpers::{Client, Receiver, TestApp, eventually, org_token, spawn_app};

/// What a caller must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Any 2xx.
    Ok,
    Unauthorized,
    Forbidden,
    NotFound,
}

use Expect::{Forbidden as F, NotFound as N, Ok as Y, Unauthorized as U};

/// One route: method, path with `{app}`, `{ep}`, `{msg}`, `{att}`, `{et}` placeholders, body, and what the
/// organization, a portal token, another organization and no token get.
type Row = (&'static str, &'static str, Option<Value>, [Expect; 4]);

fn rows() -> Vec<Row> {
    let ep = || Some(json!({"url": "{url}"}));
    let poller = || Some(json!({"type": "pollingEndpoint"}));
    vec![
        ("GET", "/health", None, [Y, Y, Y, Y]),
        ("GET", "/health/ping", None, [Y, Y, Y, Y]),
        ("GET", "/openapi.json", None, [Y, Y, Y, Y]),
        ("GET", "/admin/queue", None, [Y, F, F, U]),
        ("POST", "/admin/redrive-dlq", None, [Y, F, F, U]),
        ("GET", "/app", None, [Y, F, Y, U]),
        ("POST", "/app", Some(json!({"name": "new"})), [Y, F, Y, U]),
        ("GET", "/app/{app}", None, [Y, Y, N, U]),
        (
            "PUT",
            "/app/{app}",
            Some(json!({"name": "renamed"})),
            [Y, F, N, U],
        ),
        (
            "PATCH",
            "/app/{app}",
            Some(json!({"name": "renamed"})),
            [Y, F, N, U],
        ),
        ("DELETE", "/app/{app}", None, [Y, F, N, U]),
        (
            "POST",
            "/auth/app-portal-access/{app}",
            Some(json!({})),
            [Y, F, N, U],
        ),
        (
            "POST",
            "/auth/app/{app}/expire-all",
            Some(json!({})),
            [Y, F, N, U],
        ),
        ("POST", "/auth/logout", None, [F, Y, F, U]),
        ("GET", "/event-type", None, [Y, Y, Y, U]),
        (
            "POST",
            "/event-type",
            Some(json!({"name": "fresh.event", "description": "d"})),
            [Y, F, Y, U],
        ),
        ("GET", "/event-type/{et}", None, [Y, Y, N, U]),
        (
            "PUT",
            "/event-type/{et}",
            Some(json!({"description": "d2"})),
            [Y, F, Y, U],
        ),
        (
            "PATCH",
            "/event-type/{et}",
            Some(json!({"description": "d2"})),
            [Y, F, N, U],
        ),
        ("DELETE", "/event-type/{et}", None, [Y, F, N, U]),
        ("GET", "/app/{app}/endpoint", None, [Y, Y, N, U]),
        ("POST", "/app/{app}/endpoint", ep(), [Y, Y, N, U]),
        ("GET", "/app/{app}/endpoint/{ep}", None, [Y, Y, N, U]),
        ("PUT", "/app/{app}/endpoint/{ep}", ep(), [Y, Y, N, U]),
        (
            "PATCH",
            "/app/{app}/endpoint/{ep}",
            Some(json!({"description": "x"})),
            [Y, Y, N, U],
        ),
        ("DELETE", "/app/{app}/endpoint/{ep}", None, [Y, Y, N, U]),
        ("GET", "/app/{app}/endpoint/{ep}/secret", None, [Y, Y, N, U]),
        (
            "POST",
            "/app/{app}/endpoint/{ep}/secret/rotate",
            Some(json!({})),
            [Y, Y, N, U],
        ),
        ("GET", "/app/{app}/endpoint/{ep}/headers", None, [Y, Y, N, U]),
        (
            "PUT",
            "/app/{app}/endpoint/{ep}/headers",
            Some(json!({"headers": {"x-a": "b"}})),
            [Y, Y, N, U],
        ),
        (
            "PATCH",
            "/app/{app}/endpoint/{ep}/headers",
            Some(json!({"headers": {"x-a": "c"}})),
            [Y, Y, N, U],
        ),
        ("GET", "/app/{app}/endpoint/{ep}/msg", None, [Y, Y, N, U]),
        ("GET", "/app/{app}/endpoint/{ep}/stats", None, [Y, Y, N, U]),
        (
            "GET",
            "/app/{app}/endpoint/{ep}/attempt-stats",
            None,
            [Y, Y, N, U],
        ),
        (
            "POST",
            "/app/{app}/endpoint/{ep}/send-example",
            Some(json!({"eventType": "svix.ping"})),
            [Y, Y, N, U],
        ),
        (
            "POST",
            "/app/{app}/endpoint/{ep}/recover",
            Some(json!({"since": "{since}"})),
            [Y, Y, N, U],
        ),
        ("GET", "/app/{app}/msg", None, [Y, Y, N, U]),
        (
            "POST",
            "/app/{app}/msg",
            Some(json!({"eventType": "{et}", "payload": {}})),
            [Y, F, N, U],
        ),
        (
            "POST",
            "/app/{app}/msg/precheck/active",
            Some(json!({"eventType": "{et}"})),
            [Y, F, N, U],
        ),
        ("GET", "/app/{app}/msg/{msg}", None, [Y, Y, N, U]),
        ("DELETE", "/app/{app}/msg/{msg}/content", None, [Y, F, N, U]),
        (
            "DELETE",
            "/app/{app}/msg/{msg}/attempt/{att}/content",
            None,
            [Y, F, N, U],
        ),
        ("GET", "/app/{app}/msg/{msg}/endpoint", None, [Y, Y, N, U]),
        (
            "POST",
            "/app/{app}/msg/{msg}/endpoint/{ep}/resend",
            None,
            [Y, Y, N, U],
        ),
        ("GET", "/app/{app}/msg/{msg}/attempt/{att}", None, [Y, Y, N, U]),
        ("GET", "/app/{app}/attempt/endpoint/{ep}", None, [Y, Y, N, U]),
        ("GET", "/app/{app}/attempt/msg/{msg}", None, [Y, Y, N, U]),
        (
            "POST",
            "/app/{app}/endpoint/{ep}/replay-missing",
            Some(json!({"since": "{since}"})),
            [Y, Y, N, U],
        ),
        (
            "POST",
            "/app/{app}/endpoint/{ep}/bulk-replay",
            Some(json!({"since": "{since}"})),
            [Y, Y, N, U],
        ),
        (
            "POST",
            "/app/{app}/msg/bulk-expunge",
            Some(json!({"ids": ["{msg}"]})),
            [Y, F, N, U],
        ),
        ("POST", "/app/{app}/msg/expunge-all-contents", None, [Y, F, N, U]),
        (
            "POST",
            "/stats/usage/app",
            Some(json!({"since": "{since}", "until": "2100-01-01T00:00:00Z"})),
            [Y, F, Y, U],
        ),
        ("PUT", "/stats/usage/event-types", None, [Y, F, Y, U]),
        ("GET", "/background-task", None, [Y, F, Y, U]),
        ("GET", "/background-task/{task}", None, [Y, F, N, U]),
        // Destinations: `{dest}` is a polling one, `{fifo}` a FIFO endpoint (the one kind with a secret).
        ("GET", "/app/{app}/destination", None, [Y, Y, N, U]),
        ("POST", "/app/{app}/destination", poller(), [Y, Y, N, U]),
        ("GET", "/app/{app}/destination/{dest}", None, [Y, Y, N, U]),
        ("PUT", "/app/{app}/destination/{dest}", poller(), [Y, Y, N, U]),
        (
            "PATCH",
            "/app/{app}/destination/{dest}",
            Some(json!({"type": "pollingEndpoint", "batchSize": 5})),
            [Y, Y, N, U],
        ),
        ("DELETE", "/app/{app}/destination/{dest}", None, [Y, Y, N, U]),
        ("GET", "/app/{app}/destination/{dest}/attempt", None, [Y, Y, N, U]),
        (
            "POST",
            "/app/{app}/destination/{fifo}/secret/rotate",
            Some(json!({})),
            [Y, Y, N, U],
        ),
        ("GET", "/app/{app}/poller/{dest}", None, [Y, Y, N, U]),
        ("GET", "/app/{app}/poller/{dest}/consumer/c1", None, [Y, Y, N, U]),
        (
            "POST",
            "/app/{app}/poller/{dest}/consumer/c1/seek",
            Some(json!({"after": "{since}"})),
            [Y, Y, N, U],
        ),
        ("POST", "/auth/app/{app}/poller/{dest}/token", None, [Y, F, N, U]),
        // The caller's own operational webhook endpoints: another organization has its own (none, or a new one).
        ("GET", "/operational-webhook/endpoint", None, [Y, F, Y, U]),
        ("POST", "/operational-webhook/endpoint", ep(), [Y, F, Y, U]),
        ("GET", "/operational-webhook/endpoint/{oep}", None, [Y, F, N, U]),
        ("PUT", "/operational-webhook/endpoint/{oep}", ep(), [Y, F, N, U]),
        (
            "DELETE",
            "/operational-webhook/endpoint/{oep}",
            None,
            [Y, F, N, U],
        ),
        (
            "GET",
            "/operational-webhook/endpoint/{oep}/headers",
            None,
            [Y, F, N, U],
        ),
        (
            "PUT",
            "/operational-webhook/endpoint/{oep}/headers",
            Some(json!({"headers": {"x-a": "b"}})),
            [Y, F, N, U],
        ),
        (
            "GET",
            "/operational-webhook/endpoint/{oep}/secret",
            None,
            [Y, F, N, U],
        ),
        (
            "POST",
            "/operational-webhook/endpoint/{oep}/secret/rotate",
            Some(json!({})),
            [Y, F, N, U],
        ),
    ]
}

/// An application with an endpoint, an event type, a message with one recorded attempt, and, when asked, an
/// operational webhook endpoint and a background task.
struct Fixture {
    vars: Vec<(&'static str, String)>,
    portal_token: String,
}

impl Fixture {
    /// Makes what `template` addresses: every fixture has the application's objects; an operational endpoint and
    /// a background task, which are the organization's (later fixtures would see them), only for the rows that
    /// address one.
    async fn new(app: &TestApp, receiver: &Receiver, n: usize, template: &str) -> Self {
        let url = receiver.url("/access");
        let et = format!("access.event{n}");
        app.create("/event-type", json!({"name": et, "description": "d"}))
            .await;
        let (app_out, ep_out, _) = app.app_with_endpoint(&url).await;
        let (app_id, ep_id) = (app_out.id, ep_out.id);
        let msg = app
            .create(
                &format!("/app/{app_id}/msg"),
                json!({"eventType": et, "payload": {"n": n}}),
            )
            .await;
        let msg_id = msg["id"].as_str().expect("message id").to_owned();
        let att = eventually("the fixture's attempt", || async {
            let (_, list) = app
                .call("GET", &format!("/app/{app_id}/attempt/msg/{msg_id}"), None)
                .await;
            list["data"][0]["id"].as_str().map(str::to_owned)
        })
        .await;
        let (_, access) = app
            .call(
                "POST",
                &format!("/auth/app-portal-access/{app_id}"),
                Some(json!({})),
            )
            .await;
        let task = match template.contains("{task}") {
            true => app
                .create(
                    &format!("/app/{app_id}/endpoint/{ep_id}/replay-missing"),
                    json!({"since": chrono::Utc::now().to_rfc3339()}),
                )
                .await["id"]
                .as_str()
                .expect("task id")
                .to_owned(),
            false => String::new(),
        };
        let oep = match template.contains("{oep}") {
            true => app
                .create("/operational-webhook/endpoint", json!({"url": url}))
                .await["id"]
                .as_str()
                .expect("endpoint id")
                .to_owned(),
            false => String::new(),
        };
        let dest = match template.contains("{dest}") {
            true => destination(app, &app_id, json!({"type": "pollingEndpoint"})).await,
            false => String::new(),
        };
        let fifo = match template.contains("{fifo}") {
            true => {
                destination(
                    app,
                    &app_id,
                    json!({"type": "fifoEndpoint", "config": {"url": url}}),
                )
                .await
            }
            false => String::new(),
        };
        let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        Self {
            vars: vec![
                ("{app}", app_id),
                ("{ep}", ep_id),
                ("{oep}", oep),
                ("{task}", task),
                ("{dest}", dest),
                ("{fifo}", fifo),
                ("{msg}", msg_id),
                ("{att}", att),
                ("{et}", et),
                ("{url}", url),
                ("{since}", since),
            ],
            portal_token: access["token"].as_str().expect("portal token").to_owned(),
        }
    }

    fn fill(&self, template: &str) -> String {
        self.vars
            .iter()
            .fold(template.to_owned(), |s, (k, v)| s.replace(k, v))
    }
}

async fn destination(app: &TestApp, app_id: &str, body: Value) -> String {
    app.create(&format!("/app/{app_id}/destination"), body).await["id"]
        .as_str()
        .expect("destination id")
        .to_owned()
}

fn outcome(status: u16) -> Option<Expect> {
    match status {
        200..=299 => Some(Expect::Ok),
        401 => Some(Expect::Unauthorized),
        403 => Some(Expect::Forbidden),
        404 => Some(Expect::NotFound),
        _ => None,
    }
}

#[tokio::test]
async fn every_route_answers_each_kind_of_caller_as_the_access_table_says() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let other_org = org_token(&xwebhook_engine::id::OrgId::generate());
    let mut failures = Vec::new();
    let mut fixtures = 0;
    for (method, template, body, expected) in rows() {
        for (caller, want) in ["organization", "portal", "other organization", "no token"]
            .into_iter()
            .zip(expected)
        {
            fixtures += 1;
            let fixture = Fixture::new(&app, &receiver, fixtures, template).await;
            let token = match caller {
                "organization" => app.token.clone(),
                "portal" => fixture.portal_token.clone(),
                "other organization" => other_org.clone(),
                _ => String::new(),
            };
            let path = fixture.fill(template);
            let body = body
                .as_ref()
                .map(|b| serde_json::from_str(&fixture.fill(&b.to_string())).expect("a filled body is JSON"));
            let (status, out) = call(&app.client, &token, method, &path, body).await;
            if outcome(status) != Some(want) {
                failures.push(format!(
                    "{method} {template} as {caller}: {status} (want {want:?}) {out}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn call(client: &Client, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    if token.is_empty() {
        let body = body.map(|b| bytes::Bytes::from(b.to_string()));
        let url = format!("{}/api/v1{path}", client.base);
        return client.http.send(method, &url, &[], body).await;
    }
    client.call_as(token, method, path, body).await
}

#[tokio::test]
async fn the_table_covers_every_documented_operation() {
    let app = spawn_app().await;
    let (_, doc) = app.call("GET", "/openapi.json", None).await;
    let covered: std::collections::BTreeSet<(String, String)> = rows()
        .into_iter()
        .map(|(m, p, _, _)| (m.to_lowercase(), p.to_owned()))
        .collect();
    let placeholders = [
        ("{app_id}", "{app}"),
        ("{endpoint_id}", "{ep}"),
        ("{msg_id}", "{msg}"),
        ("{attempt_id}", "{att}"),
        ("{event_type_name}", "{et}"),
        ("{task_id}", "{task}"),
        ("{destination_id}", "{dest}"),
        ("{sink_id}", "{dest}"),
        ("{consumer_id}", "c1"),
    ];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let route = placeholders
            .iter()
            .fold(path.trim_start_matches("/api/v1").to_owned(), |s, (a, b)| {
                s.replace(a, b)
            });
        // An operational webhook endpoint is a fixture of its own.
        let route = match route.strip_prefix("/operational-webhook/endpoint/{ep}") {
            Some(rest) => format!("/operational-webhook/endpoint/{{oep}}{rest}"),
            None => route,
        };
        // Only a FIFO destination has a secret to rotate.
        let route = route.replace("/destination/{dest}/secret", "/destination/{fifo}/secret");
        for method in item.as_object().expect("path item").keys() {
            // HEAD is GET's twin (axum serves it with the GET handler, under GET's rule).
            let method = if method == "head" {
                "get".to_owned()
            } else {
                method.clone()
            };
            assert!(
                covered.contains(&(method.clone(), route.clone())),
                "{method} {path} is not in the route × token table"
            );
        }
    }
}
