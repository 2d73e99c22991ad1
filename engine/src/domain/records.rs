//! The stored records. They are what storage backends persist; the API has its own DTOs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Channel, EndpointSecret, EndpointUrl, EventTypeName, Payload, SecretSet, Uid};
use crate::id::{AppId, AttemptId, EndpointId, MessageId, OrgId};

pub type Metadata = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: AppId,
    pub org_id: OrgId,
    pub uid: Option<Uid>,
    pub name: String,
    pub rate_limit: Option<u16>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: EndpointId,
    pub org_id: OrgId,
    pub app_id: AppId,
    pub uid: Option<Uid>,
    pub url: EndpointUrl,
    pub description: String,
    pub disabled: bool,
    /// `None` receives every event type.
    pub event_types: Option<BTreeSet<EventTypeName>>,
    /// `None` receives every message; otherwise only messages sharing a channel.
    pub channels: Option<BTreeSet<Channel>>,
    pub rate_limit: Option<u16>,
    pub metadata: Metadata,
    pub secrets: SecretSet,
    /// Extra headers sent with every delivery (names lower-cased).
    pub headers: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Whether a subscription (`event_types`, `channels`; `None` is everything) takes a message of `event_type` on
/// `channels`: one of its types, and, if it names channels, one of the message's.
pub(super) fn subscribed(
    event_types: &Option<BTreeSet<EventTypeName>>,
    own_channels: &Option<BTreeSet<Channel>>,
    event_type: &EventTypeName,
    channels: Option<&BTreeSet<Channel>>,
) -> bool {
    let type_ok = event_types
        .as_ref()
        .is_none_or(|types| types.contains(event_type));
    let channel_ok = match (own_channels, channels) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(mine), Some(theirs)) => !mine.is_disjoint(theirs),
    };
    type_ok && channel_ok
}

impl Endpoint {
    /// Whether a message with this event type and channels is for this endpoint (ignores `disabled`).
    pub fn subscribes_to(&self, event_type: &EventTypeName, channels: Option<&BTreeSet<Channel>>) -> bool {
        subscribed(&self.event_types, &self.channels, event_type, channels)
    }

    pub fn current_secret(&self) -> &EndpointSecret {
        &self.secrets.current
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventType {
    pub org_id: OrgId,
    pub name: EventTypeName,
    pub description: String,
    pub archived: bool,
    pub deprecated: bool,
    pub schemas: Option<serde_json::Value>,
    /// Portal tokens see this event type only if they hold one of these flags; empty: every token sees it.
    /// Event types stored before lists kept one flag as `feature_flag`.
    #[serde(default, alias = "feature_flag", deserialize_with = "one_or_many_flags")]
    pub feature_flags: Vec<String>,
    /// The group the portal lists this event type under.
    #[serde(default)]
    pub group_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EventType {
    /// Whether a portal token holding `held` flags may see this event type.
    pub fn visible_with(&self, held: &[String]) -> bool {
        self.feature_flags.is_empty() || self.feature_flags.iter().any(|f| held.contains(f))
    }
}

/// Reads the stored flags of any version: a list, or the single flag (or null) stored before lists.
fn one_or_many_flags<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Stored>::deserialize(d)? {
        None => Vec::new(),
        Some(Stored::One(flag)) => vec![flag],
        Some(Stored::Many(flags)) => flags,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub org_id: OrgId,
    pub app_id: AppId,
    pub event_type: EventTypeName,
    pub event_id: Option<Uid>,
    pub channels: Option<BTreeSet<Channel>>,
    pub payload: Payload,
    /// Days the payload is kept (the contract's `payloadRetentionPeriod`), unless `retention_hours` is set.
    pub retention_days: u16,
    /// Hours the payload is kept, when the sender said so in hours (the SDK's `payloadRetentionHours`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_hours: Option<u16>,
    pub created_at: DateTime<Utc>,
    /// When its first deliveries are due (the sender's `deliverAt`); `None`: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_at: Option<DateTime<Utc>>,
    /// The sender's labels, for filtering the message listing (`tags`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// The sending status, as Svix numbers it on the wire (`Success = 0`, `Pending = 1`, `Fail = 2`, `Sending = 3`,
/// `Canceled = 4`). Newer SDKs filter by `Canceled`; nothing here cancels a delivery yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageStatus {
    Success,
    Pending,
    Fail,
    Sending,
    Canceled,
}

impl MessageStatus {
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Pending => 1,
            Self::Fail => 2,
            Self::Sending => 3,
            Self::Canceled => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Success,
            1 => Self::Pending,
            2 => Self::Fail,
            3 => Self::Sending,
            4 => Self::Canceled,
            _ => return None,
        })
    }

    pub fn text(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Pending => "pending",
            Self::Fail => "fail",
            Self::Sending => "sending",
            Self::Canceled => "canceled",
        }
    }
}

/// Why an attempt was made: by the schedule (first try and retries) or by a person (resend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerType {
    Scheduled,
    Manual,
}

