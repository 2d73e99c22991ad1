//! Background tasks: long jobs a request starts and a worker runs to the end, durably (they survive restarts
//! and resume where they stopped) and once at a time each (a lease; see `store::BackgroundTasks`).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Channel, EventTypeName, MessageStatus};
use crate::id::{AppId, BackgroundTaskId, EndpointId, OrgId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackgroundTask {
    pub id: BackgroundTaskId,
    pub org_id: OrgId,
    pub job: Job,
    pub status: TaskStatus,
    /// The listing key the job has finished up to: where a resumed run continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Messages the job has handled so far (queued, for a replay; purged, for a purge).
    pub progress: u64,
    /// What the job found so far, for jobs that report more than a count (the statistics), in the SDK's shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl BackgroundTask {
    pub fn new(org_id: OrgId, job: Job, now: DateTime<Utc>) -> Self {
        Self {
            id: BackgroundTaskId::generate(),
            org_id,
            job,
            status: TaskStatus::Running,
            cursor: None,
            progress: 0,
            result: None,
            error: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Running,
    Finished,
    Failed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Failed => "failed",
        }
    }
}

/// What a task does: send messages to one endpoint again, each at most once per task (the replays, as manual
/// attempts; a recovery, as scheduled deliveries with retries); forget an application's payloads; or gather statistics across the organization's applications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Every message of the application created in `[since, until)` that the endpoint subscribes to and was never
    /// sent to it (it has no delivery to the endpoint).
    ReplayMissing {
        app_id: AppId,
        endpoint_id: EndpointId,
        since: DateTime<Utc>,
        #[serde(default)]
        until: Option<DateTime<Utc>>,
    },
    /// Every message created in `[since, until)` whose delivery to the endpoint failed, each with a fresh
    /// delivery and the whole retry schedule (`endpoint.recover`).
    Recover {
        app_id: AppId,
        endpoint_id: EndpointId,
        since: DateTime<Utc>,
        #[serde(default)]
        until: Option<DateTime<Utc>>,
    },
    /// Every message sent to the endpoint (it has a delivery there, whatever its outcome) that `filter` keeps.
    BulkReplay {
        app_id: AppId,
        endpoint_id: EndpointId,
        filter: ReplayFilter,
    },
    /// Every payload of the application's messages, replaced by `{}` for good (as `expunge_message_content`).
    PurgeContent { app_id: AppId },
    /// For each application (these, or every one of the organization), how many deliveries (message ×
    /// endpoint) its messages created in `[since, until)` have.
    AppStats {
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        #[serde(default)]
        app_ids: Option<Vec<AppId>>,
    },
    /// For each of the organization's applications, the event types its endpoints subscribe to by name, and
    /// whether one of them takes every event type.
    EventTypeAggregate,
}

impl Job {
    /// The SDK's `BackgroundTaskType`.
    pub fn task_type(&self) -> &'static str {
        match self {
            Self::ReplayMissing { .. } => "endpoint.replay",
            Self::BulkReplay { .. } => "endpoint.bulk-replay",
            Self::Recover { .. } => "endpoint.recover",
            Self::PurgeContent { .. } => "application.purge_content",
            Self::AppStats { .. } => "application.stats",
            Self::EventTypeAggregate => "event-type.aggregate",
        }
    }

    /// What the task reports its count as (`BackgroundTaskOut.data`), as the SDK documents it; `None` for the
    /// statistics, which report their `result`.
    pub fn progress_name(&self) -> Option<&'static str> {
        match self {
            Self::ReplayMissing { .. } | Self::BulkReplay { .. } => Some("replayed"),
            Self::Recover { .. } => Some("recovered"),
            Self::PurgeContent { .. } => Some("messagesPurged"),
            Self::AppStats { .. } | Self::EventTypeAggregate => None,
        }
    }
}

/// A bulk replay's choice of messages, by their creation time and the state of their delivery to the endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub event_types: Option<BTreeSet<EventTypeName>>,
    pub channel: Option<Channel>,
    pub tag: Option<String>,
    pub status: Option<MessageStatus>,
}
