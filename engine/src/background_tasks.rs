//! The background-task runner (worker role). It claims a running task, runs its job a page at a time, and saves
//! the task after each page, which records its progress and renews its lease, until the job is done or the
//! process stops. A task whose process died is taken over by any runner once its lease lapses, from its last
//! saved page: that page's messages may be queued a second time, and the worker sends each once per task (see
//! `DeliverTask::replay`). A replay or recovery whose endpoint was deleted fails. A purge forgets payloads, which is the
//! same however often it is done.
//!
//! Pages are paced to `rate` messages a second per task, so that a replay of millions joins the queue beside
//! the live traffic instead of ahead of it.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::domain::{
    Application, BackgroundTask, Endpoint, EventTypeName, Job, MessageStatus, ReplayFilter, TaskStatus,
    TriggerType,
};
use crate::id::{AppId, EndpointId, MessageId, OrgId};
use crate::log_limit::FailureLog;
use crate::store::{
    Cursor, DeliverTask, DestinationFilter, ListQuery, MessageFilter, Order, Page, Ref, StoreResult, Stores,
    Task, TimeTypeChannel,
};

#[derive(Debug, Clone)]
pub struct TaskRunnerConfig {
    /// This runner's name on the leases it takes; unique per process.
    pub owner: String,
    /// How long a claim holds a task without a save; a dead process's tasks wait this long to be taken over.
    pub lease: Duration,
    /// How often an idle runner looks for a task.
    pub poll: Duration,
    /// Messages a task queues a second, at most.
    pub rate: NonZeroU32,
}

impl TaskRunnerConfig {
    /// The most messages in one page: 100, fewer when pacing would otherwise keep a page longer than a third
    /// of the lease (a page must be saved well before the lease lapses).
    fn page(&self) -> usize {
        let in_a_third = self.lease.as_secs_f64() / 3.0 * f64::from(self.rate.get());
        (in_a_third as usize).clamp(1, 100)
    }
}

pub struct TaskRunner {
    stores: Stores,
    clock: Arc<dyn Clock>,
    config: TaskRunnerConfig,
}

