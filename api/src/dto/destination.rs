//! Destinations beyond webhook endpoints (the SDK's `destination` and `message_poller` families): `DestinationIn`
//! to create or replace, `DestinationPatch` to change, `DestinationOut` to answer, and a poller's page.
//!
//! A destination's `config` is its type's own (see the `destinations` crate): read here as plain JSON and handed
//! to the type, which refuses what it does not know by name.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use xwebhook_engine::domain::{
    BoundedMetadata, Channel, EventTypeName, Metadata, Payload, Position, SinkAttempt, Uid,
};
use xwebhook_engine::sink::SinkEvent;
use xwebhook_engine::store::SinkWithState;

use super::double_option;

/// Whether a destination receives events (`status` in a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DestinationStatusIn {
    Enabled,
    Disabled,
}

/// Where a destination stands: `retrying` while its head batch keeps failing. `paused` is the SDK's, never
/// reported here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DestinationStatus {
    Enabled,
    Paused,
    Disabled,
    Retrying,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationIn {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Uid>,
    #[serde(default)]
    pub status: Option<DestinationStatusIn>,
    /// How many events one delivery carries at most: 1 to 1000, 100 when absent.
    #[serde(default)]
    #[schema(format = "uint16")]
    pub batch_size: Option<u16>,
    /// How long a partial batch waits before it is sent anyway: 0 to 3600 seconds, 0 when absent.
    #[serde(default)]
    #[schema(format = "uint32")]
    pub max_wait_secs: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<BTreeSet<EventTypeName>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<BTreeSet<Channel>>,
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Option<BoundedMetadata>,
    /// `fifoEndpoint`, `pollingEndpoint` or `rabbitMq`; the SDK's other types are refused naming the type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The type's settings.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Option<Uid>>,
    #[serde(default)]
    pub status: Option<DestinationStatusIn>,
    #[serde(default)]
    #[schema(format = "uint16")]
    pub batch_size: Option<u16>,
    #[serde(default)]
    #[schema(format = "uint32")]
    pub max_wait_secs: Option<u32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<Option<BTreeSet<EventTypeName>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<Option<BTreeSet<Channel>>>,
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Option<BoundedMetadata>,
    /// The destination's type, which cannot change.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Changes to the type's settings.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationOut {
    pub id: String,
    pub uid: Option<String>,
    pub status: DestinationStatus,
    /// Where deliveries stand: the last event delivered (a pushing type), as a poller's iterator.
    pub current_iterator: String,
    /// Why the head batch failed, while it is being retried.
    pub failure_reason: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(format = "uint16")]
    pub batch_size: u16,
    #[schema(format = "uint32")]
    pub max_wait_secs: u32,
    pub event_types: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub metadata: Metadata,
    #[serde(rename = "type")]
    pub type_name: String,
    /// The type's settings as it shows them: never a secret.
    #[schema(value_type = Object)]
    pub config: Value,
}

fn strings<T: ToString>(set: &Option<BTreeSet<T>>) -> Option<Vec<String>> {
    set.as_ref().map(|s| s.iter().map(ToString::to_string).collect())
}

impl DestinationOut {
    /// The destination as the API shows it, with `config` as its type shows it.
    pub fn new(found: SinkWithState, config: Value) -> Self {
        let SinkWithState { sink, state } = found;
        let status = match (sink.disabled, state.is_retrying()) {
            (true, _) => DestinationStatus::Disabled,
            (false, true) => DestinationStatus::Retrying,
            (false, false) => DestinationStatus::Enabled,
        };
        Self {
            id: sink.id.to_string(),
            uid: sink.uid.map(String::from),
            status,
            current_iterator: state.position.unwrap_or(Position::START).to_string(),
            failure_reason: state.failure_reason,
            next_retry_at: state.next_retry_at,
            created_at: sink.created_at,
            updated_at: sink.updated_at,
            batch_size: sink.batch_size,
            max_wait_secs: sink.max_wait_secs,
            event_types: strings(&sink.event_types),
            channels: strings(&sink.channels),
            metadata: sink.metadata,
            type_name: sink.type_name,
            config,
        }
    }
}

/// One batch sent to a pushing destination: its equivalent of an endpoint's attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationAttemptOut {
    pub timestamp: DateTime<Utc>,
    /// The log positions (as iterators) of the batch's first and last events.
    pub first_iterator: String,
    pub last_iterator: String,
    #[schema(format = "uint32")]
    pub events: u32,
    pub delivered: bool,
    pub failure_reason: Option<String>,
    #[schema(format = "uint64")]
    pub response_duration_ms: u64,
}

impl From<SinkAttempt> for DestinationAttemptOut {
    fn from(a: SinkAttempt) -> Self {
        Self {
            timestamp: a.at,
            first_iterator: a.first.to_string(),
            last_iterator: a.last.to_string(),
            events: a.events,
            delivered: a.failure.is_none(),
            failure_reason: a.failure,
            response_duration_ms: a.took_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DestinationSecretRotateOut {
    /// The new signing secret.
    pub key: String,
}

/// One event as a poller reads it (the SDK's `PollingEndpointMessageOut`); a FIFO endpoint's batches hold the
/// same.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollingEndpointMessageOut {
    pub id: String,
    pub event_id: Option<String>,
    pub event_type: String,
    #[schema(value_type = Object)]
    pub payload: Payload,
    pub channels: Option<Vec<String>>,
    pub timestamp: DateTime<Utc>,
    pub tags: Option<Vec<String>>,
    pub deliver_at: Option<DateTime<Utc>>,
}

impl From<SinkEvent> for PollingEndpointMessageOut {
    fn from(e: SinkEvent) -> Self {
        Self {
            id: e.id.to_string(),
            event_id: e.event_id.map(String::from),
            event_type: e.event_type.to_string(),
            payload: e.payload,
            channels: strings(&e.channels),
            timestamp: e.timestamp,
            tags: (!e.tags.is_empty()).then_some(e.tags),
            deliver_at: e.deliver_at,
        }
    }
}

/// A poller's page (the SDK's `PollingEndpointOut`): `iterator` resumes after it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PollingEndpointOut {
    pub data: Vec<PollingEndpointMessageOut>,
    pub iterator: String,
    pub done: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PollingEndpointConsumerSeekIn {
    /// The consumer reads what was sent at or after this time next.
    pub after: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PollingEndpointConsumerSeekOut {
    pub iterator: String,
}

/// A token that can read one poller and nothing else (the SDK's `ApiTokenOut`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiTokenOut {
    pub id: String,
    pub token: String,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: Option<Vec<String>>,
}
