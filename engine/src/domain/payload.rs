//! Message payloads, kept as the raw JSON bytes the sender gave us.
//!
//! A payload is parsed once at the API edge (to check it is a JSON object) and never again: storage, fan-out and
//! signing all use the original text, shared by reference across every endpoint of a fan-out.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

#[derive(Debug, Clone)]
pub struct Payload(Arc<RawValue>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("payload must be a JSON object")]
    NotAnObject,
}

impl Payload {
    /// Wraps an already-parsed JSON value; only objects are webhooks.
    pub fn from_raw(raw: Box<RawValue>) -> Result<Self, PayloadError> {
        if !raw.get().trim_start().starts_with('{') {
            return Err(PayloadError::NotAnObject);
        }
        Ok(Self(Arc::from(raw)))
    }

    /// The placeholder left when a payload's content has been expunged.
    pub fn empty() -> Self {
        let raw =
            RawValue::from_string("{}".to_owned()).unwrap_or_else(|_| unreachable!("`{{}}` is valid JSON"));
        Self(Arc::from(raw))
    }

    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.get().as_bytes()
    }

    pub fn raw(&self) -> &RawValue {
        &self.0
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
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
}
