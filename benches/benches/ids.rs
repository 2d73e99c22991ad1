//! Identifier generation and parsing. Every message creates a `msg_` id and every delivery an `atmpt_` id
//! (a ULID and a `String`); every request with an id in its path parses one.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use xwebhook_engine::id::{AttemptId, MessageId};

fn ids(c: &mut Criterion) {
    let mut group = c.benchmark_group("id");
    group.bench_function("generate/message", |b| b.iter(MessageId::generate));
    group.bench_function("generate/attempt", |b| b.iter(AttemptId::generate));
    let text = MessageId::generate().to_string();
    group.bench_function("parse/message", |b| {
        b.iter(|| MessageId::parse(black_box(&text)).expect("a valid id"));
    });
    // A path segment that is not an id is read as a UID: the miss is on the path of every UID lookup.
    group.bench_function("parse/uid-miss", |b| {
        b.iter(|| MessageId::looks_like(black_box("invoice-2026-000042")));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3));
    targets = ids
}
criterion_main!(benches);
