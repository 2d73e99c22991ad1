//! Reading a sink's log as events: the entries after a position, each with its message, for the pump's next
//! batch and a poller's next page.

use chrono::{DateTime, Utc};

use super::SinkEvent;
use crate::domain::{Channel, EventTypeName, Position, SinkKey};
use crate::id::MessageId;
use crate::store::{StoreResult, Stores};

/// How long an entry may point at a message that is not stored yet. The intake appends to the log before it
/// stores the message (as it queues deliveries first, so that a crash never leaves a stored message
/// undelivered). An insert that was refused withdraws its entries; one whose intake died, or whose withdrawal
/// failed, leaves an entry whose message never comes. The delivery worker waits as long for such a message.
pub const MESSAGE_GRACE: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// What a reader asks of the log beyond the sink's own subscription (a poller's `event_type` and `channel`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub event_type: Option<EventTypeName>,
    pub channel: Option<Channel>,
}

impl EventFilter {
    fn admits(&self, event: &SinkEvent) -> bool {
        self.event_type.as_ref().is_none_or(|t| *t == event.event_type)
            && self
                .channel
                .as_ref()
                .is_none_or(|c| event.channels.as_ref().is_some_and(|mine| mine.contains(c)))
    }
}

/// Events read from a log, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogPage {
    pub events: Vec<(Position, SinkEvent)>,
    /// The last position read, filtered-out entries included; the next read starts after it. `None` when
    /// nothing was read.
    pub last: Option<Position>,
    /// Whether the read reached the end of the log (as it stood).
    pub done: bool,
    /// The page stopped before an entry whose message is not stored yet (an intake in progress).
    pub waiting: bool,
}

/// Up to `limit` entries of `sink`'s log after `after`, with their messages, as events that `filter` admits.
///
/// An entry whose message is missing is skipped once older than [`MESSAGE_GRACE`] (its insert failed, or
/// retention removed it), and otherwise ends the page there, unread, so that order holds while its intake
/// finishes.
pub async fn read_events(
    stores: &Stores,
    sink: &SinkKey,
    after: Option<Position>,
    limit: usize,
    filter: &EventFilter,
    now: DateTime<Utc>,
) -> StoreResult<LogPage> {
    let entries = stores.sinks.read_log(sink, after, limit).await?;
    let done = entries.len() < limit;
    let ids: Vec<MessageId> = entries.iter().map(|e| e.msg_id.clone()).collect();
    let messages = stores
        .messages
        .get_messages(&sink.org_id, &sink.app_id, &ids)
        .await?;
    let mut page = LogPage {
        done,
        ..LogPage::default()
    };
    for (entry, message) in entries.into_iter().zip(messages) {
        match message {
            Some(message) => {
                let event = SinkEvent::from(message);
                if filter.admits(&event) {
                    page.events.push((entry.position, event));
                }
            }
            None if appended_at(entry.position) + MESSAGE_GRACE > now => {
                page.waiting = true;
                page.done = false;
                break;
            }
            None => {}
        }
        page.last = Some(entry.position);
    }
    Ok(page)
}

fn appended_at(position: Position) -> DateTime<Utc> {
    i64::try_from(position.ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
