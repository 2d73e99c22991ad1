//! Background tasks: one row per task under its organization (`org/id`), and a `running` table holding each
//! running task's lease, `(until_ms, owner)` (`(0, "")` before its first claim). The writer thread runs one
//! operation at a time, which is what makes a claim, and a save's check of its owner, atomic.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use redb::{ReadableTable, Table};
use xwebhook_engine::domain::{BackgroundTask, TaskStatus};
use xwebhook_engine::id::{BackgroundTaskId, OrgId};
use xwebhook_engine::store::{BackgroundTasks, ListQuery, StoreResult};

use crate::EmbeddedStore;
use crate::error::Context as _;
use crate::keys::{Span, key, prefix};
use crate::tables::{BACKGROUND_TASKS, RUNNING_TASKS, get_row, put_row, scan};
use crate::writer::Batch;

const WHAT: &str = "a background task";

type Running<'t> = Table<'t, &'static str, (u64, &'static str)>;

fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

fn until(lease: Duration) -> u64 {
    now_ms().saturating_add(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX))
}

fn row_key(task: &BackgroundTask) -> String {
    key(&[task.org_id.as_str(), task.id.as_str()])
}

fn running<'t>(b: &'t Batch<'_>) -> StoreResult<Running<'t>> {
    b.tx.open_table(RUNNING_TASKS)
        .context("cannot open the running background tasks")
}

fn create(b: &Batch<'_>, task: &BackgroundTask) -> StoreResult<()> {
    let mut rows =
        b.tx.open_table(BACKGROUND_TASKS)
            .context("cannot open background tasks")?;
    let key = row_key(task);
    put_row(&mut rows, &key, task, WHAT)?;
    if task.status == TaskStatus::Running {
        running(b)?
            .insert(key.as_str(), (0, ""))
            .context("cannot list a running background task")?;
    }
    Ok(())
}

fn claim(b: &Batch<'_>, owner: &str, lease: Duration) -> StoreResult<Option<BackgroundTask>> {
    let now = now_ms();
    let mut leases = running(b)?;
    let free = leases
        .iter()
        .context("cannot scan the running background tasks")?
        .find_map(|row| match row {
            Ok((k, v)) if v.value().0 <= now => Some(Ok(k.value().to_owned())),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .transpose()
        .context("cannot scan the running background tasks")?;
    let Some(key) = free else { return Ok(None) };
    leases
        .insert(key.as_str(), (until(lease), owner))
        .context("cannot lease a background task")?;
    let rows =
        b.tx.open_table(BACKGROUND_TASKS)
            .context("cannot open background tasks")?;
    get_row(&rows, &key, WHAT)
}

fn save(b: &Batch<'_>, task: &BackgroundTask, owner: &str, lease: Duration) -> StoreResult<bool> {
    let key = row_key(task);
    let mut leases = running(b)?;
    let holder = leases
        .get(key.as_str())
        .context("cannot read a background task's lease")?
        .map(|g| g.value().1.to_owned());
    if holder.as_deref() != Some(owner) {
        return Ok(false);
    }
    if task.status == TaskStatus::Running {
        leases
            .insert(key.as_str(), (until(lease), owner))
            .context("cannot renew a background task's lease")?;
    } else {
        leases
            .remove(key.as_str())
            .context("cannot release a background task")?;
    }
    drop(leases);
    let mut rows =
        b.tx.open_table(BACKGROUND_TASKS)
            .context("cannot open background tasks")?;
    put_row(&mut rows, &key, task, WHAT)?;
    Ok(true)
}

#[async_trait]
impl BackgroundTasks for EmbeddedStore {
    async fn create_task(&self, task: &BackgroundTask) -> StoreResult<()> {
        let task = task.clone();
        self.writer.write(move |b| create(b, &task)).await
    }

    async fn get_task(&self, org: &OrgId, id: &BackgroundTaskId) -> StoreResult<Option<BackgroundTask>> {
        let tx = self.read()?;
        let rows = tx
            .open_table(BACKGROUND_TASKS)
            .context("cannot open background tasks")?;
        get_row(&rows, &key(&[org.as_str(), id.as_str()]), WHAT)
    }

    async fn list_tasks(&self, org: &OrgId, query: &ListQuery) -> StoreResult<Vec<BackgroundTask>> {
        let tx = self.read()?;
        let rows = tx
            .open_table(BACKGROUND_TASKS)
            .context("cannot open background tasks")?;
        let walk = query.walk();
        let span = Span::new(&prefix(&[org.as_str()]), &walk, None, None);
        scan(&rows, span, walk.ascending, walk.take, |_, v| {
            crate::error::decode(v, WHAT).map(Some)
        })
    }

    async fn claim_task(&self, owner: &str, lease: Duration) -> StoreResult<Option<BackgroundTask>> {
        // Runners ask every second; a read answers an idle store without a write (and its sync to disk).
        let tx = self.read()?;
        let leases = tx
            .open_table(RUNNING_TASKS)
            .context("cannot open the running background tasks")?;
        let now = now_ms();
        let mut rows = leases
            .iter()
            .context("cannot scan the running background tasks")?;
        if !rows.any(|row| row.is_ok_and(|(_, v)| v.value().0 <= now)) {
            return Ok(None);
        }
        let owner = owner.to_owned();
        self.writer.write(move |b| claim(b, &owner, lease)).await
    }

    async fn save_task(&self, task: &BackgroundTask, owner: &str, lease: Duration) -> StoreResult<bool> {
        let (task, owner) = (task.clone(), owner.to_owned());
        self.writer.write(move |b| save(b, &task, &owner, lease)).await
    }
}
