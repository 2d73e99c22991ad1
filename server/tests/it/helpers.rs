//! `spawn_app()`, typed API calls and (re-exported) the scripted webhook receiver: everything a test needs is
//! one helper away.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use xwebhook::config::{Config, Overrides, Secret};
use xwebhook_api::JwtAuth;
use xwebhook_api::dto::application::ApplicationOut;
use xwebhook_api::dto::endpoint::{EndpointOut, EndpointSecretOut};
use xwebhook_api::dto::message::MessageOut;
use xwebhook_api::pagination::ListResponse;
use xwebhook_engine::id::OrgId;

pub const JWT_SECRET: &str = "integration-test-secret";
/// Generous: conditions are awaited, so a slow machine only makes a passing test slower.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// The service running in this process on `127.0.0.1:0`, with its own data directory. It derefs to an API
/// [`Client`] for a fresh organization.
pub struct TestApp {
    pub client: Client,
    pub org: OrgId,
    pub shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TestApp {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Calls one server's API as one organization.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: String,
    pub http: Http,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The test configuration: loopback deliveries allowed, a short retry schedule.
pub fn test_config(dir: &std::path::Path, env: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("XWEBHOOK_LISTEN".into(), "127.0.0.1:0".into()),
        ("XWEBHOOK_ALLOW_SUBNETS".into(), "127.0.0.0/8".into()),
        ("XWEBHOOK_RETRY_SCHEDULE".into(), "1,1".into()),
        ("XWEBHOOK_REQUEST_TIMEOUT".into(), "5".into()),
    ]);
    vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let flags = Overrides {
        data_dir: Some(dir.to_owned()),
        ..Overrides::default()
    };
    let mut config = Config::load(None, &vars, &flags).expect("test configuration is valid");
    config.auth.jwt_secret = Some(Secret::new(JWT_SECRET.into()));
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the service for a fresh organization, which is also the deployment's operator unless `env` names one.
pub async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let org = OrgId::generate();
    let operator = [("XWEBHOOK_OPERATOR_ORG", org.to_string())];
    let env: Vec<(&str, &str)> = operator
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(env.iter().copied())
        .collect();
    let config = test_config(dir.path(), &env);
    let shutdown = CancellationToken::new();
    let running = xwebhook::run::start(config, shutdown.clone())
        .await
        .expect("service starts");
    let addr = running.api_addr.expect("api role runs");
    tokio::spawn(running.wait());
    let client = Client {
        base: format!("http://{addr}"),
        token: org_token(&org),
        http: Http::new(),
    };
    TestApp {
        client,
        org,
        shutdown,
        _dir: dir,
    }
}

pub fn org_token(org: &OrgId) -> String {
    JwtAuth::new(JWT_SECRET.as_bytes())
        .issue_org_token(org, chrono::Utc::now().timestamp())
        .expect("token")
}

/// A plain HTTP/1 client returning the status and the JSON body (Null when empty).
#[derive(Clone)]
pub struct Http(HyperClient<HttpConnector, Full<Bytes>>);

impl Http {
    pub fn new() -> Self {
        Self(HyperClient::builder(TokioExecutor::new()).build_http())
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
    ) -> (u16, Value) {
        let (status, bytes) = self.send_raw(method, url, headers, body).await;
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, json)
    }

    /// The status and the body's bytes as they came.
    pub async fn send_raw(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
    ) -> (u16, Bytes) {
        let mut req = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .expect("valid request");
        let res = self.0.request(req).await.expect("request reaches the server");
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (status, bytes)
    }
}

impl Client {
    /// A client of the server at `base` for a brand-new organization.
    pub fn for_new_org(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            token: org_token(&OrgId::generate()),
            http: Http::new(),
        }
    }

    /// A client of the server at `base` for the organization `org`.
    pub fn for_org(base: &str, org: &OrgId) -> Self {
        Self {
            base: base.to_owned(),
            token: org_token(org),
            http: Http::new(),
        }
    }

    /// The same organization on another server (processes sharing one backend).
    pub fn on(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    /// The escape hatch: any call, answered with the status and the raw JSON, for tests of errors and of the
    /// JSON shapes themselves.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(&self.token, method, path, body).await
    }

    pub async fn call_as(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let auth = format!("Bearer {token}");
        let body = body.map(|b| Bytes::from(b.to_string()));
        self.http
            .send(
                method,
                &format!("{}/api/v1{path}", self.base),
                &[("authorization", &auth)],
                body,
            )
            .await
    }

    /// Calls, asserts a 2xx, and decodes the answer as the API's own type `T`.
    pub async fn expect<T: DeserializeOwned>(&self, method: &str, path: &str, body: Option<Value>) -> T {
        let auth = format!("Bearer {}", self.token);
        let url = format!("{}/api/v1{path}", self.base);
        let body = body.map(|b| Bytes::from(b.to_string()));
        let (status, bytes) = self
            .http
            .send_raw(method, &url, &[("authorization", &auth)], body)
            .await;
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        assert!(
            (200..300).contains(&status),
            "{method} {path} → {status}: {}",
            text()
        );
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{method} {path}: unexpected answer ({e}): {}", text()))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        self.expect("GET", path, None).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: Value) -> T {
        self.expect("POST", path, Some(body)).await
    }

    /// POSTs and asserts a 2xx, returning the raw JSON (for bodies whose shape is what the test checks).
    pub async fn create(&self, path: &str, body: Value) -> Value {
        self.post(path, body).await
    }

    pub async fn create_app(&self, name: &str) -> ApplicationOut {
        self.post("/app", json!({"name": name})).await
    }

    pub async fn create_endpoint(&self, app_id: &str, url: &str) -> EndpointOut {
        self.post(&format!("/app/{app_id}/endpoint"), json!({"url": url}))
            .await
    }

    /// The endpoint's current signing secret (`whsec_…`).
    pub async fn endpoint_secret(&self, app_id: &str, ep_id: &str) -> String {
        let secret: EndpointSecretOut = self.get(&format!("/app/{app_id}/endpoint/{ep_id}/secret")).await;
        secret.key
    }

    /// An application with one endpoint at `url`, and that endpoint's signing secret.
    pub async fn app_with_endpoint(&self, url: &str) -> (ApplicationOut, EndpointOut, String) {
        let app = self.create_app("test").await;
        let ep = self.create_endpoint(&app.id, url).await;
        let secret = self.endpoint_secret(&app.id, &ep.id).await;
        (app, ep, secret)
    }

    /// Sends a message of `event_type` to the application's endpoints.
    pub async fn send(&self, app_id: &str, event_type: &str, payload: Value) -> MessageOut {
        self.post(
            &format!("/app/{app_id}/msg"),
            json!({"eventType": event_type, "payload": payload}),
        )
        .await
    }

    /// One page of a listing.
    pub async fn list<T: DeserializeOwned>(&self, path: &str) -> ListResponse<T> {
        self.get(path).await
    }

    /// Waits until the listing at `path` holds at least `n` items, and returns them.
    pub async fn wait_for_list<T: DeserializeOwned>(&self, path: &str, n: usize) -> Vec<T> {
        eventually(&format!("{n} items at {path}"), || async {
            let page: ListResponse<T> = self.list(path).await;
            (page.data.len() >= n).then_some(page.data)
        })
        .await
    }
}

/// Polls `check` until it returns `Some`, failing the test after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub use crate::receiver::Receiver;
