//! Messages: `MessageIn` as a sender posts it (its payload kept as the raw bytes received) and `MessageOut`
//! to answer, with or without the payload.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use xwebhook_engine::domain::{Channel, EventTypeName, Message, Payload, Uid};

use super::application::ApplicationIn;
use super::not_supported::NotSupported;

/// Payloads are kept this many days unless the sender asks otherwise.
pub use xwebhook_engine::intake::DEFAULT_RETENTION_DAYS;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageIn {
    #[schema(value_type = String)]
    pub event_type: EventTypeName,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub event_id: Option<Uid>,
    /// The webhook's content: a JSON object nested at most 124 levels deep (the object itself is level 1),
    /// kept and sent exactly as given.
    #[schema(value_type = Object)]
    pub payload: Box<RawValue>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<BTreeSet<Channel>>,
    /// Days the payload is kept, 5 to 90 (90 when neither this nor `payloadRetentionHours` is sent).
    #[serde(default)]
    pub payload_retention_period: Option<i64>,
    /// Creates the application on the fly when it does not exist.
    #[serde(default)]
    pub application: Option<ApplicationIn>,
    /// When to deliver (at least `XWEBHOOK_DELIVER_AT_MIN_DELAY`, a minute by default, and at most 24 hours
    /// ahead); absent: at once.
    #[serde(default)]
    pub deliver_at: Option<DateTime<Utc>>,
    /// Labels to filter the message listing by (`tag`): at most 16, each 1 to 128 characters.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub transformations_params: NotSupported,
    /// Hours the payload is kept, 1 to 2160 (90 days); not with `payloadRetentionPeriod`.
    #[serde(default)]
    pub payload_retention_hours: Option<i64>,
}

/// Would a message of this event type, on these channels, reach any endpoint now?
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagePrecheckIn {
    #[schema(value_type = String)]
    pub event_type: EventTypeName,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<BTreeSet<Channel>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessagePrecheckOut {
    /// Whether any enabled endpoint of the application would be sent such a message.
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageOut {
    pub id: String,
    pub event_type: String,
    pub event_id: Option<String>,
    #[schema(value_type = Object)]
    pub payload: Payload,
    pub channels: Option<Vec<String>>,
    pub timestamp: DateTime<Utc>,
    /// When a scheduled message is (or was) delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

impl MessageOut {
    pub fn new(m: Message, with_content: bool) -> Self {
        Self {
            id: m.id.to_string(),
            event_type: m.event_type.to_string(),
            event_id: m.event_id.map(String::from),
            payload: if with_content { m.payload } else { Payload::empty() },
            channels: m.channels.map(|c| c.iter().map(ToString::to_string).collect()),
            timestamp: m.created_at,
            deliver_at: m.deliver_at,
            tags: (!m.tags.is_empty()).then_some(m.tags),
        }
    }
}