impl TriggerType {
    pub fn code(self) -> u8 {
        match self {
            Self::Scheduled => 0,
            Self::Manual => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: AttemptId,
    pub org_id: OrgId,
    pub app_id: AppId,
    pub msg_id: MessageId,
    pub endpoint_id: EndpointId,
    pub url: String,
    /// `Success` or `Fail`: the outcome of this one attempt.
    pub status: MessageStatus,
    /// 0 when no HTTP response was received (connect error, timeout, refused address).
    pub response_status_code: i16,
    pub response: String,
    pub response_duration_ms: i64,
    pub trigger: TriggerType,
    /// Copied from the message so attempt listings filter without a join.
    pub event_type: EventTypeName,
    pub channels: Option<BTreeSet<Channel>>,
    /// The message's tags, copied like its type; attempts recorded before tags existed read as untagged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// The delivery state of one message to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub org_id: OrgId,
    pub app_id: AppId,
    pub msg_id: MessageId,
    pub endpoint_id: EndpointId,
    pub status: MessageStatus,
    pub next_attempt: Option<DateTime<Utc>>,
    pub attempts: u16,
    pub event_type: EventTypeName,
    pub channels: Option<BTreeSet<Channel>>,
    /// The message's tags, copied like its type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

impl Destination {
    /// A fan-out's new destination: waiting for its first attempt, due now.
    pub fn pending(message: &Message, endpoint: &Endpoint, now: DateTime<Utc>) -> Self {
        Self {
            org_id: message.org_id.clone(),
            app_id: message.app_id.clone(),
            msg_id: message.id.clone(),
            endpoint_id: endpoint.id.clone(),
            status: MessageStatus::Pending,
            next_attempt: Some(now),
            attempts: 0,
            event_type: message.event_type.clone(),
            channels: message.channels.clone(),
            tags: message.tags.clone(),
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsuite::fixtures::{self, channels, name};

    fn endpoint(types: Option<&[&str]>, chans: Option<&[&str]>) -> Endpoint {
        let org = OrgId::generate();
        Endpoint {
            event_types: types.map(|t| t.iter().map(|s| name(s)).collect()),
            channels: chans.and_then(channels),
            ..fixtures::endpoint(&org, &AppId::generate(), None)
        }
    }

    #[test]
    fn subscription_filters() {
        let signup: EventTypeName = "user.signup".parse().expect("valid");
        let chans =
            |c: &[&str]| -> BTreeSet<Channel> { c.iter().map(|s| s.parse().expect("valid")).collect() };
        let a = chans(&["a"]);
        let b = chans(&["b"]);
        // (endpoint types, endpoint channels, message channels, expected)
        type Case<'a> = (
            Option<&'a [&'a str]>,
            Option<&'a [&'a str]>,
            Option<&'a BTreeSet<Channel>>,
            bool,
        );
        let cases: Vec<Case> = vec![
            (None, None, None, true),
            (None, None, Some(&a), true),
            (Some(&["user.signup"]), None, None, true),
            (Some(&["user.deleted"]), None, None, false),
            (None, Some(&["a"]), None, false),
            (None, Some(&["a"]), Some(&a), true),
            (None, Some(&["a"]), Some(&b), false),
            (Some(&["user.signup"]), Some(&["b", "a"]), Some(&a), true),
        ];
        for (i, (types, ep_chans, msg_chans, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                endpoint(types, ep_chans).subscribes_to(&signup, msg_chans),
                expected,
                "case {i}"
            );
        }
    }

    #[test]
    fn status_codes_match_svix() {
        for s in [
            MessageStatus::Success,
            MessageStatus::Pending,
            MessageStatus::Fail,
            MessageStatus::Sending,
        ] {
            assert_eq!(MessageStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(MessageStatus::Sending.code(), 3);
    }

    #[test]
    fn event_types_stored_with_one_flag_read_as_a_list() {
        let org = OrgId::generate();
        let mut doc = serde_json::to_value(fixtures::event_type(&org, "a.b")).expect("encodes");
        let fields = doc.as_object_mut().expect("an object");
        fields.remove("feature_flags");
        fields.remove("group_name");
        for (old, flags) in [
            (serde_json::json!("beta"), vec!["beta".to_owned()]),
            (serde_json::Value::Null, vec![]),
        ] {
            fields.insert("feature_flag".into(), old.clone());
            let read: EventType = serde_json::from_value(serde_json::Value::Object(fields.clone()))
                .expect("an old document decodes");
            assert_eq!((read.feature_flags, read.group_name), (flags, None), "{old}");
        }
    }

    #[test]
    fn a_flagged_event_type_is_visible_to_a_holder_of_any_of_its_flags() {
        let mut et = fixtures::event_type(&OrgId::generate(), "a.b");
        let held = |flags: &[&str]| flags.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>();
        assert!(et.visible_with(&[]), "no flag: visible to every token");
        et.feature_flags = held(&["beta", "gamma"]);
        assert!(et.visible_with(&held(&["gamma"])));
        assert!(!et.visible_with(&held(&["delta"])));
        assert!(!et.visible_with(&[]));
    }
}
