//! Event types: `EventTypeIn` to create, `EventTypeUpdate` to replace (PUT, which creates a missing one),
//! `EventTypePatch` to change, `EventTypeOut` to answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xwebhook_engine::domain::{Description, EventType, EventTypeName, Schemas};

use super::double_option;
use super::not_supported::NotSupported;

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
    #[serde(default)]
    pub feature_flag: Option<String>,
    /// Newer SDKs send a list; Xwebhook keeps one flag per event type and refuses more.
    #[serde(default)]
    pub feature_flags: Option<Vec<String>>,
    #[serde(default)]
    pub group_name: NotSupported,
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
    #[serde(default)]
    pub feature_flag: Option<String>,
    /// Newer SDKs send a list; Xwebhook keeps one flag per event type and refuses more.
    #[serde(default)]
    pub feature_flags: Option<Vec<String>>,
    #[serde(default)]
    pub group_name: NotSupported,
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
    #[serde(default)]
    pub group_name: NotSupported,
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
    pub feature_flag: Option<String>,
    pub feature_flags: Option<Vec<String>>,
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
            feature_flags: e.feature_flag.clone().map(|f| vec![f]),
            feature_flag: e.feature_flag,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}
