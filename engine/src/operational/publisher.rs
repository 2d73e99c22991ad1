//! Operational events delivered to the operator as webhooks, the way svix-server does it, but in-process.
//!
//! The operator's organization holds one application per tenant organization it wants to hear about, whose
//! `uid` is that organization's id. Each event about the tenant becomes an ordinary message in that application:
//! stored, fanned out to the operator's endpoints (filtered by event type as usual), signed with their secrets,
//! retried and visible through the API like any other message. A tenant without such an application is not
//! listened to, and its events are dropped. Events about the operator's own organization are never reported, so
//! that the operator's webhooks cannot feed on themselves.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::{debug, warn};

use super::{OperationalEvent, OperationalEvents};
use crate::clock::Clock;
use crate::domain::{Application, EventTypeName, Message, NameError, Payload, PayloadError, Uid};
use crate::id::{MessageId, OrgId};
use crate::intake::{DEFAULT_RETENTION_DAYS, Intake, IntakeError};
use crate::store::{Ref, StoreError, Stores};

/// Publishes operational events as messages in the operator organization's applications.
pub struct OperatorWebhooks {
    stores: Stores,
    intake: Intake,
    operator_org: OrgId,
    clock: Arc<dyn Clock>,
}

/// What became of one event.
#[derive(Debug, PartialEq)]
enum Outcome {
    Published(MessageId),
    /// The operator has no application for the event's organization.
    NotListened,
    /// The event is about the operator's own organization.
    OwnOrganization,
}

#[derive(Debug, thiserror::Error)]
enum PublishError {
    #[error("cannot read the applications")]
    Store(#[from] StoreError),
    #[error("cannot accept the message")]
    Intake(#[from] IntakeError),
    #[error("the organization id is not a valid application uid")]
    Uid(#[source] NameError),
    #[error("the event type is not a valid name")]
    EventType(#[source] NameError),
    #[error("the payload is not a JSON object")]
    Payload(#[from] PayloadError),
    #[error("the payload cannot be encoded")]
    Json(#[from] serde_json::Error),
}

impl OperatorWebhooks {
    /// `intake` is the process's one way in, shared with the API so that both count against one admission.
    pub fn new(stores: Stores, intake: Intake, operator_org: OrgId, clock: Arc<dyn Clock>) -> Self {
        Self {
            stores,
            intake,
            operator_org,
            clock,
        }
    }

    async fn publish(&self, event: &OperationalEvent) -> Result<Outcome, PublishError> {
        let org = event.org_id();
        if *org == self.operator_org {
            return Ok(Outcome::OwnOrganization);
        }
        let uid = Uid::try_from(org.to_string()).map_err(PublishError::Uid)?;
        let listener = self
            .stores
            .applications
            .get_application(&self.operator_org, &Ref::Uid(uid))
            .await?;
        let Some(listener) = listener else {
            return Ok(Outcome::NotListened);
        };
        let source = self
            .stores
            .applications
            .get_application(org, &Ref::Id(event.app_id().clone()))
            .await?;
        // The source application may be gone already (deleted with its endpoints): report it without its uid.
        let source_uid = source.and_then(|app| app.uid);
        let message = operator_message(&listener, event, source_uid.as_ref(), self.clock.now())?;
        self.intake.accept(&message).await?;
        Ok(Outcome::Published(message.id))
    }
}

#[async_trait]
impl OperationalEvents for OperatorWebhooks {
    async fn report(&self, event: OperationalEvent) {
        let (event_type, org_id) = (event.event_type(), event.org_id());
        match self.publish(&event).await {
            Ok(Outcome::Published(msg_id)) => {
                debug!(event_type, %org_id, %msg_id, "operational webhook published");
            }
            Ok(Outcome::NotListened) => {
                debug!(event_type, %org_id, "no operator application for this organization, event dropped");
            }
            Ok(Outcome::OwnOrganization) => {}
            Err(e) => {
                let cause = std::error::Error::source(&e).map(ToString::to_string);
                warn!(event_type, %org_id, error = %e, cause, "cannot publish operational webhook");
            }
        }
    }
}

/// The message that carries `event` to the operator's application `listener`.
fn operator_message(
    listener: &Application,
    event: &OperationalEvent,
    source_uid: Option<&Uid>,
    now: DateTime<Utc>,
) -> Result<Message, PublishError> {
    let event_type =
        EventTypeName::try_from(event.event_type().to_owned()).map_err(PublishError::EventType)?;
    let raw = serde_json::value::to_raw_value(&event.to_payload(source_uid)?)?;
    Ok(Message {
        id: MessageId::generate(),
        org_id: listener.org_id.clone(),
        app_id: listener.id.clone(),
        event_type,
        event_id: None,
        channels: None,
        payload: Payload::from_raw(raw)?,
        retention_days: DEFAULT_RETENTION_DAYS,
        retention_hours: None,
        created_at: now,
        deliver_at: None,
        tags: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::id::{AppId, EndpointId};
    use crate::operational::EndpointRef;

    #[test]
    fn the_message_goes_to_the_listener_with_the_contract_payload() {
        let now = Utc::now();
        let listener = Application {
            id: AppId::generate(),
            org_id: OrgId::generate(),
            uid: Some("org_tenant".parse().expect("valid uid")),
            name: "tenant".into(),
            rate_limit: None,
            metadata: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        };
        let endpoint = EndpointRef {
            org_id: OrgId::generate(),
            app_id: AppId::generate(),
            endpoint_id: EndpointId::generate(),
            endpoint_uid: Some("billing".parse().expect("valid uid")),
        };
        let event = OperationalEvent::EndpointDeleted(endpoint.clone());
        let source_uid: Uid = "acme".parse().expect("valid uid");

        let message = operator_message(&listener, &event, Some(&source_uid), now).expect("message");

        assert_eq!(
            (&message.org_id, &message.app_id),
            (&listener.org_id, &listener.id)
        );
        assert_eq!(message.event_type.as_str(), "endpoint.deleted");
        assert_eq!((message.event_id, message.channels), (None, None));
        assert_eq!(message.created_at, now);
        let body: serde_json::Value = serde_json::from_str(message.payload.as_str()).expect("json payload");
        assert_eq!(body, event.to_payload(Some(&source_uid)).expect("serializes"));
        assert_eq!(body["data"]["appId"], endpoint.app_id.as_str());
        assert_eq!(body["data"]["appUid"], "acme");
    }
}
