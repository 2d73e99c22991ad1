//! Free-form text of the API with bounded sizes: application names, descriptions, metadata, event-type schemas.
//!
//! Two rules hold for every one of them:
//! - **No NUL character.** PostgreSQL cannot store `\u0000` in `text` or `jsonb`; the embedded and Redis stores
//!   can. Refusing it here, before any store sees it, makes every backend answer the same 422.
//! - **A documented maximum size.** Records are read on every listing and endpoints on every fan-out, so one
//!   900 KB name would slow every request that touches it; Svix's contract bounds UIDs (256) but not these, so
//!   the bounds below are ours (documented in the README and the OpenAPI document).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Metadata;

/// Why a text was rejected, in words an API client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must not contain the NUL character (\\u0000)")]
    Nul,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must have at most {max} keys")]
    TooManyKeys { max: usize },
    #[error("key `{key}` {error}")]
    Key { key: String, error: Box<TextError> },
    #[error("value of `{key}` {error}")]
    Value { key: String, error: Box<TextError> },
    #[error("must be at most {max} bytes in all")]
    TooLarge { max: usize },
}

/// The rules every free-form text shares: no NUL, at most `max` characters (as JSON Schema's `maxLength` counts).
pub fn check_text(s: &str, max: usize) -> Result<(), TextError> {
    if s.contains('\0') {
        return Err(TextError::Nul);
    }
    // Bytes bound characters from above: count characters only when the bytes alone cannot decide.
    if s.len() > max && s.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    Ok(())
}

/// An application's name: not blank, at most [`Name::MAX_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    pub const MAX_LEN: usize = 256;
}

impl TryFrom<String> for Name {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, TextError> {
        if s.trim().is_empty() {
            return Err(TextError::Empty);
        }
        check_text(&s, Self::MAX_LEN)?;
        Ok(Self(s))
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0
    }
}

/// A description of an endpoint or an event type: at most [`Description::MAX_LEN`] characters, may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    pub const MAX_LEN: usize = 4096;
}

impl TryFrom<String> for Description {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, TextError> {
        check_text(&s, Self::MAX_LEN)?;
        Ok(Self(s))
    }
}

impl From<Description> for String {
    fn from(d: Description) -> String {
        d.0
    }
}

/// Metadata as a client may set it: at most [`MAX_KEYS`](Self::MAX_KEYS) keys of at most
/// [`MAX_KEY_LEN`](Self::MAX_KEY_LEN) characters, and [`MAX_BYTES`](Self::MAX_BYTES) of keys and values in all.
/// The total, not a per-value bound, is what keeps a record small; 16 KiB leaves room for a few long values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, String>", into = "BTreeMap<String, String>")]
pub struct BoundedMetadata(Metadata);

impl BoundedMetadata {
    pub const MAX_KEYS: usize = 64;
    pub const MAX_KEY_LEN: usize = 256;
    pub const MAX_BYTES: usize = 16 * 1024;

    pub fn into_inner(self) -> Metadata {
        self.0
    }
}

impl TryFrom<Metadata> for BoundedMetadata {
    type Error = TextError;
    fn try_from(m: Metadata) -> Result<Self, TextError> {
        if m.len() > Self::MAX_KEYS {
            return Err(TextError::TooManyKeys { max: Self::MAX_KEYS });
        }
        let mut total = 0;
        for (key, value) in &m {
            let located = |error| TextError::Key {
                key: key.clone(),
                error: Box::new(error),
            };
            check_text(key, Self::MAX_KEY_LEN).map_err(located)?;
            check_text(value, Self::MAX_BYTES).map_err(|error| TextError::Value {
                key: key.clone(),
                error: Box::new(error),
            })?;
            total += key.len() + value.len();
        }
        if total > Self::MAX_BYTES {
            return Err(TextError::TooLarge { max: Self::MAX_BYTES });
        }
        Ok(Self(m))
    }
}

impl From<BoundedMetadata> for Metadata {
    fn from(m: BoundedMetadata) -> Metadata {
        m.0
    }
}

/// An event type's JSON Schemas: at most [`Schemas::MAX_BYTES`] as compact JSON, no NUL in any key or string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "serde_json::Value")]
pub struct Schemas(serde_json::Value);

impl Schemas {
    /// Generous for hand-written schemas; a schema this large is generated and belongs in a schema registry.
    pub const MAX_BYTES: usize = 256 * 1024;

    pub fn as_value(&self) -> &serde_json::Value {
        &self.0
    }

    pub fn into_inner(self) -> serde_json::Value {
        self.0
    }
}

impl TryFrom<serde_json::Value> for Schemas {
    type Error = TextError;
    fn try_from(v: serde_json::Value) -> Result<Self, TextError> {
        if v.to_string().len() > Self::MAX_BYTES {
            return Err(TextError::TooLarge { max: Self::MAX_BYTES });
        }
        if holds_nul(&v) {
            return Err(TextError::Nul);
        }
        Ok(Self(v))
    }
}

impl From<Schemas> for serde_json::Value {
    fn from(s: Schemas) -> serde_json::Value {
        s.0
    }
}

/// Whether any key or string in `v` holds a NUL. The recursion is bounded: serde_json refuses to parse JSON
/// nested deeper than 128 levels.
fn holds_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        let cases: &[(&str, usize, Result<(), TextError>)] = &[
            ("", 4, Ok(())),
            ("abcd", 4, Ok(())),
            ("ääää", 4, Ok(())),
            ("abcde", 4, Err(TextError::TooLong { max: 4 })),
            ("a\0b", 4, Err(TextError::Nul)),
        ];
        for (input, max, expected) in cases {
            assert_eq!(&check_text(input, *max), expected, "{input:?}");
        }
    }

    #[test]
    fn names_are_not_blank_and_bounded() {
        assert_eq!(Name::try_from("  ".to_owned()).err(), Some(TextError::Empty));
        assert!(Name::try_from("x".repeat(256)).is_ok());
        assert_eq!(
            Name::try_from("x".repeat(257)).err(),
            Some(TextError::TooLong { max: 256 })
        );
        assert_eq!(Description::try_from("\0".to_owned()).err(), Some(TextError::Nul));
        assert!(Description::try_from(String::new()).is_ok());
    }

    fn metadata(pairs: &[(&str, &str)]) -> Metadata {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn metadata_bounds() {
        let long_value = "v".repeat(BoundedMetadata::MAX_BYTES);
        let many: Metadata = (0..=BoundedMetadata::MAX_KEYS)
            .map(|i| (i.to_string(), String::new()))
            .collect();
        let cases = [
            (metadata(&[("a", "b")]), true),
            (metadata(&[("a\0", "b")]), false),
            (metadata(&[("a", "b\0")]), false),
            (metadata(&[(&"k".repeat(257), "b")]), false),
            (metadata(&[("a", &long_value)]), false),
            (metadata(&[("a", &long_value[1..])]), true),
            (many, false),
        ];
        for (i, (m, ok)) in cases.into_iter().enumerate() {
            assert_eq!(BoundedMetadata::try_from(m).is_ok(), ok, "case {i}");
        }
    }

    #[test]
    fn schemas_hold_no_nul() {
        let schemas: serde_json::Value = serde_json::from_str(r#"{"1":{"title":"\u0000"}}"#).expect("json");
        assert_eq!(Schemas::try_from(schemas).err(), Some(TextError::Nul));
    }
}
