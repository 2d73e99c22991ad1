//! Sinks: an application's destinations beyond plain webhook endpoints (what the SDK's `destination` API serves;
//! its poller calls them sinks, and `Destination` here already names a message's pending delivery to an endpoint).
//!
//! Every sink has its own ordered log of the application's messages that it subscribes to, appended at intake
//! from the moment the sink exists. What reads the log depends on the sink's type (`destinations` crate): a
//! pushing type (a FIFO endpoint, a broker) is driven by one process at a time, which sends the log in order,
//! in batches, and moves the sink's position only when a batch is delivered; a polling type is read by its
//! consumers, each at its own position.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Channel, EventTypeName, Metadata, SecretSet, Uid};
use crate::id::{AppId, MessageId, OrgId, SinkId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sink {
    pub id: SinkId,
    pub org_id: OrgId,
    pub app_id: AppId,
    pub uid: Option<Uid>,
    /// The type's name as the API spells it (`fifoEndpoint`, `pollingEndpoint`, `rabbitMq`).
    pub type_name: String,
    /// The type's own settings, as that type stores them (secrets included; what the API shows is the type's
    /// choice).
    pub config: serde_json::Value,
    pub disabled: bool,
    /// The most events one delivery carries.
    pub batch_size: u16,
    /// How long a partial batch waits for more events before it is sent anyway.
    pub max_wait_secs: u32,
    /// `None` receives every event type.
    pub event_types: Option<BTreeSet<EventTypeName>>,
    /// `None` receives every message; otherwise only messages sharing a channel.
    pub channels: Option<BTreeSet<Channel>>,
    pub metadata: Metadata,
    /// Signs what the sink sends, for the types that sign (a FIFO endpoint's batches).
    pub secrets: SecretSet,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Sink {
    pub const DEFAULT_BATCH_SIZE: u16 = 100;
    pub const MAX_BATCH_SIZE: u16 = 1_000;
    pub const DEFAULT_MAX_WAIT_SECS: u32 = 0;
    /// An hour: a batch kept waiting longer than that is better sent.
    pub const MAX_MAX_WAIT_SECS: u32 = 3_600;

    /// Whether a message with this event type and channels goes to this sink (ignores `disabled`): the rule
    /// endpoints follow.
    pub fn subscribes_to(&self, event_type: &EventTypeName, channels: Option<&BTreeSet<Channel>>) -> bool {
        super::records::subscribed(&self.event_types, &self.channels, event_type, channels)
    }

    pub fn key(&self) -> SinkKey {
        SinkKey {
            org_id: self.org_id.clone(),
            app_id: self.app_id.clone(),
            id: self.id.clone(),
        }
    }
}

/// Where a sink is: enough to reach its log and state without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SinkKey {
    pub org_id: OrgId,
    pub app_id: AppId,
    pub id: SinkId,
}

/// A place in a sink's log: the millisecond it was appended, and its order within that millisecond (Redis
/// stream ids have the same shape). Positions only grow; a log's first entry comes after [`Position::START`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    pub ms: u64,
    pub seq: u64,
}

impl Position {
    pub const START: Position = Position { ms: 0, seq: 0 };

