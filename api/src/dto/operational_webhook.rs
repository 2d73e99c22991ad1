//! Operational webhook endpoints (`/api/v1/operational-webhook/endpoint`): the SDK's shapes, which are an
//! endpoint's without channels. `eventTypes` is the SDK's name; `filterTypes`, the endpoint's, is accepted too.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xwebhook_engine::domain::{
    BoundedMetadata, Description, EndpointSecret, EndpointUrl, EventTypeName, Metadata, Uid,
};

use super::endpoint::{EndpointIn, EndpointOut};

/// Body of create (POST).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationalWebhookEndpointIn {
    #[schema(value_type = String)]
    pub url: EndpointUrl,
    /// At most 4096 characters, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 4096)]
    pub description: Option<Description>,
    /// At most this many operational webhooks a second; at least 1.
    #[serde(default)]
    #[schema(format = "uint16", minimum = 1)]
    pub throttle_rate: Option<u16>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Uid>,
    #[serde(default)]
    pub disabled: Option<bool>,
    /// The operational event types to receive (`endpoint.created`, `message.attempt.exhausted`, …); null: all.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<BTreeSet<EventTypeName>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub filter_types: Option<BTreeSet<EventTypeName>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub secret: Option<EndpointSecret>,
    /// At most 64 keys of at most 256 characters, 16 KiB of keys and values in all, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Option<BoundedMetadata>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
}

/// Body of update (PUT): create's, without the secret and headers, which have routes of their own.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationalWebhookEndpointUpsertIn {
    #[schema(value_type = String)]
    pub url: EndpointUrl,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 4096)]
    pub description: Option<Description>,
    #[serde(default)]
    #[schema(format = "uint16", minimum = 1)]
    pub throttle_rate: Option<u16>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Uid>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<BTreeSet<EventTypeName>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub filter_types: Option<BTreeSet<EventTypeName>>,
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Option<BoundedMetadata>,
}

impl From<OperationalWebhookEndpointIn> for EndpointIn {
    fn from(o: OperationalWebhookEndpointIn) -> Self {
        Self {
            url: o.url,
            description: o.description,
            disabled: o.disabled,
            filter_types: o.filter_types,
            event_types: o.event_types,
            channels: None,
            uid: o.uid,
            rate_limit: None,
            throttle_rate: o.throttle_rate,
            metadata: o.metadata,
            secret: o.secret,
            headers: o.headers,
        }
    }
}

/// A replacement is a creation's body without the secret and headers, which keep their own routes.
impl From<OperationalWebhookEndpointUpsertIn> for EndpointIn {
    fn from(o: OperationalWebhookEndpointUpsertIn) -> Self {
        OperationalWebhookEndpointIn {
            url: o.url,
            description: o.description,
            throttle_rate: o.throttle_rate,
            uid: o.uid,
            disabled: o.disabled,
            event_types: o.event_types,
            filter_types: o.filter_types,
            secret: None,
            metadata: o.metadata,
            headers: None,
        }
        .into()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationalWebhookEndpointOut {
    pub id: String,
    pub uid: Option<String>,
    pub url: String,
    pub description: String,
    pub disabled: bool,
    pub event_types: Option<Vec<String>>,
    pub filter_types: Option<Vec<String>>,
    #[schema(format = "uint16")]
    pub throttle_rate: Option<u16>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EndpointOut> for OperationalWebhookEndpointOut {
    fn from(e: EndpointOut) -> Self {
        Self {
            id: e.id,
            uid: e.uid,
            url: e.url,
            description: e.description,
            disabled: e.disabled,
            event_types: e.event_types,
            filter_types: e.filter_types,
            throttle_rate: e.throttle_rate,
            metadata: e.metadata,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}
