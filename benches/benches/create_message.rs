//! The whole ingest path in process: `POST /api/v1/app/{app}/msg` with a 1 KiB payload through the API's
//! router (auth, JSON, idempotency layer with no key, store, fan-out enqueue) on the embedded store in a
//! temporary directory, one request at a time and 32 at once. No socket: the router is called as a `tower` service, so HTTP parsing is not counted.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::future::join_all;
use http::{Request, StatusCode, header};
use tower::ServiceExt;
use xwebhook_api::{ApiConfig, AppParts, AppState, JwtAuth};
use xwebhook_benches::payloads::{json_object, message_body};
use xwebhook_benches::runtime;
use xwebhook_engine::clock::SystemClock;
use xwebhook_engine::id::OrgId;
use xwebhook_engine::intake::{Admission, Intake};
use xwebhook_engine::operational::Discard;
use xwebhook_engine::store::Stores;
use xwebhook_engine::testsuite::fixtures::application;
use xwebhook_storage_embedded::EmbeddedStore;

const APP_UID: &str = "bench";

/// The API over `stores`, and a bearer token for a fresh organization that owns the application `bench`.
async fn api(stores: Stores) -> (Router, String) {
    let auth = JwtAuth::new(b"bench-secret-0123456789");
    let org = OrgId::generate();
    let token = auth
        .issue_org_token(&org, chrono::Utc::now().timestamp())
        .expect("token");
    stores
        .applications
        .create_application(&application(&org, Some(APP_UID)))
        .await
        .expect("create the bench application");
    let state = AppState::new(AppParts {
        intake: Intake::new(stores.clone(), Admission::default()),
        stores,
        auth,
        clock: Arc::new(SystemClock),
        events: Arc::new(Discard),
        config: ApiConfig::default(),
        sink_types: Default::default(),
    });
    (xwebhook_api::router(state), format!("Bearer {token}"))
}

async fn create_message(router: &Router, bearer: &str, body: &Bytes) {
    let request = Request::post(format!("/api/v1/app/{APP_UID}/msg"))
        .header(header::AUTHORIZATION, bearer)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.clone()))
        .expect("a valid request");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    assert_eq!(response.status(), StatusCode::ACCEPTED, "create message");
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open the embedded store");
    let (router, bearer) = rt.block_on(api(Stores::from_one(store)));
    let body = Bytes::from(message_body(&json_object(1024)));
    let mut group = c.benchmark_group("create_message/embedded/1024");
    // One request alone waits for its own commit (an fsync); concurrent ones share commits, as under load.
    for concurrency in [1usize, 32] {
        group.throughput(Throughput::Elements(concurrency as u64));
        group.bench_function(format!("concurrency/{concurrency}"), |b| {
            b.to_async(&rt)
                .iter(|| join_all((0..concurrency).map(|_| create_message(&router, &bearer, &body))));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(20);
    targets = bench
}
criterion_main!(benches);
