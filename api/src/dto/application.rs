//! Applications: `ApplicationIn` to create or replace, `ApplicationPatch` to change, `ApplicationOut` to answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xwebhook_engine::domain::{Application, BoundedMetadata, Metadata, Name, Uid};

use super::double_option;
use super::not_supported::NotSupported;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationIn {
    /// Not blank; at most 256 characters, no NUL.
    #[schema(value_type = String, min_length = 1, max_length = 256)]
    pub name: Name,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Uid>,
    /// Not supported by Xwebhook: an older Svix name of `throttleRate`, refused like it.
    #[serde(default)]
    #[schema(value_type = Option<u16>, format = "uint16")]
    pub rate_limit: NotSupported,
    /// Not supported by Xwebhook: an application-wide delivery rate is not enforced yet (each endpoint's own
    /// `throttleRate` is); leave it out or send null, any other value is answered 422.
    #[serde(default)]
    #[schema(value_type = Option<u16>, format = "uint16")]
    pub throttle_rate: NotSupported,
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
    /// Not supported by Xwebhook: an older Svix name of `throttleRate`, refused like it.
    #[serde(default)]
    #[schema(value_type = Option<u16>, format = "uint16")]
    pub rate_limit: NotSupported,
    /// Not supported by Xwebhook: an application-wide delivery rate is not enforced yet (each endpoint's own
    /// `throttleRate` is); leave it out or send null, any other value is answered 422.
    #[serde(default)]
    #[schema(value_type = Option<u16>, format = "uint16")]
    pub throttle_rate: NotSupported,
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
