//! Background tasks (`/api/v1/background-task`) and the replays that start them (`…/replay-missing`,
//! `…/bulk-replay`), in the SDK's shapes.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use xwebhook_engine::domain::{BackgroundTask, Channel, EventTypeName};

use super::not_supported::NotSupported;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackgroundTaskOut {
    /// What the task did: `replayed`, the messages a replay queued so far; `messagesPurged`, the payloads a
    /// purge forgot; `appStats` or `event_types`, the statistics gathered so far; `error`, why it failed.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub id: String,
    /// `running`, `finished` or `failed`.
    pub status: String,
    /// `endpoint.replay` (replay-missing) or `endpoint.bulk-replay`.
    pub task: String,
    pub updated_at: DateTime<Utc>,
}

impl From<BackgroundTask> for BackgroundTaskOut {
    fn from(t: BackgroundTask) -> Self {
        let mut data = t.result.clone().unwrap_or_else(|| json!({}));
        if let Some(name) = t.job.progress_name() {
            data[name] = json!(t.progress);
        }
        if let Some(error) = &t.error {
            data["error"] = json!(error);
        }
        Self {
            data,
            id: t.id.to_string(),
            status: t.status.as_str().to_owned(),
            task: t.job.task_type().to_owned(),
            updated_at: t.updated_at,
        }
    }
}

/// What starting a background task answers (a replay, a purge, an event-type aggregate): the task, to poll with
/// `background_task.get`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayOut {
    pub id: String,
    pub status: String,
    pub task: String,
    pub updated_at: DateTime<Utc>,
}

impl From<BackgroundTask> for ReplayOut {
    fn from(t: BackgroundTask) -> Self {
        Self {
            id: t.id.to_string(),
            status: t.status.as_str().to_owned(),
            task: t.job.task_type().to_owned(),
            updated_at: t.updated_at,
        }
    }
}

/// `replay-missing`: the window of messages to look at.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayIn {
    pub since: DateTime<Utc>,
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

/// `bulk-replay`: which of the messages sent to the endpoint to send again.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkReplayIn {
    pub since: DateTime<Utc>,
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<BTreeSet<EventTypeName>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub tag: Option<String>,
    /// The delivery's status at the endpoint: 0 success, 1 pending, 2 fail, 3 sending, 4 canceled.
    #[serde(default)]
    pub status: Option<u8>,
    /// Not supported by Xwebhook: a delivery keeps its status, not its last response's code, so a bulk replay
    /// cannot select by it; leave it out or send null.
    #[serde(default)]
    #[schema(value_type = Option<u16>)]
    pub status_code_class: NotSupported,
}
