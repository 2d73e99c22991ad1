//! Retention across tenants on Redis (Cluster-safe).
//!
//! A message's rows live in its application's slot, so no single global index could be written atomically
//! with it. Instead:
//! - each application keeps a payload-expiry ZSET in its own slot (`…:expiry`, written by the same script as
//!   the message), and messages are already listed by id in `…:msgs`;
//! - one registry SET, `P:retention:apps`, names every application that has messages. It is written before
//!   the message (so it is a superset: an entry without messages costs one empty look-up) and never pruned,
//!   since removing an entry could race a new message. Each process remembers what it registered, so the
//!   registry costs one `SADD` per application per process, not one per message.
//!
//! The jobs walk the registry with `SSCAN` and work one application at a time, each step one script in that
//! application's slot. The walk's cursor is kept between calls, so draining a backlog batch by batch visits
//! each application about once instead of rescanning the registry from the start every batch.
//!
//! Concurrent callers are safe: an expiry is claimed by `ZREM` inside the script that rewrites the row, so
//! each payload is expunged and counted once; a prune script first checks that the message's attempt and
//! destination sets are still the ones read, and the caller reads again if they changed.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use std::sync::LazyLock;
use xwebhook_engine::domain::{Attempt, Message, Payload};
use xwebhook_engine::id::{AppId, OrgId};
use xwebhook_engine::store::{
    PruneCounts, RetentionStore, StoreError, StoreErrorKind, StoreResult, prune_bound,
};

use super::{AppKeys, decode, decode_opt, encode};
use crate::RedisStore;
use crate::conn::Conn;
use crate::error::Context as _;

/// Registry entries read per `SSCAN` step.
const SCAN_COUNT: usize = 100;
/// Past this many remembered registrations, a process forgets them all and registers again as it goes.
const MAX_REMEMBERED: usize = 100_000;
/// Reads of one message's rows before a prune gives up on a message that keeps getting new attempts.
const PRUNE_TRIES: usize = 5;

/// Expunges claimed payloads. KEYS: expiry zset, then one message row per id. ARGV: n, ids…, then per id the
/// expunged JSON or '' (row missing). A row is rewritten only if its expiry entry was still there (the claim)
/// and the row still exists (`XX`: a pruned message stays gone). Returns how many were rewritten.
static EXPIRE_PAYLOADS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n, done = tonumber(ARGV[1]), 0
for i = 1, n do
  local json = ARGV[1 + n + i]
  if redis.call('ZREM', KEYS[1], ARGV[1 + i]) == 1 and json ~= '' then
    if redis.call('SET', KEYS[1 + i], json, 'XX') then done = done + 1 end
  end
end
return done
",
    )
});

/// Deletes one message and everything under it, if its attempt and destination sets are as the caller read
/// them. KEYS: row, msgs, expiry, attempts-of-message, destinations-of-message, then per attempt (row,
/// by-endpoint zset), per destination (row, by-endpoint zset), then [event id key]. ARGV: msg id, attempt
/// count, destination count, attempt ids…. Returns {message deleted (0/1), attempts, destinations}, or {-1}
/// when the sets changed.
static PRUNE_MESSAGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local id, na, nd = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('ZCARD', KEYS[4]) ~= na or redis.call('ZCARD', KEYS[5]) ~= nd then return {-1} end
local gone = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
local k = 6
for i = 1, na do
  redis.call('DEL', KEYS[k])
  redis.call('ZREM', KEYS[k + 1], ARGV[3 + i])
  k = k + 2
end
for _ = 1, nd do
  redis.call('DEL', KEYS[k])
  redis.call('ZREM', KEYS[k + 1], id)
  k = k + 2
end
if KEYS[k] and redis.call('GET', KEYS[k]) == id then redis.call('DEL', KEYS[k]) end
redis.call('DEL', KEYS[4], KEYS[5])
return {gone, na, nd}
",
    )
});

/// Per-process state of the retention jobs.
#[derive(Default)]
pub(crate) struct RetentionState {
    registered: Mutex<HashSet<String>>,
    expiry_cursor: Mutex<u64>,
    prune_cursor: Mutex<u64>,
}

fn registry_entry(org: &OrgId, app: &AppId) -> String {
    format!("{org}/{app}")
}

