//! Background tasks, all under one hash tag `{P:bgt}` (there are few, and a claim must see every running one):
//! `…:tasks:<org>` hashes each task's JSON by id, `…:order:<org>` lists the organization's ids (score 0), and
//! `…:running` hashes each running task (`<org>/<id>`) to its lease, `<until_ms>|<owner>` (`0|` before its first
//! claim). Scripts claim and save atomically, on Redis's clock, so the processes' clocks do not matter.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use xwebhook_engine::domain::{BackgroundTask, TaskStatus};
use xwebhook_engine::id::{BackgroundTaskId, OrgId};
use xwebhook_engine::store::{BackgroundTasks, ListQuery, StoreResult};

use super::listing::{self, Rows, Window};
use super::{decode_opt, encode};
use crate::RedisStore;
use crate::error::Context as _;

const WHAT: &str = "a background task";

/// Leases the first running task whose lease has lapsed. KEYS: running. ARGV: owner, lease in ms. Returns the
/// task's `<org>/<id>`, or false.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local lease = all[i + 1]
  local until_ms = tonumber(string.sub(lease, 1, string.find(lease, '|', 1, true) - 1))
  if until_ms <= now then
    redis.call('HSET', KEYS[1], all[i], string.format('%.0f', now + tonumber(ARGV[2])) .. '|' .. ARGV[1])
    return all[i]
  end
end
return false
",
    )
});

/// Writes a task if `owner` holds its lease, and renews the lease (or, for a task no longer running, drops
/// it). KEYS: running, the organization's tasks. ARGV: `<org>/<id>`, owner, lease in ms, id, JSON, `1` when
/// running. Returns 1 when written, 0 when the owner does not hold the task.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local lease = redis.call('HGET', KEYS[1], ARGV[1])
if not lease or string.sub(lease, string.find(lease, '|', 1, true) + 1) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
if ARGV[6] == '1' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', now + tonumber(ARGV[3])) .. '|' .. ARGV[2])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
",
    )
});

fn millis(lease: Duration) -> u64 {
    u64::try_from(lease.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn member(org: &OrgId, id: &BackgroundTaskId) -> String {
    format!("{org}/{id}")
}

impl RedisStore {
    fn task_key(&self, what: &str) -> String {
        self.keys.key(&[&self.keys.tag("bgt"), what])
    }

    fn tasks_of(&self, org: &OrgId) -> String {
        self.task_key(&format!("tasks:{org}"))
    }

    fn task_order(&self, org: &OrgId) -> String {
        self.task_key(&format!("order:{org}"))
    }

    fn running_tasks(&self) -> String {
        self.task_key("running")
    }
}

#[async_trait]
impl BackgroundTasks for RedisStore {
    async fn create_task(&self, task: &BackgroundTask) -> StoreResult<()> {
        let json = encode(task, WHAT)?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(self.tasks_of(&task.org_id), task.id.as_str(), json)
            .zadd(self.task_order(&task.org_id), task.id.as_str(), 0);
        if task.status == TaskStatus::Running {
            pipe.hset(self.running_tasks(), member(&task.org_id, &task.id), "0|");
        }
        let mut conn = self.pool.get().await?;
        let () = pipe
            .query_async(&mut conn)
            .await
            .redis("cannot create a background task")?;
        Ok(())
    }

    async fn get_task(&self, org: &OrgId, id: &BackgroundTaskId) -> StoreResult<Option<BackgroundTask>> {
        let mut conn = self.pool.get().await?;
        let row: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(self.tasks_of(org))
            .arg(id.as_str())
            .query_async(&mut conn)
            .await
            .redis("cannot read a background task")?;
        decode_opt(row, WHAT)
    }

    async fn list_tasks(&self, org: &OrgId, query: &ListQuery) -> StoreResult<Vec<BackgroundTask>> {
        let tasks = self.tasks_of(org);
        let mut conn = self.pool.get().await?;
        let walk = query.walk();
        let (order, rows) = (self.task_order(org), Rows::Hash(&tasks));
        listing::walk(&mut conn, &order, rows, &walk, Window::default(), WHAT, |_| true).await
    }

    async fn claim_task(&self, owner: &str, lease: Duration) -> StoreResult<Option<BackgroundTask>> {
        let mut conn = self.pool.get().await?;
        let claimed: Option<String> = CLAIM
            .key(self.running_tasks())
            .arg(owner)
            .arg(millis(lease))
            .invoke_async(&mut conn)
            .await
            .redis("cannot claim a background task")?;
        let Some((org, id)) = claimed.as_deref().and_then(|m| m.split_once('/')) else {
            return Ok(None);
        };
        let (org, id) = (OrgId::parse(org), BackgroundTaskId::parse(id));
        match (org, id) {
            (Ok(org), Ok(id)) => self.get_task(&org, &id).await,
            _ => Ok(None),
        }
    }

    async fn save_task(&self, task: &BackgroundTask, owner: &str, lease: Duration) -> StoreResult<bool> {
        let json = encode(task, WHAT)?;
        let running = if task.status == TaskStatus::Running {
            "1"
        } else {
            "0"
        };
        let mut conn = self.pool.get().await?;
        let saved: i64 = SAVE
            .key(self.running_tasks())
            .key(self.tasks_of(&task.org_id))
            .arg(member(&task.org_id, &task.id))
            .arg(owner)
            .arg(millis(lease))
            .arg(task.id.as_str())
            .arg(json)
            .arg(running)
            .invoke_async(&mut conn)
            .await
            .redis("cannot save a background task")?;
        Ok(saved == 1)
    }
}
