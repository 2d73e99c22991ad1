//! Endpoints: `EndpointIn` to create or replace, `EndpointPatch` to change, `EndpointOut` to answer, and the
//! shapes of their two sub-resources, the signing secret and the custom headers.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xwebhook_engine::domain::{
    BoundedMetadata, Channel, Description, Endpoint, EndpointSecret, EndpointUrl, EventTypeName, Metadata,
    Uid,
};

use super::double_option;

/// Body of create (POST) and replace (PUT). `filterTypes` is the contract's name for `eventTypes`; either is
/// accepted, and both are returned.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointIn {
    #[schema(value_type = String)]
    pub url: EndpointUrl,
    /// At most 4096 characters, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 4096)]
    pub description: Option<Description>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub filter_types: Option<BTreeSet<EventTypeName>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<BTreeSet<EventTypeName>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<BTreeSet<Channel>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Uid>,
    #[serde(default)]
    #[schema(format = "uint16")]
    pub rate_limit: Option<u16>,
    #[serde(default)]
    #[schema(format = "uint16")]
    pub throttle_rate: Option<u16>,
    /// At most 64 keys of at most 256 characters, 16 KiB of keys and values in all, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Option<BoundedMetadata>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub secret: Option<EndpointSecret>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub url: Option<EndpointUrl>,
    /// At most 4096 characters, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 4096)]
    pub description: Option<Description>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub filter_types: Option<Option<BTreeSet<EventTypeName>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<Option<BTreeSet<EventTypeName>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<Option<BTreeSet<Channel>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Option<Uid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(format = "uint16")]
    pub rate_limit: Option<Option<u16>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(format = "uint16")]
    pub throttle_rate: Option<Option<u16>>,
    /// At most 64 keys of at most 256 characters, 16 KiB of keys and values in all, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Option<BoundedMetadata>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointOut {
    pub id: String,
    pub uid: Option<String>,
    pub url: String,
    pub description: String,
    pub disabled: bool,
    pub filter_types: Option<Vec<String>>,
    pub event_types: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    #[schema(format = "uint16")]
    pub rate_limit: Option<u16>,
    #[schema(format = "uint16")]
    pub throttle_rate: Option<u16>,
    pub metadata: Metadata,
    /// Deprecated in the contract, still read by older SDKs.
    pub version: u8,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn strings<T: ToString>(set: &Option<BTreeSet<T>>) -> Option<Vec<String>> {
    set.as_ref().map(|s| s.iter().map(ToString::to_string).collect())
}

impl From<Endpoint> for EndpointOut {
    fn from(e: Endpoint) -> Self {
        let types = strings(&e.event_types);
        Self {
            id: e.id.to_string(),
            uid: e.uid.map(String::from),
            url: e.url.as_str().to_owned(),
            description: e.description,
            disabled: e.disabled,
            filter_types: types.clone(),
            event_types: types,
            channels: strings(&e.channels),
            rate_limit: e.rate_limit,
            throttle_rate: e.rate_limit,
            metadata: e.metadata,
            version: 1,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointSecretOut {
    pub key: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSecretRotateIn {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub key: Option<EndpointSecret>,
    /// How long the old secret keeps signing (default one day, at most a week).
    #[serde(default)]
    #[schema(format = "uint32")]
    pub grace_period_seconds: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EndpointHeadersIn {
    pub headers: BTreeMap<String, String>,
}

/// A `null` value removes the header, as do the names in `deleteHeaders` (newer SDKs).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointHeadersPatchIn {
    pub headers: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub delete_headers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointHeadersOut {
    /// Headers whose values may be shown.
    pub headers: BTreeMap<String, String>,
    /// Names of headers whose values are withheld.
    pub sensitive: Vec<String>,
}