fn parse_entry(entry: &str) -> StoreResult<(OrgId, AppId)> {
    let corrupt = || StoreError::new(StoreErrorKind::Corrupt, format!("registry entry `{entry}`"));
    let (org, app) = entry.split_once('/').ok_or_else(corrupt)?;
    Ok((
        OrgId::parse(org).map_err(|_| corrupt())?,
        AppId::parse(app).map_err(|_| corrupt())?,
    ))
}

/// One application's share of a job: the work it did, capped by what is left of the call's limit.
trait AppJob {
    type Out: Copy + Default + std::ops::AddAssign;
    fn size(out: &Self::Out) -> usize;
    async fn run(&self, conn: &mut Conn, k: &AppKeys, left: usize) -> StoreResult<Self::Out>;
}

impl RedisStore {
    /// Adds the application to the registry unless this process did already.
    pub(crate) async fn register_app(&self, org: &OrgId, app: &AppId) -> StoreResult<()> {
        let entry = registry_entry(org, app);
        if self.locked(&self.retention.registered)?.contains(&entry) {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        redis::cmd("SADD")
            .arg(self.registry_key())
            .arg(&entry)
            .query_async::<()>(&mut conn)
            .await
            .redis("cannot register an application for retention")?;
        let mut registered = self.locked(&self.retention.registered)?;
        if registered.len() >= MAX_REMEMBERED {
            registered.clear();
        }
        registered.insert(entry);
        Ok(())
    }

    fn registry_key(&self) -> String {
        self.keys.key(&["retention", "apps"])
    }

    fn locked<'a, T>(&self, m: &'a Mutex<T>) -> StoreResult<std::sync::MutexGuard<'a, T>> {
        m.lock()
            .map_err(|_| StoreError::new(StoreErrorKind::Internal, "a retention lock was poisoned"))
    }

    /// Runs `job` over registered applications from the saved cursor until `limit` is reached or every
    /// application was visited once since the call began.
    async fn over_apps<J: AppJob>(&self, job: &J, cursor: &Mutex<u64>, limit: usize) -> StoreResult<J::Out> {
        let start = *self.locked(cursor)?;
        let (mut at, mut wrapped, mut total) = (start, false, J::Out::default());
        let mut conn = self.pool.get().await?;
        loop {
            let (next, entries): (u64, Vec<String>) = redis::cmd("SSCAN")
                .arg(self.registry_key())
                .arg(at)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut conn)
                .await
                .redis("cannot scan the retention registry")?;
            for entry in &entries {
                let (org, app) = parse_entry(entry)?;
                let k = AppKeys::new(&self.keys, &org, &app);
                total += job.run(&mut conn, &k, limit - J::size(&total)).await?;
                if J::size(&total) >= limit {
                    // Resume on this step next time: its other applications may have more.
                    *self.locked(cursor)? = at;
                    return Ok(total);
                }
            }
            // A walk that began mid-registry goes round once more from the start, to reach what preceded it.
            match (next, start != 0 && !wrapped) {
                (0, true) => (at, wrapped) = (0, true),
                (0, false) => break,
                (n, _) => at = n,
            }
        }
        *self.locked(cursor)? = 0;
        Ok(total)
    }
}

struct Expire {
    now_ms: i64,
}

impl AppJob for Expire {
    type Out = u64;

    fn size(out: &u64) -> usize {
        usize::try_from(*out).unwrap_or(usize::MAX)
    }

    async fn run(&self, conn: &mut Conn, k: &AppKeys, left: usize) -> StoreResult<u64> {
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(k.payload_expiry())
            .arg("-inf")
            .arg(self.now_ms)
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(left)
            .query_async(conn)
            .await
            .redis("cannot read payload expiries")?;
        if ids.is_empty() {
            return Ok(0);
        }
        let keys: Vec<String> = ids.iter().map(|id| k.message(id)).collect();
        let rows: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(conn)
            .await
            .redis("cannot read messages to expire")?;
        let mut call = EXPIRE_PAYLOADS.key(k.payload_expiry());
        call.arg(ids.len()).arg(&ids);
        for (key, row) in keys.iter().zip(rows) {
            call.key(key);
            let expunged = match decode_opt::<Message>(row, "a message")? {
                Some(m) => encode(
                    &Message {
                        payload: Payload::empty(),
                        ..m
                    },
                    "a message",
                )?,
                None => String::new(),
            };
            call.arg(expunged);
        }
        call.invoke_async(conn)
            .await
            .redis("cannot expunge expired payloads")
    }
}

struct Prune {
    bound: String,
}

impl AppJob for Prune {
    type Out = PruneCounts;