    /// The position just before everything appended at or after `at`: reading after it starts there.
    pub fn before(at: DateTime<Utc>) -> Self {
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        match ms.checked_sub(1) {
            Some(ms) => Position { ms, seq: u64::MAX },
            None => Position::START,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an iterator of this destination")]
pub struct BadPosition(pub String);

impl FromStr for Position {
    type Err = BadPosition;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPosition(s.to_owned());
        let (ms, seq) = s.split_once('-').ok_or_else(bad)?;
        Ok(Position {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// One entry of a sink's log: a message, at its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub position: Position,
    pub msg_id: MessageId,
}

/// One batch sent to a pushing sink: the equivalent of an endpoint's attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkAttempt {
    pub at: DateTime<Utc>,
    /// The log positions of the batch's first and last events.
    pub first: Position,
    pub last: Position,
    pub events: u32,
    /// `None` when delivered; why not otherwise.
    pub failure: Option<String>,
    /// How long the send took, in milliseconds.
    pub took_ms: u64,
}

/// Where a pushing sink's deliveries stand; written only by the process holding the sink's lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkState {
    /// The last entry delivered; everything after it is still to send. `None` before the first delivery.
    pub position: Option<Position>,
    /// Failed deliveries of the batch at the head since the last success; 0 when healthy.
    #[serde(default)]
    pub failures: u32,
    /// Why the last delivery failed, while the head batch is failing.
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// When the failing head batch is tried again.
    #[serde(default)]
    pub next_retry_at: Option<DateTime<Utc>>,
    /// The last [`SinkState::KEPT_ATTEMPTS`] batches sent, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<SinkAttempt>,
}

impl SinkState {
    /// Enough to see what a destination has been doing lately, small enough to be written with every batch.
    pub const KEPT_ATTEMPTS: usize = 20;

    /// Notes a batch sent, forgetting the oldest beyond [`SinkState::KEPT_ATTEMPTS`].
    pub fn attempted(&mut self, attempt: SinkAttempt) {
        self.attempts.push(attempt);
        let excess = self.attempts.len().saturating_sub(Self::KEPT_ATTEMPTS);
        self.attempts.drain(..excess);
    }

    pub fn is_retrying(&self) -> bool {
        self.failures > 0
    }

    /// The head batch, up to `position`, was delivered.
    pub fn delivered(&mut self, position: Position) {
        *self = SinkState {
            position: Some(position),
            attempts: std::mem::take(&mut self.attempts),
            ..SinkState::default()
        };
    }

    /// The head batch failed for `reason`; it is tried again at `next_retry_at`.
    pub fn failed(&mut self, reason: String, next_retry_at: DateTime<Utc>) {
        self.failures = self.failures.saturating_add(1);
        self.failure_reason = Some(reason);
        self.next_retry_at = Some(next_retry_at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_print_and_parse_like_stream_ids_and_order_by_time_then_seq() {
        let p: Position = "1733550000000-7".parse().expect("a position");
        assert_eq!(
            p,
            Position {
                ms: 1_733_550_000_000,
                seq: 7
            }
        );
        assert_eq!(p.to_string(), "1733550000000-7");
        assert!(
            p < Position {
                ms: 1_733_550_000_000,
                seq: 8
            }
        );
        assert!(
            p < Position {
                ms: 1_733_550_000_001,
                seq: 0
            }
        );
        for bad in ["", "12", "a-1", "1-", "-1", "1-2-3"] {
            assert_eq!(bad.parse::<Position>(), Err(BadPosition(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn before_a_time_is_after_everything_earlier_and_before_everything_at_it() {
        let at = DateTime::from_timestamp_millis(1_000).expect("a time");
        let before = Position::before(at);
        assert!(before > Position { ms: 999, seq: 5 });
        assert!(before < Position { ms: 1_000, seq: 0 });
        assert_eq!(Position::before(DateTime::UNIX_EPOCH), Position::START);
    }

    #[test]
    fn a_failure_counts_until_a_delivery_clears_it() {
        let mut state = SinkState::default();
        state.failed("503".into(), DateTime::UNIX_EPOCH);
        state.failed("timeout".into(), DateTime::UNIX_EPOCH);
        assert!(state.is_retrying());
        assert_eq!(state.failures, 2);
        state.delivered(Position { ms: 5, seq: 0 });
        assert_eq!(
            state,
            SinkState {
                position: Some(Position { ms: 5, seq: 0 }),
                ..SinkState::default()
            }
        );
    }

    #[test]
    fn the_last_attempts_are_kept_through_deliveries() {
        let attempt = |events| SinkAttempt {
            at: DateTime::UNIX_EPOCH,
            first: Position::START,
            last: Position::START,
            events,
            failure: None,
            took_ms: 1,
        };
        let mut state = SinkState::default();
        for n in 0..30 {
            state.attempted(attempt(n));
        }
        state.delivered(Position { ms: 1, seq: 0 });
        let kept: Vec<u32> = state.attempts.iter().map(|a| a.events).collect();
        assert_eq!(kept, (10..30).collect::<Vec<_>>(), "the newest 20, oldest first");
    }
}
