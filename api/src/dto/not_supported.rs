//! A request field the SDK sends that Xwebhook does not implement (yet): accepted when absent or `null`, and
//! otherwise refused with 422 naming it, so that a caller never believes a field took effect when it did not.
//! The location comes from the body parser (`extract::parse_json`), which reports the failing field's path.
//!
//! In our OpenAPI document the description of such a field starts with [`DOC_PREFIX`]: the field is a `$ref`
//! to the `NotSupported` schema, or, where the contract types it, that type with the same words on the field. The test that walks the SDK's requests (`server/tests/it/sdk_fields.rs`)
//! finds them there and sends each one.

use serde::de::{Error, IgnoredAny};
use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::SchemaType;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema};

/// What the caller is told, after the field's location.
pub const NOT_SUPPORTED: &str = "not supported by Xwebhook: leave it out or send null";

/// How the OpenAPI description of every refused field starts. utoipa's attributes take
/// literals only, so each one spells it out; the SDK walk test reads it.
pub const DOC_PREFIX: &str = "Not supported by Xwebhook";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotSupported;

impl<'de> Deserialize<'de> for NotSupported {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<IgnoredAny>::deserialize(d)? {
            None => Ok(Self),
            Some(_) => Err(D::Error::custom(NOT_SUPPORTED)),
        }
    }
}

impl utoipa::PartialSchema for NotSupported {
    fn schema() -> RefOr<Schema> {
        // Untyped: the parser reads any JSON value here, to refuse it by name.
        ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .description(Some(format!(
                "{DOC_PREFIX}: a field of the Svix API that is not implemented; leave it out or send null, any \
                 other value is answered 422 naming the field."
            )))
            .into()
    }
}

impl utoipa::ToSchema for NotSupported {}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::error::ApiError;
    use crate::extract::parse_json;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        #[serde(default)]
        deliver_at: NotSupported,
    }

    #[test]
    fn absent_and_null_are_accepted() {
        for body in [r#"{}"#, r#"{"deliverAt": null}"#] {
            assert!(parse_json::<Body>(body.as_bytes()).is_ok(), "{body}");
        }
    }

    #[test]
    fn any_value_is_refused_by_name() {
        for value in [r#""2030-01-01T00:00:00Z""#, "0", "false", "[]", "{}", r#""""#] {
            let body = format!(r#"{{"deliverAt": {value}}}"#);
            let Err(ApiError::Validation(errors)) = parse_json::<Body>(body.as_bytes()) else {
                panic!("{body} was not refused");
            };
            assert_eq!(errors[0].loc, ["body", "deliverAt"], "{body}");
            assert_eq!(errors[0].msg, NOT_SUPPORTED, "{body}");
        }
    }
}
