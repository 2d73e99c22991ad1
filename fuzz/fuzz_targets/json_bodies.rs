//! Every JSON request body the API decodes, fed the same bytes: decoding must never panic, a rejection must map
//! to a 4xx (a 5xx would be our fault, not the client's), and a message payload that is accepted must be kept as
//! a JSON object byte for byte.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use xwebhook_api::dto::application::{ApplicationIn, ApplicationPatch};
use xwebhook_api::dto::endpoint::{
    EndpointHeadersIn, EndpointHeadersPatchIn, EndpointIn, EndpointPatch, EndpointSecretRotateIn,
};
use xwebhook_api::dto::event_type::{EventTypeIn, EventTypePatch, EventTypeUpdate};
use xwebhook_api::dto::message::MessageIn;
use xwebhook_api::fuzzing::{decode_json, status_of};
use xwebhook_engine::domain::{Payload, PayloadError};

fuzz_target!(|data: &[u8]| {
    decodes::<ApplicationIn>(data);
    decodes::<ApplicationPatch>(data);
    decodes::<EndpointIn>(data);
    decodes::<EndpointPatch>(data);
    decodes::<EndpointSecretRotateIn>(data);
    decodes::<EndpointHeadersIn>(data);
    decodes::<EndpointHeadersPatchIn>(data);
    decodes::<EventTypeIn>(data);
    decodes::<EventTypeUpdate>(data);
    decodes::<EventTypePatch>(data);
    if let Some(message) = decodes::<MessageIn>(data) {
        payload_is_kept(message.payload);
    }
    if let Some(raw) = decodes::<Box<RawValue>>(data) {
        payload_is_kept(raw);
    }
});

/// Decodes `data` as the extractor does; a rejection must be the client's fault.
fn decodes<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    match decode_json::<T>(data) {
        Ok(value) => Some(value),
        Err(e) => {
            let status = status_of(e);
            assert!(status.is_client_error(), "a body was rejected with {status}");
            None
        }
    }
}

/// What `POST …/msg` does with a payload: only objects nested at most `Payload::MAX_DEPTH` levels are accepted,
/// and their text is stored untouched.
fn payload_is_kept(raw: Box<RawValue>) {
    let text = raw.get().to_owned();
    // Checked as syntax only: JSON numbers have no range, and payloads are never read as `f64`s (`1e400` is a
    // valid payload that `serde_json::Value` cannot hold).
    let is_object = serde_json::from_str::<BTreeMap<String, IgnoredAny>>(&text).is_ok();
    // As a client reads it: inside the message list, with serde_json's default depth limit.
    let listed = format!(r#"{{"data":[{{"payload":{text}}}],"done":true}}"#);
    let list_parses = serde_json::from_str::<IgnoredAny>(&listed).is_ok();
    match Payload::from_sender(raw) {
        Ok(payload) => {
            assert_eq!(payload.as_str(), text, "the payload's text changed");
            assert!(is_object, "an accepted payload is not a JSON object: {text}");
            assert!(
                list_parses,
                "a client cannot parse the list of an accepted payload: {text}"
            );
            // Stored records hold the payload through its own serde impls.
            let stored = serde_json::to_string(&payload).expect("a payload serializes");
            let back: Payload = serde_json::from_str(&stored).expect("a stored payload loads");
            assert_eq!(back, payload);
        }
        Err(PayloadError::NotAnObject) => assert!(!is_object, "an object payload was refused: {text}"),
        // Refused only when a client could not parse the message list holding it.
        Err(PayloadError::TooDeep { .. }) => {
            assert!(
                !list_parses,
                "a payload clients could read was refused as too deep: {text}"
            )
        }
    }
}
