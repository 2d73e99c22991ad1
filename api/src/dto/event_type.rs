//! Event types: `EventTypeIn` to create, `EventTypeUpdate` to replace (PUT, which creates a missing one),
//! `EventTypePatch` to change, `EventTypeOut` to answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xwebhook_engine::domain::{Description, EventType, EventTypeName, Schemas};

use super::double_option;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeIn {
    #[schema(value_type = String)]
    pub name: EventTypeName,
    /// At most 4096 characters, no NUL.
    #[schema(value_type = String, max_length = 4096)]
    pub description: Description,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<bool>,
    /// JSON Schemas by version (`{"1": {…}}`): at most 256 KiB as compact JSON, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, Object>>)]
    pub schemas: Option<Schemas>,
    /// The contract's single flag; `featureFlags` wins when both are given.
    #[serde(default)]
    pub feature_flag: Option<String>,
    /// Portal tokens see the event type only if they hold one of these (at most 32 flags, each like an event
    /// type name).
    #[serde(default)]
    pub feature_flags: Option<Vec<String>>,
    /// The group the portal lists the event type under (like an event type name).
    #[serde(default)]
    pub group_name: Option<String>,
}

/// PUT body: an event type without its name (the path names it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeUpdate {
    /// At most 4096 characters, no NUL.
    #[schema(value_type = String, max_length = 4096)]
    pub description: Description,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<bool>,
    /// JSON Schemas by version (`{"1": {…}}`): at most 256 KiB as compact JSON, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, Object>>)]
    pub schemas: Option<Schemas>,
    /// The contract's single flag; `featureFlags` wins when both are given.
    #[serde(default)]
    pub feature_flag: Option<String>,
    /// Portal tokens see the event type only if they hold one of these (at most 32 flags, each like an event
    /// type name).
    #[serde(default)]
    pub feature_flags: Option<Vec<String>>,
    /// The group the portal lists the event type under (like an event type name).
    #[serde(default)]
    pub group_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypePatch {
    /// At most 4096 characters, no NUL.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 4096)]
    pub description: Option<Description>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<HashMap<String, Object>>)]
    pub schemas: Option<Option<Schemas>>,
    #[serde(default, deserialize_with = "double_option")]
    pub feature_flag: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub feature_flags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    pub group_name: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeOut {
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub deprecated: bool,
    #[schema(value_type = Option<HashMap<String, Object>>)]
    pub schemas: Option<serde_json::Value>,
    /// The first of `featureFlags`, for clients of the contract's single flag.
    pub feature_flag: Option<String>,
    pub feature_flags: Option<Vec<String>>,
    pub group_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EventTypeOut {
    pub fn new(e: EventType, with_content: bool) -> Self {
        Self {
            name: e.name.to_string(),
            description: e.description,
            archived: e.archived,
            deprecated: e.deprecated,
            schemas: if with_content { e.schemas } else { None },
            feature_flag: e.feature_flags.first().cloned(),
            feature_flags: (!e.feature_flags.is_empty()).then_some(e.feature_flags),
            group_name: e.group_name,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}
