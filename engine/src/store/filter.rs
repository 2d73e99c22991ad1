//! Filters of the list endpoints, with the predicate every scanning backend applies.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::domain::{Attempt, Channel, Destination, EventTypeName, Message, MessageStatus};
use crate::id::{EndpointId, MessageId};

/// Time, event-type and channel bounds shared by message, attempt and destination listings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeTypeChannel {
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
    pub event_types: Option<BTreeSet<EventTypeName>>,
    pub channel: Option<Channel>,
}

impl TimeTypeChannel {
    pub fn matches(
        &self,
        at: DateTime<Utc>,
        event_type: &EventTypeName,
        channels: Option<&BTreeSet<Channel>>,
    ) -> bool {
        self.before.is_none_or(|b| at < b)
            && self.after.is_none_or(|a| at > a)
            && self.event_types.as_ref().is_none_or(|t| t.contains(event_type))
            && self
                .channel
                .as_ref()
                .is_none_or(|c| channels.is_some_and(|set| set.contains(c)))
    }
}

/// The message listing's filters: the bounds it shares with attempt and destination listings, and a tag.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFilter {
    pub common: TimeTypeChannel,
    /// Only messages carrying this tag.
    pub tag: Option<String>,
}

impl MessageFilter {
    pub fn matches_message(&self, m: &Message) -> bool {
        self.common
            .matches(m.created_at, &m.event_type, m.channels.as_ref())
            && has_tag(self.tag.as_ref(), &m.tags)
    }
}

impl From<TimeTypeChannel> for MessageFilter {
    fn from(common: TimeTypeChannel) -> Self {
        Self { common, tag: None }
    }
}

/// The class of an HTTP status: 0 (no response), 100, 200, 300, 400 or 500.
pub fn status_code_class(code: i16) -> u16 {
    match code {
        100..=599 => (code as u16 / 100) * 100,
        _ => 0,
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttemptFilter {
    pub common: TimeTypeChannel,
    pub status: Option<MessageStatus>,
    pub status_code_class: Option<u16>,
    pub endpoint_id: Option<EndpointId>,
    /// Only attempts of messages carrying this tag.
    pub tag: Option<String>,
}

impl AttemptFilter {
    pub fn matches_attempt(&self, a: &Attempt) -> bool {
        self.common
            .matches(a.created_at, &a.event_type, a.channels.as_ref())
            && self.status.is_none_or(|s| s == a.status)
            && self
                .status_code_class
                .is_none_or(|c| c == status_code_class(a.response_status_code))
            && self.endpoint_id.as_ref().is_none_or(|e| *e == a.endpoint_id)
            && has_tag(self.tag.as_ref(), &a.tags)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DestinationFilter {
    /// Bounds apply to the message's creation time.
    pub common: TimeTypeChannel,
    pub status: Option<MessageStatus>,
    /// Only destinations of messages carrying this tag.
    pub tag: Option<String>,
}

impl DestinationFilter {
    pub fn matches_destination(&self, d: &Destination) -> bool {
        self.common.matches(
            MessageId::timestamp(&d.msg_id),
            &d.event_type,
            d.channels.as_ref(),
        ) && self.status.is_none_or(|s| s == d.status)
            && has_tag(self.tag.as_ref(), &d.tags)
    }
}

/// Whether a record with `tags` passes a filter on `tag` (none: every record does).
fn has_tag(tag: Option<&String>, tags: &[String]) -> bool {
    tag.is_none_or(|t| tags.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        for (code, class) in [
            (0, 0),
            (-1, 0),
            (101, 100),
            (200, 200),
            (204, 200),
            (302, 300),
            (429, 400),
            (503, 500),
        ] {
            assert_eq!(status_code_class(code), class, "{code}");
        }
    }

    #[test]
    fn time_type_channel_bounds() {
        let now = Utc::now();
        let ty: EventTypeName = "a.b".parse().expect("valid");
        let other: EventTypeName = "c.d".parse().expect("valid");
        let ch: Channel = "x".parse().expect("valid");
        let chans = BTreeSet::from([ch.clone()]);
        let f = TimeTypeChannel {
            before: Some(now + chrono::Duration::seconds(1)),
            after: Some(now - chrono::Duration::seconds(1)),
            event_types: Some(BTreeSet::from([ty.clone()])),
            channel: Some(ch),
        };
        assert!(f.matches(now, &ty, Some(&chans)));
        assert!(!f.matches(now, &other, Some(&chans)));
        assert!(!f.matches(now, &ty, None));
        assert!(!f.matches(now + chrono::Duration::seconds(2), &ty, Some(&chans)));
        assert!(!f.matches(now - chrono::Duration::seconds(2), &ty, Some(&chans)));
    }
}