    fn size(out: &PruneCounts) -> usize {
        usize::try_from(out.messages).unwrap_or(usize::MAX)
    }

    async fn run(&self, conn: &mut Conn, k: &AppKeys, left: usize) -> StoreResult<PruneCounts> {
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(k.messages())
            .arg("-")
            .arg(format!("({}", self.bound))
            .arg("BYLEX")
            .arg("LIMIT")
            .arg(0)
            .arg(left)
            .query_async(conn)
            .await
            .redis("cannot read messages to prune")?;
        let mut counts = PruneCounts::default();
        for id in &ids {
            counts += prune_message(conn, k, id).await?;
        }
        Ok(counts)
    }
}

/// Reads what is recorded under the message, then deletes it all in one script; again if it changed meanwhile.
async fn prune_message(conn: &mut Conn, k: &AppKeys, id: &str) -> StoreResult<PruneCounts> {
    for _ in 0..PRUNE_TRIES {
        let row: Option<Vec<u8>> = redis::cmd("GET")
            .arg(k.message(id))
            .query_async(conn)
            .await
            .redis("cannot read a message to prune")?;
        let message: Option<Message> = decode_opt(row, "a message")?;
        let attempts = members(conn, &k.attempts_of_message(id)).await?;
        let endpoints = members(conn, &k.destinations_of_message(id)).await?;
        let attempt_keys: Vec<String> = attempts.iter().map(|a| k.attempt(a)).collect();
        let rows: Vec<Option<Vec<u8>>> = if attempt_keys.is_empty() {
            Vec::new()
        } else {
            redis::cmd("MGET")
                .arg(&attempt_keys)
                .query_async(conn)
                .await
                .redis("cannot read attempts to prune")?
        };
        let mut call = PRUNE_MESSAGE.key(k.message(id));
        call.key(k.messages())
            .key(k.payload_expiry())
            .key(k.attempts_of_message(id))
            .key(k.destinations_of_message(id));
        call.arg(id).arg(attempts.len()).arg(endpoints.len());
        for (attempt_id, row) in attempts.iter().zip(rows) {
            // A missing attempt row has no endpoint to unindex; its by-message entry goes with the set.
            let endpoint = match row {
                Some(bytes) => decode::<Attempt>(&bytes, "an attempt")?.endpoint_id.to_string(),
                None => String::new(),
            };
            call.key(k.attempt(attempt_id))
                .key(k.attempts_of_endpoint(&endpoint))
                .arg(attempt_id);
        }
        for ep in &endpoints {
            call.key(k.destination(id, ep))
                .key(k.destinations_of_endpoint(ep));
        }
        if let Some(event_id) = message.as_ref().and_then(|m| m.event_id.as_ref()) {
            call.key(k.event_id(event_id.as_str()));
        }
        let answer: Vec<i64> = call.invoke_async(conn).await.redis("cannot prune a message")?;
        if let [gone, attempts, destinations] = answer[..] {
            let n = |v: i64| u64::try_from(v).unwrap_or(0);
            return Ok(PruneCounts {
                messages: n(gone),
                attempts: n(attempts),
                destinations: n(destinations),
            });
        }
    }
    Err(StoreError::new(
        StoreErrorKind::Conflict,
        format!("message `{id}` kept getting new attempts while being pruned"),
    ))
}

async fn members(conn: &mut Conn, set: &str) -> StoreResult<Vec<String>> {
    redis::cmd("ZRANGE")
        .arg(set)
        .arg(0)
        .arg(-1)
        .query_async(conn)
        .await
        .redis("cannot read a set to prune")
}

#[async_trait]
impl RetentionStore for RedisStore {
    async fn expire_payloads(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        let job = Expire {
            now_ms: now.timestamp_millis(),
        };
        self.over_apps(&job, &self.retention.expiry_cursor, limit).await
    }

    async fn prune_before(&self, cutoff: DateTime<Utc>, limit: usize) -> StoreResult<PruneCounts> {
        let job = Prune {
            bound: prune_bound(cutoff).as_str().to_owned(),
        };
        self.over_apps(&job, &self.retention.prune_cursor, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_entries_round_trip() {
        let (org, app) = (OrgId::generate(), AppId::generate());
        assert_eq!(
            parse_entry(&registry_entry(&org, &app)).expect("parses"),
            (org, app)
        );
        assert!(parse_entry("org_x").is_err());
        assert!(parse_entry("nonsense/app_x").is_err());
    }
}
