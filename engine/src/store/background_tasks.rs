//! The background-task port: tasks kept beside the queue (every worker process must see them), each run by one
//! process at a time under a lease that its runner renews with every save, and that lapses when the process
//! dies, so that another (or the same, restarted) takes the task over where its last save left it.

use std::time::Duration;

use async_trait::async_trait;

use super::{ListQuery, StoreResult};
use crate::domain::BackgroundTask;
use crate::id::{BackgroundTaskId, OrgId};

#[async_trait]
pub trait BackgroundTasks: Send + Sync {
    /// Stores a new task; while it is running, it can be claimed.
    async fn create_task(&self, task: &BackgroundTask) -> StoreResult<()>;

    async fn get_task(&self, org: &OrgId, id: &BackgroundTaskId) -> StoreResult<Option<BackgroundTask>>;

    /// The organization's tasks ordered by id, scanned as `query.walk()` says.
    async fn list_tasks(&self, org: &OrgId, query: &ListQuery) -> StoreResult<Vec<BackgroundTask>>;

    /// Leases a running task that nobody holds (never claimed, or its lease lapsed) to `owner` for `lease`; `None`
    /// when there is none. Two claims never hold one task at once.
    async fn claim_task(&self, owner: &str, lease: Duration) -> StoreResult<Option<BackgroundTask>>;

    /// Writes `task` (its progress, or its end) and renews the lease for `lease`, if `owner` still holds it;
    /// `false`, writing nothing, when it does not (its lease lapsed and another took the task). A task that is no
    /// longer running is released and never claimed again.
    async fn save_task(&self, task: &BackgroundTask, owner: &str, lease: Duration) -> StoreResult<bool>;
}
