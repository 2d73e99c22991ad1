use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xwebhook_engine::domain::{Application, Metadata, Uid};

use super::double_option;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationIn {
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Uid>,
    #[serde(default)]
    #[schema(format = "uint16")]
    pub rate_limit: Option<u16>,
    /// The contract's older name for `rateLimit`.
    #[serde(default)]
    #[schema(format = "uint16")]
    pub throttle_rate: Option<u16>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Option<Uid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(format = "uint16")]
    pub rate_limit: Option<Option<u16>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(format = "uint16")]
    pub throttle_rate: Option<Option<u16>>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
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
