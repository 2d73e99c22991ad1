//! Applications: `ApplicationIn` to create or replace, `ApplicationPatch` to change, `ApplicationOut` to answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xwebhook_engine::domain::{Application, BoundedMetadata, Metadata, Name, Uid};

use super::double_option;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationIn {
    /// Not blank; at most 256 characters, no NUL.
    #[schema(value_type = String, min_length = 1, max_length = 256)]
    pub name: Name,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Uid>,
    /// The older name of `throttleRate`; `throttleRate` wins when both are sent.
    #[serde(default)]
    #[schema(format = "uint16", minimum = 1)]
    pub rate_limit: Option<u16>,
    /// The most messages per second delivered to this application's endpoints taken together, across every
    /// process, beside each endpoint's own `throttleRate`; at least 1. None: no application-wide limit.
    #[serde(default)]
    #[schema(format = "uint16", minimum = 1)]
    pub throttle_rate: Option<u16>,
    /// At most 64 keys of at most 256 characters, 16 KiB of keys and values in all, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Option<BoundedMetadata>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPatch {
    /// Not blank; at most 256 characters, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 256)]
    pub name: Option<Name>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Option<Uid>>,
    /// The older name of `throttleRate`; `throttleRate` wins when both are sent.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(format = "uint16", minimum = 1)]
    pub rate_limit: Option<Option<u16>>,
    /// The most messages per second delivered to this application's endpoints taken together, across every
    /// process, beside each endpoint's own `throttleRate`; at least 1. Null removes the limit; absent keeps it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(format = "uint16", minimum = 1)]
    pub throttle_rate: Option<Option<u16>>,
    /// At most 64 keys of at most 256 characters, 16 KiB of keys and values in all, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Option<BoundedMetadata>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationOut {
    pub id: String,
    pub uid: Option<String>,
    pub name: String,
    #[schema(format = "uint16")]
    pub rate_limit: Option<u16>,
    #[schema(format = "uint16")]
    pub throttle_rate: Option<u16>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Application> for ApplicationOut {
    fn from(a: Application) -> Self {
        Self {
            id: a.id.to_string(),
            uid: a.uid.map(String::from),
            name: a.name,
            rate_limit: a.rate_limit,
            throttle_rate: a.rate_limit,
            metadata: a.metadata,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}
