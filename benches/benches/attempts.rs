//! Recording a batch of 64 delivery attempts (`AttemptStore::record_attempts`, what the worker's recorder
//! writes under load) on each backend, so their figures compare: the embedded store in a temporary
//! directory, Redis under a fresh key prefix, Postgres in a fresh schema. Each batch is new records (64
//! messages of one application, one endpoint), built outside the timed work.

use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use xwebhook_benches::runtime;
use xwebhook_benches::services::{postgres_store, redis_store};
use xwebhook_engine::domain::MessageStatus;
use xwebhook_engine::id::{AppId, EndpointId, OrgId};
use xwebhook_engine::store::{AttemptRecord, AttemptStore};
use xwebhook_engine::testsuite::fixtures::{attempt, destination, message};
use xwebhook_storage_embedded::EmbeddedStore;

const BATCH: usize = 64;

/// Successful first attempts of `BATCH` fresh messages, with the destinations they leave delivered.
fn records(org: &OrgId, app: &AppId, endpoint: &EndpointId) -> Vec<AttemptRecord> {
    (0..BATCH)
        .map(|_| {
            let msg = message(org, app, "invoice.paid", None, &[]);
            let mut destination = destination(&msg, endpoint, MessageStatus::Success);
            destination.attempts = 1;
            AttemptRecord {
                attempt: attempt(&msg, endpoint, MessageStatus::Success, 200),
                destination,
            }
        })
        .collect()
}

fn bench_backend(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    store: Arc<dyn AttemptStore>,
) {
    let (org, app, endpoint) = (OrgId::generate(), AppId::generate(), EndpointId::generate());
    group.bench_function(name, |b| {
        b.to_async(rt).iter_batched(
            || records(&org, &app, &endpoint),
            |batch| {
                let store = store.clone();
                async move { store.record_attempts(&batch).await.expect("record_attempts") }
            },
            BatchSize::SmallInput,
        );
    });
}

fn attempts(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group(format!("record_attempts/{BATCH}"));
    group.throughput(Throughput::Elements(BATCH as u64));

    let dir = tempfile::tempdir().expect("a temporary directory");
    let embedded = EmbeddedStore::open(dir.path()).expect("open the embedded store");
    bench_backend(&mut group, &rt, "embedded", embedded);

    // The guards outlive the group: keys and schema go once the last batch is written.
    let redis = rt.block_on(redis_store("record_attempts/redis"));
    if let Some((store, _)) = &redis {
        bench_backend(&mut group, &rt, "redis", store.clone());
    }
    let postgres = rt.block_on(postgres_store("record_attempts/postgres"));
    if let Some((store, _)) = &postgres {
        bench_backend(&mut group, &rt, "postgres", store.clone());
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(20);
    targets = attempts
}
criterion_main!(benches);
