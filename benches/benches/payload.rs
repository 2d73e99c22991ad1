//! Reading a create-message body: check it is JSON, find the payload, check the payload is an object.
//!
//! `serde_json` is what the API does today (`api/src/extract.rs`): `MessageIn` through `serde_path_to_error`,
//! the payload kept as the raw text it was sent as (`Box<RawValue>`) and wrapped by `Payload::from_raw`.
//! `simd-json` parses in place, so it is given a mutable copy of the body, and the copy is timed: the request
//! body is shared, immutable `Bytes`. Its results still lack what the store keeps (the payload's text and the
//! typed fields), so they flatter it: if it cannot win this, it cannot win the whole job.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use simd_json::prelude::*;
use std::hint::black_box;
use xwebhook_api::dto::message::MessageIn;
use xwebhook_benches::payloads::{SIZES, json_object, message_body};
use xwebhook_engine::domain::Payload;

fn serde_json_raw(body: &[u8]) -> Payload {
    let mut de = serde_json::Deserializer::from_slice(body);
    let message: MessageIn = serde_path_to_error::deserialize(&mut de).expect("a valid body");
    de.end().expect("nothing after the body");
    Payload::from_raw(message.payload).expect("an object payload")
}

/// The whole body as a tree of borrowed values, the payload looked up in it.
fn simd_json_value(body: &[u8]) -> bool {
    let mut copy = body.to_vec();
    let value = simd_json::to_borrowed_value(&mut copy).expect("a valid body");
    value.get("payload").is_some_and(|p| p.is_object())
}

/// The whole body as a flat tape (no tree is built): simd-json's cheapest validated form.
fn simd_json_tape(body: &[u8]) -> bool {
    let mut copy = body.to_vec();
    let tape = simd_json::to_tape(&mut copy).expect("a valid body");
    tape.as_value().get("payload").is_some_and(|p| p.is_object())
}

fn payload(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_message_in");
    for size in SIZES {
        let body = message_body(&json_object(size)).into_bytes();
        group.throughput(Throughput::Bytes(body.len() as u64));
        let body = body.as_slice();
        group.bench_with_input(BenchmarkId::new("serde_json_raw", size), body, |b, body| {
            b.iter(|| serde_json_raw(black_box(body)));
        });
        group.bench_with_input(BenchmarkId::new("simd_json_value", size), body, |b, body| {
            b.iter(|| assert!(simd_json_value(black_box(body))));
        });
        group.bench_with_input(BenchmarkId::new("simd_json_tape", size), body, |b, body| {
            b.iter(|| assert!(simd_json_tape(black_box(body))));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3)).sample_size(50);
    targets = payload
}
criterion_main!(benches);
