//! Operational events: what happened to a tenant's endpoints and deliveries that the operator (or the tenant)
//! wants to hear about as webhooks of their own (`endpoint.created`, `message.attempt.exhausted`, ...).
//!
//! The API and the worker report events through [`OperationalEvents`]; what becomes of them (delivered as signed
//! webhooks, or discarded) is the implementation's business. Reporting never fails the caller: an implementation
//! logs its own errors.
//!
//! Implementations: [`Discard`]; [`OperatorWebhooks`] (`publisher`), which delivers them to the operator as
//! webhooks; [`InBackground`] (`background`), which takes reports off a latency-sensitive caller's path.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Uid;
use crate::id::{AppId, AttemptId, EndpointId, MessageId, OrgId};

mod background;
mod publisher;

pub use background::{BackgroundTask, InBackground};
pub use publisher::OperatorWebhooks;

/// An endpoint that an event is about.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRef {
    pub org_id: OrgId,
    pub app_id: AppId,
    pub endpoint_id: EndpointId,
    pub endpoint_uid: Option<Uid>,
}

/// A message's delivery to one endpoint, and the attempt that made the news.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRef {
    pub org_id: OrgId,
    pub app_id: AppId,
    pub msg_id: MessageId,
    pub msg_event_id: Option<Uid>,
    pub endpoint_id: EndpointId,
    pub last_attempt: LastAttempt,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastAttempt {
    pub id: AttemptId,
    pub response_status_code: i16,
    pub timestamp: DateTime<Utc>,
}

/// The contract's operational webhook events (its `x-webhooks`), one variant per event type.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationalEvent {
    EndpointCreated(EndpointRef),
    EndpointUpdated(EndpointRef),
    EndpointDeleted(EndpointRef),
    /// Disabled automatically after failing continuously since `fail_since`.
    EndpointDisabled {
        endpoint: EndpointRef,
        fail_since: DateTime<Utc>,
    },
    /// Every retry failed.
    AttemptExhausted(DeliveryRef),
    /// The fourth attempt failed (retries go on).
    AttemptFailing(DeliveryRef),
    /// An attempt succeeded after a `AttemptFailing` was reported for the same delivery.
    AttemptRecovered(DeliveryRef),
}

impl OperationalEvent {
    /// Every name [`Self::event_type`] gives, with what it means: the event types an operational webhook
    /// endpoint may subscribe to.
    pub const TYPES: [(&'static str, &'static str); 7] = [
        ("endpoint.created", "An endpoint was created"),
        ("endpoint.updated", "An endpoint was updated"),
        ("endpoint.deleted", "An endpoint was deleted"),
        (
            "endpoint.disabled",
            "An endpoint was disabled after failing for too long",
        ),
        ("message.attempt.exhausted", "Every attempt of a delivery failed"),
        (
            "message.attempt.failing",
            "A delivery's fourth attempt failed; retries go on",
        ),
        ("message.attempt.recovered", "A failing delivery succeeded"),
    ];

    /// The event type name, as Svix names it.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::EndpointCreated(_) => "endpoint.created",
            Self::EndpointUpdated(_) => "endpoint.updated",
            Self::EndpointDeleted(_) => "endpoint.deleted",
            Self::EndpointDisabled { .. } => "endpoint.disabled",
            Self::AttemptExhausted(_) => "message.attempt.exhausted",
            Self::AttemptFailing(_) => "message.attempt.failing",
            Self::AttemptRecovered(_) => "message.attempt.recovered",
        }
    }

    /// The organization the event is about.
    pub fn org_id(&self) -> &OrgId {
        match self {
            Self::EndpointCreated(e) | Self::EndpointUpdated(e) | Self::EndpointDeleted(e) => &e.org_id,
            Self::EndpointDisabled { endpoint, .. } => &endpoint.org_id,
            Self::AttemptExhausted(d) | Self::AttemptFailing(d) | Self::AttemptRecovered(d) => &d.org_id,
        }
    }

    /// The application the event is about.
    pub fn app_id(&self) -> &AppId {
        match self {
            Self::EndpointCreated(e) | Self::EndpointUpdated(e) | Self::EndpointDeleted(e) => &e.app_id,
            Self::EndpointDisabled { endpoint, .. } => &endpoint.app_id,
            Self::AttemptExhausted(d) | Self::AttemptFailing(d) | Self::AttemptRecovered(d) => &d.app_id,
        }
    }

    /// The webhook body: `{"type": ..., "data": {...}}` in the contract's shape. `app_uid` is the application's
    /// uid, which the reporter does not always have at hand. The error is serde_json's, which plain structs like
    /// these never meet; it is passed on rather than assumed away.
    pub fn to_payload(&self, app_uid: Option<&Uid>) -> Result<serde_json::Value, serde_json::Error> {
        let data = match self {
            Self::EndpointCreated(e) | Self::EndpointUpdated(e) | Self::EndpointDeleted(e) => {
                serde_json::to_value(EndpointData::new(e, app_uid, None))
            }
            Self::EndpointDisabled { endpoint, fail_since } => {
                serde_json::to_value(EndpointData::new(endpoint, app_uid, Some(*fail_since)))
            }
            Self::AttemptExhausted(d) | Self::AttemptFailing(d) | Self::AttemptRecovered(d) => {
                serde_json::to_value(DeliveryData::new(d, app_uid))
            }
        };
        Ok(serde_json::json!({
            "type": self.event_type(),
            "data": data?,
        }))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EndpointData<'a> {
    app_id: &'a AppId,
    app_uid: Option<&'a Uid>,
    endpoint_id: &'a EndpointId,
    endpoint_uid: Option<&'a Uid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fail_since: Option<DateTime<Utc>>,
}

