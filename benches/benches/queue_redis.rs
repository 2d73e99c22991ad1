//! The delivery queue's round on Redis: enqueue a batch of tasks, lease them, acknowledge each (`finish` with
//! no follow-up), as a worker does. Batches of 1 (an idle system) and 64 (a worker's full receive).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::future::try_join_all;
use xwebhook_benches::runtime;
use xwebhook_benches::services::redis_store;
use xwebhook_engine::id::OrgId;
use xwebhook_engine::store::{DeliveryQueue, FollowUp};
use xwebhook_engine::testsuite::fixtures::task;
use xwebhook_storage_redis::RedisStore;

const CONSUMER: &str = "bench";

/// One round: `tasks.len()` tasks in, leased, acknowledged. The queue is empty again afterwards.
async fn round(queue: &RedisStore, org: &OrgId, batch: usize) {
    queue
        .enqueue((0..batch).map(|_| task(org)).collect())
        .await
        .expect("enqueue");
    let mut leased = Vec::with_capacity(batch);
    while leased.len() < batch {
        let more = queue
            .receive(CONSUMER, batch - leased.len(), Duration::from_secs(1))
            .await
            .expect("receive");
        assert!(
            !more.is_empty(),
            "enqueued tasks were not received within a second"
        );
        leased.extend(more);
    }
    // Deliveries finish independently, so their acknowledgements overlap, as in the worker.
    try_join_all(leased.iter().map(|l| queue.finish(&l.receipt, FollowUp::none())))
        .await
        .expect("finish");
}

fn queue_redis(c: &mut Criterion) {
    let rt = runtime();
    let Some((queue, _prefix)) = rt.block_on(redis_store("queue_redis")) else {
        return;
    };
    let org = OrgId::generate();
    let mut group = c.benchmark_group("queue_redis/round");
    for batch in [1usize, 64] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            b.to_async(&rt).iter(|| round(&queue, &org, batch));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(30);
    targets = queue_redis
}
criterion_main!(benches);
