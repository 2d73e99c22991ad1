//! One trace from the API request that creates a message to its delivery attempt, though the two meet only
//! through the queue.
//!
//! A test binary of its own: the tracing subscriber, which here exports to an in-memory exporter, is
//! process-wide.

#[allow(dead_code)] // shared with the `it` binary, which uses all of it
#[path = "it/helpers.rs"]
mod helpers;
#[allow(dead_code)] // shared with the `it` binary, which uses all of it
#[path = "it/receiver.rs"]
mod receiver;

use std::collections::HashMap;

use helpers::{Receiver, eventually, spawn_app};
use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use xwebhook::config::LogFormat;

#[tokio::test]
async fn a_delivery_attempt_continues_the_trace_of_the_request_that_sent_its_message() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter.clone())
        .build();
    xwebhook::logging::init("warn", LogFormat::Text, Some(&provider)).expect("install the subscriber");
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (a, _, _) = app.app_with_endpoint(&rx.url("/hook")).await;
    let msg_id = app.send(&a.id, "test.event", json!({"traced": true})).await.id;
    rx.wait_for("/hook", 1).await;

    let spans = eventually("the request and attempt spans to be exported", || async {
        provider.force_flush().expect("flush spans");
        let spans = exporter.get_finished_spans().expect("finished spans");
        let done = spans.iter().any(|s| is_attempt_of(s, &msg_id)) && spans.iter().any(is_message_request);
        done.then_some(spans)
    })
    .await;

    let attempt = spans
        .iter()
        .find(|s| is_attempt_of(s, &msg_id))
        .expect("attempt span");
    let by_id: HashMap<SpanId, &SpanData> = spans.iter().map(|s| (s.span_context.span_id(), s)).collect();
    let chain: Vec<&SpanData> =
        std::iter::successors(Some(attempt), |s| by_id.get(&s.parent_span_id).copied()).collect();
    let names: Vec<&str> = chain.iter().map(|s| s.name.as_ref()).collect();
    // The message was fanned out at ingest, in the request: its attempt is the request's child.
    assert_eq!(names, ["delivery_attempt", "request"]);
    let request = chain.last().expect("the chain's root");
    assert!(is_message_request(request), "{request:?}");
    let trace_id = request.span_context.trace_id();
    assert!(chain.iter().all(|s| s.span_context.trace_id() == trace_id));
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

fn is_attempt_of(span: &SpanData, msg_id: &str) -> bool {
    span.name == "delivery_attempt" && attribute(span, "msg_id").as_deref() == Some(msg_id)
}

fn is_message_request(span: &SpanData) -> bool {
    span.name == "request"
        && attribute(span, "method").as_deref() == Some("POST")
        && attribute(span, "path").is_some_and(|p| p.ends_with("/msg"))
}
