//! Delivery history, read-only: an attempt (`MessageAttemptOut`), a message's state at each endpoint
//! (`MessageEndpointOut`) and an endpoint's messages with their state there (`EndpointMessageOut`).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xwebhook_engine::domain::{Attempt, Destination, Endpoint, Message, MessageStatus};

use super::endpoint::EndpointOut;
use super::message::MessageOut;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageAttemptOut {
    pub id: String,
    pub msg_id: String,
    pub endpoint_id: String,
    pub url: String,
    pub response: String,
    #[schema(format = "int16")]
    pub response_status_code: i16,
    pub response_duration_ms: i64,
    /// 0 success, 1 pending, 2 fail, 3 sending.
    pub status: u8,
    pub status_text: Cow<'static, str>,
    /// 0 scheduled, 1 manual.
    pub trigger_type: u8,
    pub timestamp: DateTime<Utc>,
    /// The attempt's message, without its payload, when the listing is asked `with_msg=true`; absent when the
    /// message is gone (its retention ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<MessageOut>,
}

impl From<Attempt> for MessageAttemptOut {
    fn from(a: Attempt) -> Self {
        Self {
            id: a.id.to_string(),
            msg_id: a.msg_id.to_string(),
            endpoint_id: a.endpoint_id.to_string(),
            url: a.url,
            response: a.response,
            response_status_code: a.response_status_code,
            response_duration_ms: a.response_duration_ms,
            status: a.status.code(),
            status_text: a.status.text().into(),
            trigger_type: a.trigger.code(),
            timestamp: a.created_at,
            msg: None,
        }
    }
}

/// An endpoint a message was (or is being) sent to, with that delivery's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageEndpointOut {
    #[serde(flatten)]
    pub endpoint: EndpointOut,
    pub status: u8,
    pub status_text: Cow<'static, str>,
    pub next_attempt: Option<DateTime<Utc>>,
}

impl MessageEndpointOut {
    pub fn new(endpoint: Endpoint, d: &Destination) -> Self {
        Self {
            endpoint: endpoint.into(),
            status: d.status.code(),
            status_text: d.status.text().into(),
            next_attempt: pending_time(d),
        }
    }
}

/// A message sent (or being sent) to an endpoint, with that delivery's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointMessageOut {
    #[serde(flatten)]
    pub message: MessageOut,
    pub status: u8,
    pub status_text: Cow<'static, str>,
    pub next_attempt: Option<DateTime<Utc>>,
}

impl EndpointMessageOut {
    pub fn new(message: Message, d: &Destination, with_content: bool) -> Self {
        Self {
            message: MessageOut::new(message, with_content),
            status: d.status.code(),
            status_text: d.status.text().into(),
            next_attempt: pending_time(d),
        }
    }
}

fn pending_time(d: &Destination) -> Option<DateTime<Utc>> {
    matches!(d.status, MessageStatus::Pending | MessageStatus::Sending)
        .then_some(d.next_attempt)
        .flatten()
}