impl<'a> EndpointData<'a> {
    fn new(e: &'a EndpointRef, app_uid: Option<&'a Uid>, fail_since: Option<DateTime<Utc>>) -> Self {
        Self {
            app_id: &e.app_id,
            app_uid,
            endpoint_id: &e.endpoint_id,
            endpoint_uid: e.endpoint_uid.as_ref(),
            fail_since,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryData<'a> {
    app_id: &'a AppId,
    app_uid: Option<&'a Uid>,
    msg_id: &'a MessageId,
    msg_event_id: Option<&'a Uid>,
    endpoint_id: &'a EndpointId,
    last_attempt: &'a LastAttempt,
}

impl<'a> DeliveryData<'a> {
    fn new(d: &'a DeliveryRef, app_uid: Option<&'a Uid>) -> Self {
        Self {
            app_id: &d.app_id,
            app_uid,
            msg_id: &d.msg_id,
            msg_event_id: d.msg_event_id.as_ref(),
            endpoint_id: &d.endpoint_id,
            last_attempt: &d.last_attempt,
        }
    }
}

/// Where the API and the worker report operational events.
#[async_trait]
pub trait OperationalEvents: Send + Sync {
    /// Reports one event. Never fails the caller; errors are the implementation's to log.
    async fn report(&self, event: OperationalEvent);
}

/// Drops every event: the default when no operator has asked for operational webhooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Discard;

#[async_trait]
impl OperationalEvents for Discard {
    async fn report(&self, _event: OperationalEvent) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_have_the_contract_shape() {
        let endpoint = EndpointRef {
            org_id: OrgId::generate(),
            app_id: AppId::generate(),
            endpoint_id: EndpointId::generate(),
            endpoint_uid: None,
        };
        let uid: Uid = "tenant-1".parse().expect("valid uid");
        let since = Utc::now();
        let disabled = OperationalEvent::EndpointDisabled {
            endpoint: endpoint.clone(),
            fail_since: since,
        };
        let body = disabled.to_payload(Some(&uid)).expect("serializes");
        assert_eq!(body["type"], "endpoint.disabled");
        assert_eq!(body["data"]["appId"], endpoint.app_id.as_str());
        assert_eq!(body["data"]["appUid"], "tenant-1");
        assert_eq!(body["data"]["endpointUid"], serde_json::Value::Null);
        assert!(body["data"]["failSince"].is_string());

        let created = OperationalEvent::EndpointCreated(endpoint)
            .to_payload(None)
            .expect("serializes");
        assert!(created["data"].get("failSince").is_none());

        let delivery = DeliveryRef {
            org_id: OrgId::generate(),
            app_id: AppId::generate(),
            msg_id: MessageId::generate(),
            msg_event_id: Some(uid.clone()),
            endpoint_id: EndpointId::generate(),
            last_attempt: LastAttempt {
                id: AttemptId::generate(),
                response_status_code: 500,
                timestamp: since,
            },
        };
        let exhausted = OperationalEvent::AttemptExhausted(delivery.clone())
            .to_payload(None)
            .expect("serializes");
        assert_eq!(exhausted["type"], "message.attempt.exhausted");
        assert_eq!(exhausted["data"]["msgEventId"], "tenant-1");
        assert_eq!(exhausted["data"]["lastAttempt"]["responseStatusCode"], 500);
        assert_eq!(exhausted["data"]["msgId"], delivery.msg_id.as_str());
    }
}
