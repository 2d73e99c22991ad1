//! Signing one delivery at the payload sizes we serve, with each scheme: `v1,` HMAC-SHA256 (`whsec_`) and `v1a,`
//! ed25519 (`whsk_`), over `id.timestamp.body`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use xwebhook_engine::domain::EndpointSecret;
use xwebhook_engine::signing::sign;

fn signing(c: &mut Criterion) {
    let schemes = [
        ("hmac", EndpointSecret::generate()),
        ("ed25519", EndpointSecret::generate_ed25519()),
    ];
    for (scheme, secret) in &schemes {
        let mut group = c.benchmark_group(format!("sign/{scheme}"));
        for size in [1024usize, 64 * 1024] {
            let body = vec![b'x'; size];
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| {
                b.iter(|| sign(secret, "msg_01J0000000000000000000000", 1_700_000_000, body));
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3));
    targets = signing
}
criterion_main!(benches);
