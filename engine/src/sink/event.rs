//! What a sink carries: one JSON event per message, the same shape for every type (the SDK's
//! `PollingEndpointMessageOut`, which pollers read), and a batch of them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Channel, EventTypeName, Message, Payload, Position, Uid};
use crate::id::{MessageId, SinkId};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkEvent {
    pub id: MessageId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uid>,
    pub event_type: EventTypeName,
    pub payload: Payload,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<BTreeSet<Channel>>,
    pub timestamp: DateTime<Utc>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliver_at: Option<DateTime<Utc>>,
}

impl From<Message> for SinkEvent {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            event_id: m.event_id,
            event_type: m.event_type,
            payload: m.payload,
            channels: m.channels,
            timestamp: m.created_at,
            tags: m.tags,
            deliver_at: m.deliver_at,
        }
    }
}

/// Consecutive events of one sink's log, sent as one delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub sink: SinkId,
    pub events: Vec<SinkEvent>,
    /// The log positions of the first and last event.
    pub first: Position,
    pub last: Position,
}

impl Batch {
    /// Names the batch by its sink and span, so that a batch sent again after a crash has the same id only if
    /// it holds the same events: a receiver may drop a repeated id without losing anything.
    pub fn id(&self) -> String {
        format!("{}_{}_{}", self.sink, self.first, self.last)
    }

    /// The JSON array of the events, in log order.
    pub fn body(&self) -> Vec<u8> {
        // A `Vec` of plain structs with string keys always serializes.
        serde_json::to_vec(&self.events).unwrap_or_else(|_| b"[]".to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{AppId, OrgId};
    use crate::testsuite::fixtures;

    #[test]
    fn a_batch_is_a_json_array_of_events_in_the_pollers_shape() {
        let (org, app) = (OrgId::generate(), AppId::generate());
        let message = fixtures::message(&org, &app, "invoice.paid", None, &[]);
        let event = SinkEvent::from(message.clone());
        let batch = Batch {
            sink: SinkId::generate(),
            events: vec![event],
            first: Position { ms: 1, seq: 0 },
            last: Position { ms: 1, seq: 0 },
        };
        let body: serde_json::Value = serde_json::from_slice(&batch.body()).expect("JSON");
        assert_eq!(body[0]["id"], message.id.as_str());
        assert_eq!(body[0]["eventType"], "invoice.paid");
        assert_eq!(
            body[0]["payload"],
            serde_json::from_str::<serde_json::Value>(message.payload.as_str()).expect("JSON")
        );
        assert!(body[0]["timestamp"].is_string());
        assert_eq!(batch.id(), format!("{}_1-0_1-0", batch.sink));
    }
}
