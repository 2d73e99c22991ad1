//! Message payloads, kept as the raw JSON bytes the sender gave us.
//!
//! A payload is parsed once at the API edge (to check it is a JSON object) and never again: storage, fan-out and
//! signing all use the original text, shared by reference across every endpoint of a fan-out and every attempt's
//! outgoing request ([`Payload::to_bytes`]).
//!
//! Parsing into raw text does not recurse, so serde_json accepts any depth there; a payload nested 100 000
//! levels deep would be stored and then break every client that parses the message list (serde_json and most
//! parsers stop near 128). [`Payload::MAX_DEPTH`] refuses it at the edge instead.

use std::sync::Arc;

use bytes::Bytes;
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

#[derive(Debug, Clone)]
pub struct Payload(Content);

#[derive(Debug, Clone)]
enum Content {
    /// The sender's JSON object, as sent.
    Sent(Arc<RawValue>),
    /// The content was expunged; it reads as an empty object. A variant of its own, because serde_json offers no
    /// infallible way to make a `RawValue` of `{}`.
    Expunged,
}

/// What an expunged payload reads as.
const EXPUNGED: &str = "{}";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("payload must be a JSON object")]
    NotAnObject,
    #[error("payload must not be nested more than {max} levels deep")]
    TooDeep { max: usize },
}

impl Payload {
    /// The deepest nesting accepted, the payload object itself being level 1. serde_json's default recursion
    /// limit (and so the Rust SDK's) parses at most 127 levels, and the message list holds each payload 3 levels
    /// down (the list object, its `data` array, the message): at 124, every list a client reads stays parsable.
    pub const MAX_DEPTH: usize = 124;

    /// Accepts a sender's new payload: a JSON object nested at most [`Self::MAX_DEPTH`] levels deep.
    pub fn from_sender(raw: Box<RawValue>) -> Result<Self, PayloadError> {
        if depth_exceeds(raw.get().as_bytes(), Self::MAX_DEPTH) {
            return Err(PayloadError::TooDeep { max: Self::MAX_DEPTH });
        }
        Self::from_raw(raw)
    }

    /// Wraps an already-parsed JSON value; only objects are webhooks. Stores read payloads back through this
    /// one, without the depth bound, so that payloads accepted before the bound existed stay readable.
    pub fn from_raw(raw: Box<RawValue>) -> Result<Self, PayloadError> {
        if !raw.get().trim_start().starts_with('{') {
            return Err(PayloadError::NotAnObject);
        }
        Ok(Self(Content::Sent(Arc::from(raw))))
    }

    /// The placeholder left when a payload's content has been expunged: an empty object.
    pub fn empty() -> Self {
        Self(Content::Expunged)
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Content::Sent(raw) => raw.get(),
            Content::Expunged => EXPUNGED,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }

    /// The payload as a request body that shares this payload's memory: no copy per attempt, however many
    /// endpoints and retries send it.
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Content::Sent(raw) => Bytes::from_owner(SharedText(Arc::clone(raw))),
            Content::Expunged => Bytes::from_static(EXPUNGED.as_bytes()),
        }
    }
}

/// Lends a sent payload's text to a [`Bytes`], which keeps it alive as long as any request body holds it.
struct SharedText(Arc<RawValue>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.get().as_bytes()
    }
}

/// Whether valid JSON `text` nests objects and arrays deeper than `max`. One pass, no recursion; strings are
/// skipped whole so that brackets inside them do not count.
fn depth_exceeds(text: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => i = string_end(text, i + 1),
            _ => {}
        }
        i += 1;
    }
    false
}

/// The index of the quote closing the string that starts at `from` (just after its opening quote).
fn string_end(text: &[u8], mut from: usize) -> usize {
    while let Some(&b) = text.get(from) {
        match b {
            b'\\' => from += 2,
            b'"' => return from,
            _ => from += 1,
        }
    }
    text.len()
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Content::Sent(raw) => raw.serialize(s),
            Content::Expunged => s.serialize_map(Some(0))?.end(),
        }
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Self::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expunged_payload_reads_and_writes_as_an_empty_object() {
        let empty = Payload::empty();
        assert_eq!(empty.as_str(), "{}");
        assert_eq!(serde_json::to_string(&empty).expect("encode"), "{}");
        let read: Payload = serde_json::from_str("{}").expect("decode");
        assert_eq!(read, empty);
    }

    #[test]
    fn request_bodies_share_the_payload_text() {
        let raw: Box<RawValue> = serde_json::from_str(r#"{"a": 1}"#).expect("valid json");
        let payload = Payload::from_raw(raw).expect("object");
        let body = payload.to_bytes();
        assert_eq!(&body[..], payload.as_bytes());
        assert_eq!(body.as_ptr(), payload.as_bytes().as_ptr(), "no copy");
        drop(payload);
        assert_eq!(&body[..], br#"{"a": 1}"#, "the body outlives the payload");
        assert_eq!(&Payload::empty().to_bytes()[..], b"{}");
    }

    #[test]
    fn only_objects_are_payloads() {
        let obj: Box<RawValue> = serde_json::from_str(r#" {"a": 1}"#).expect("valid json");
        assert_eq!(
            Payload::from_raw(obj).map(|p| p.as_str().to_owned()),
            Ok(r#"{"a": 1}"#.to_owned())
        );
        for bad in ["[1]", "1", "\"s\"", "null"] {
            let raw: Box<RawValue> = serde_json::from_str(bad).expect("valid json");
            assert_eq!(
                Payload::from_raw(raw).err(),
                Some(PayloadError::NotAnObject),
                "{bad}"
            );
        }
    }

    fn nested(depth: usize) -> String {
        format!("{}{}", r#"{"a":"#.repeat(depth - 1) + "{", "}".repeat(depth))
    }

    #[test]
    fn nesting_is_bounded() {
        let deep_array = format!(r#"{{"a":{}{}}}"#, "[".repeat(128), "]".repeat(128));
        let cases = [
            (nested(1), true),
            (nested(124), true),
            (nested(125), false),
            (nested(100_000), false),
            // Brackets and escaped quotes inside strings do not count.
            (
                format!(r#"{{"a":"{}\"{}"}}"#, "[".repeat(200), "{".repeat(200)),
                true,
            ),
            (deep_array, false),
        ];
        for (i, (text, ok)) in cases.into_iter().enumerate() {
            let raw = RawValue::from_string(text).expect("valid json");
            let got = Payload::from_sender(raw).err();
            let expected = (!ok).then_some(PayloadError::TooDeep {
                max: Payload::MAX_DEPTH,
            });
            assert_eq!(got, expected, "case {i}");
        }
    }
}