/// Which messages a replay sends: those created in `[since, until)` the endpoint subscribes to and was never
/// sent, or those it was sent that a filter keeps.
enum Selection<'a> {
    Missing(DateTime<Utc>, Option<DateTime<Utc>>),
    Sent(&'a ReplayFilter),
    /// A recovery's: those whose delivery failed (as `Sent` with that status), sent with retries.
    Failed(&'a ReplayFilter),
}

/// What one page of a job did: handled `count` messages (or applications); `cursor` is where the next page
/// starts, `None` once the job is done; `failed` says why the job cannot go on; `result`, the statistics so far.
#[derive(Default)]
struct Step {
    count: u64,
    cursor: Option<String>,
    failed: Option<&'static str>,
    result: Option<serde_json::Value>,
}

impl TaskRunner {
    pub fn new(stores: Stores, clock: Arc<dyn Clock>, config: TaskRunnerConfig) -> Self {
        Self {
            stores,
            clock,
            config,
        }
    }

    /// Runs tasks until `shutdown` fires. A task cut off by the shutdown is left to its lease.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut failures = FailureLog::new("running background tasks");
        while !shutdown.is_cancelled() {
            let tasks = &self.stores.background_tasks;
            let claimed = tasks.claim_task(&self.config.owner, self.config.lease).await;
            let idle = match claimed {
                // Straight on to the next task; after an error, a pause (the task waits for its lease).
                Ok(Some(task)) => match self.work(task, &shutdown).await {
                    Ok(()) => {
                        failures.succeeded();
                        false
                    }
                    Err(e) => {
                        failures.failed(&e);
                        true
                    }
                },
                Ok(None) => {
                    failures.succeeded();
                    true
                }
                Err(e) => {
                    failures.failed(&e);
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(self.config.poll) => {}
                }
            }
        }
    }

    async fn work(&self, mut task: BackgroundTask, shutdown: &CancellationToken) -> StoreResult<()> {
        info!(task_id = %task.id, task = task.job.task_type(), "background task claimed");
        let page = self.config.page();
        while task.status == TaskStatus::Running && !shutdown.is_cancelled() {
            let started = tokio::time::Instant::now();
            let step = self.step(&task, page).await?;
            task.progress += step.count;
            if step.result.is_some() {
                task.result = step.result;
            }
            match (step.failed, step.cursor) {
                (Some(why), _) => {
                    task.status = TaskStatus::Failed;
                    task.error = Some(why.to_owned());
                }
                (None, Some(cursor)) => task.cursor = Some(cursor),
                (None, None) => task.status = TaskStatus::Finished,
            }
            task.updated_at = self.clock.now();
            let (owner, lease) = (&self.config.owner, self.config.lease);
            if !self
                .stores
                .background_tasks
                .save_task(&task, owner, lease)
                .await?
            {
                warn!(task_id = %task.id, "background task lost its lease; another runner has it");
                return Ok(());
            }
            let paced = Duration::from_secs_f64(step.count as f64 / f64::from(self.config.rate.get()));
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep_until(started + paced) => {}
            }
        }
        info!(task_id = %task.id, status = task.status.as_str(), progress = task.progress, "background task stopped");
        Ok(())
    }

    /// Runs the next page of `task`'s job.
    async fn step(&self, task: &BackgroundTask, page: usize) -> StoreResult<Step> {
        let cursor = task.cursor.clone().map(|key| Cursor { key, backward: false });
        let query = ListQuery::new(page, cursor, Order::Ascending);
        match &task.job {
            Job::PurgeContent { app_id } => self.purge(&task.org_id, app_id, &query).await,
            Job::AppStats { .. } | Job::EventTypeAggregate => self.statistics(task, &query).await,
            Job::ReplayMissing {
                app_id,
                endpoint_id,
                since,
                until,
            } => {
                let missing = Selection::Missing(*since, *until);
                self.replay(task, app_id, endpoint_id, missing, &query).await
            }
            Job::BulkReplay {
                app_id,
                endpoint_id,
                filter,
            } => {
                let sent = Selection::Sent(filter);
                self.replay(task, app_id, endpoint_id, sent, &query).await
            }
            Job::Recover {
                app_id,
                endpoint_id,
                since,
                until,
            } => {
                let failed = ReplayFilter {
                    since: Some(*since),
                    until: *until,
                    status: Some(MessageStatus::Fail),
                    ..ReplayFilter::default()
                };
                let selection = Selection::Failed(&failed);
                self.replay(task, app_id, endpoint_id, selection, &query).await
            }
        }
    }

    /// Queues a page of a replay's messages, each a delivery that the worker sends once per replay.
    async fn replay(
        &self,
        task: &BackgroundTask,
        app: &AppId,
        endpoint_id: &EndpointId,
        selection: Selection<'_>,
        query: &ListQuery,
    ) -> StoreResult<Step> {
        let key = Ref::Id(endpoint_id.clone());
        let Some(endpoint) = self
            .stores
            .endpoints
            .get_endpoint(&task.org_id, app, &key)
            .await?
        else {
            let failed = Some("the endpoint was deleted");
            return Ok(Step {
                failed,
                ..Step::default()
            });
        };
        let (msg_ids, cursor, trigger) = match selection {
            Selection::Missing(since, until) => {
                let (ids, cursor) = self.missing(&endpoint, since, until, query).await?;
                (ids, cursor, TriggerType::Manual)
            }
            Selection::Sent(filter) => {
                let (ids, cursor) = self.sent(&endpoint, filter, query).await?;
                (ids, cursor, TriggerType::Manual)
            }
            Selection::Failed(filter) => {
                let (ids, cursor) = self.sent(&endpoint, filter, query).await?;
                (ids, cursor, TriggerType::Scheduled)
            }
        };
        let tasks: Vec<Task> = msg_ids
            .into_iter()
            .map(|msg_id| {
                let deliver = DeliverTask::replay(endpoint.id.clone(), task.id.clone(), trigger);
                Task::deliver(task.org_id.clone(), app.clone(), msg_id, deliver, None)
            })
            .collect();
        let count = tasks.len() as u64;
        if !tasks.is_empty() {
            self.stores.queue.enqueue(tasks).await?;
        }
        Ok(Step {
            count,
            cursor,
            ..Step::default()
        })
    }

    /// Gathers the statistics of a page of applications, and adds them to the task's result.
    async fn statistics(&self, task: &BackgroundTask, query: &ListQuery) -> StoreResult<Step> {
        let org = &task.org_id;
        let (apps, cursor) = self.applications(task, query).await?;
        let (list, mut result) = match &task.job {
            Job::AppStats { .. } => (
                "appStats",
                task.result.clone().unwrap_or_else(|| json!({"appStats": []})),
            ),
            _ => (
                "event_types",
                task.result.clone().unwrap_or_else(|| json!({"event_types": []})),
            ),
        };
        let mut rows = Vec::with_capacity(apps.len());
        for app in &apps {
            let endpoints = self.stores.endpoints.endpoints_of_app(org, &app.id).await?;
            let row = match &task.job {
                Job::AppStats { since, until, .. } => {
                    let window = window(Some(*since), Some(*until));
                    let mut destinations = 0;
                    for ep in &endpoints {
                        let c = self
                            .stores
                            .attempts
                            .destination_counts(org, &app.id, &ep.id, &window)
                            .await?;
                        destinations += c.success + c.pending + c.sending + c.fail + c.canceled;
                    }
                    json!({"messageDestinations": destinations, "appId": app.id, "appUid": app.uid})
                }
                _ => {
                    let named: BTreeSet<&EventTypeName> = endpoints
                        .iter()
                        .filter_map(|e| e.event_types.as_ref())
                        .flatten()
                        .collect();
                    let catch_all = endpoints.iter().any(|e| e.event_types.is_none());
                    json!({"appId": app.id, "explicitlySubscribedEventTypes": named, "hasCatchAllEndpoint": catch_all})
                }
            };
            rows.push(row);
        }
        if let Some(all) = result[list].as_array_mut() {
            all.extend(rows);
        }
        let count = apps.len() as u64;
        Ok(Step {
            count,
            cursor,
            result: Some(result),
            ..Step::default()
        })
    }

    /// A page of the applications a statistics job covers: those it names (the cursor counts them), or every one
    /// of the organization's, in id order.
    async fn applications(
        &self,
        task: &BackgroundTask,
        query: &ListQuery,
    ) -> StoreResult<(Vec<Application>, Option<String>)> {
        let org = &task.org_id;
        if let Job::AppStats {
            app_ids: Some(ids), ..
        } = &task.job
        {
            let start: usize = task.cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
            let end = (start + query.limit).min(ids.len());
            let mut apps = Vec::new();
            for id in &ids[start..end] {
                apps.extend(
                    self.stores
                        .applications
                        .get_application(org, &Ref::Id(id.clone()))
                        .await?,
                );
            }
            return Ok((apps, (end < ids.len()).then(|| end.to_string())));
        }
        let rows = self.stores.applications.list_applications(org, query).await?;
        let page = Page::from_walk(rows, query, |a| a.id.to_string());
        Ok((page.items, next(page.iterator, page.done)))
    }

    /// Forgets the payloads of a page of the application's messages.
    async fn purge(&self, org: &OrgId, app: &AppId, query: &ListQuery) -> StoreResult<Step> {
        let filter = MessageFilter::default();
        let rows = self
            .stores
            .messages
            .list_messages(org, app, &filter, query)
            .await?;
        let page = Page::from_walk(rows, query, |m| m.id.to_string());
        let count = page.items.len() as u64;
        for m in &page.items {
            self.stores
                .messages
                .expunge_message_content(org, app, &m.id)
                .await?;
        }
        Ok(Step {
            count,
            cursor: next(page.iterator, page.done),
            ..Step::default()
        })
    }

    /// A page of the application's messages in the window, and which of them the endpoint subscribes to but has
    /// no delivery of.
    async fn missing(
        &self,
        endpoint: &Endpoint,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        query: &ListQuery,
    ) -> StoreResult<(Vec<MessageId>, Option<String>)> {
        let (org, app) = (&endpoint.org_id, &endpoint.app_id);
        let filter = MessageFilter::from(window(Some(since), until));
        let rows = self
            .stores
            .messages
            .list_messages(org, app, &filter, query)
            .await?;
        let page = Page::from_walk(rows, query, |m| m.id.to_string());
        let mut missing = Vec::new();
        for m in page.items {
            let subscribed = endpoint.subscribes_to(&m.event_type, m.channels.as_ref());
            if subscribed
                && self
                    .stores
                    .attempts
                    .get_destination(org, app, &m.id, &endpoint.id)
                    .await?
                    .is_none()
            {
                missing.push(m.id);
            }
        }
        Ok((missing, next(page.iterator, page.done)))
    }

    /// A page of the endpoint's deliveries that `filter` keeps.
    async fn sent(
        &self,
        endpoint: &Endpoint,
        filter: &ReplayFilter,
        query: &ListQuery,
    ) -> StoreResult<(Vec<MessageId>, Option<String>)> {
        let (org, app) = (&endpoint.org_id, &endpoint.app_id);
        let filter = DestinationFilter {
            common: TimeTypeChannel {
                event_types: filter.event_types.clone(),
                channel: filter.channel.clone(),
                ..window(filter.since, filter.until)
            },
            status: filter.status,
            tag: filter.tag.clone(),
        };
        let rows = self
            .stores
            .attempts
            .list_destinations_by_endpoint(org, app, &endpoint.id, &filter, query)
            .await?;
        let page = Page::from_walk(rows, query, |d| d.msg_id.to_string());
        let ids = page.items.into_iter().map(|d| d.msg_id).collect();
        Ok((ids, next(page.iterator, page.done)))
    }
}

/// `[since, until)` as a filter, whose bounds are exclusive: a message created exactly at `since` counts.
fn window(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> TimeTypeChannel {
    TimeTypeChannel {
        after: since.map(|s| s - chrono::Duration::nanoseconds(1)),
        before: until,
        ..TimeTypeChannel::default()
    }
}

/// Where the next page starts; `None` when this one was the last.
fn next(iterator: Option<String>, done: bool) -> Option<String> {
    if done { None } else { iterator }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(lease_secs: u64, rate: u32) -> TaskRunnerConfig {
        TaskRunnerConfig {
            owner: "test".into(),
            lease: Duration::from_secs(lease_secs),
            poll: Duration::from_secs(1),
            rate: NonZeroU32::new(rate).expect("non-zero"),
        }
    }

    #[test]
    fn a_page_is_saved_within_a_third_of_the_lease() {
        assert_eq!(config(30, 1000).page(), 100, "at most 100");
        assert_eq!(
            config(3, 50).page(),
            50,
            "a second's worth at 50/s with a 3 s lease"
        );
        assert_eq!(config(1, 1).page(), 1, "at least one");
    }
}
