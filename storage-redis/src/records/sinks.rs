//! Sinks: every key of one application's sinks shares the hash tag `{P:snk:<org>/<app>}`, so that the intake
//! appends a message to all of them in one script (one round trip), and a lease check and the state write it
//! guards are one atomic step:
//! - `…:cfg` HASH sink id → JSON; `…:order` ZSET of sink ids (score 0, for listing); `…:uids` HASH uid → id.
//! - `…:state` HASH sink id → `SinkState` JSON (absent until the first save: the default state).
//! - `…:lease` HASH sink id → `<until_ms>|<owner>`, on Redis's clock (scripts read `TIME`), so the processes'
//!   clocks do not matter.
//! - `…:log:<sink>` STREAM of entries `m` → message id; its entry ids are the positions. Each append trims
//!   entries older than `LOG_RETENTION` (`MINID ~`, so Redis trims whole nodes, cheaply).
//! - `…:consumers:<sink>` HASH consumer → position (`<ms>-<seq>`).
//!
//! Across tenants, `P:{P:snk}:all` SET of `<org>/<app>/<sink>` for the pumps. It lives in another slot, so it
//! cannot change in the application's scripts: a sink joins it before it is created and leaves it after it is
//! deleted, so that the set may name a sink that no longer exists (a crash between the two steps; the pumps
//! find nothing to lease there) but never misses one that does. Beside it, `P:{P:snk}:pumps` ZSET of the live
//! pumps, scored by when each stops counting as alive, so that each drives its share.

mod layout;
mod scripts;

use std::time::Duration;

use async_trait::async_trait;
use redis::streams::StreamRangeReply;
use xwebhook_engine::domain::{LogEntry, Position, Sink, SinkKey, SinkState};
use xwebhook_engine::id::{AppId, MessageId, OrgId, SinkId};
use xwebhook_engine::store::{
    Appended, LOG_RETENTION, ListQuery, Ref, SinkWithState, Sinks, StoreError, StoreErrorKind, StoreResult,
};

use super::listing::{self, Rows, Window};
use super::scripts::{CREATE_FIELD, UPDATE_FIELD};
use super::{Outcome, decode, decode_opt, encode};
use crate::RedisStore;
use crate::conn::Conn;
use crate::error::Context as _;
use layout::{SinkKeys, member, parse_member};
use scripts::{APPEND, DELETE, GET, LEASE_SINK, PUMPS_ALIVE, RELEASE, SAVE_STATE, SEEK};

const WHAT: &str = "a sink";
const STATE: &str = "a sink's state";

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn uid_arg(sink: &Sink) -> &str {
    sink.uid.as_ref().map(|u| u.as_str()).unwrap_or("")
}

fn uid_taken(sink: &Sink) -> StoreError {
    StoreError::conflict(format!(
        "a sink with uid `{}` already exists in this application",
        uid_arg(sink)
    ))
}

fn absent(id: &SinkId) -> StoreError {
    StoreError::not_found(format!("sink `{id}` does not exist"))
}

fn corrupt(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::with_source(StoreErrorKind::Corrupt, format!("{what} is not valid"), e)
}

fn position(s: &str) -> StoreResult<Position> {
    s.parse().map_err(|e| corrupt("a sink log position", e))
}

impl RedisStore {
    fn all_sinks_key(&self) -> String {
        self.keys.key(&[&self.keys.tag("snk"), "all"])
    }

    fn pumps_key(&self) -> String {
        self.keys.key(&[&self.keys.tag("snk"), "pumps"])
    }

    /// Pairs sinks with their states, read in one `HMGET`.
    async fn with_states(
        &self,
        conn: &mut Conn,
        k: &SinkKeys,
        sinks: Vec<Sink>,
    ) -> StoreResult<Vec<SinkWithState>> {
        if sinks.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = sinks.iter().map(|s| s.id.as_str()).collect();
        let states: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
            .arg(k.state())
            .arg(&ids)
            .query_async(conn)
            .await
            .redis("cannot read sinks' states")?;
        sinks
            .into_iter()
            .zip(states)
            .map(|(sink, state)| {
                let state = decode_opt(state, STATE)?.unwrap_or_default();
                Ok(SinkWithState { sink, state })
            })
            .collect()
    }
}

#[async_trait]
impl Sinks for RedisStore {
    async fn create_sink(&self, sink: &Sink) -> StoreResult<()> {
        let k = SinkKeys::new(&self.keys, &sink.org_id, &sink.app_id);
        let json = encode(sink, WHAT)?;
        let member = member(&sink.org_id, &sink.app_id, &sink.id);
        let mut conn = self.pool.get().await?;
        let () = redis::cmd("SADD")
            .arg(self.all_sinks_key())
            .arg(&member)
            .query_async(&mut conn)
            .await
            .redis("cannot register a sink")?;
        let status: String = CREATE_FIELD
            .key(k.cfg())
            .key(k.order())
            .key(k.uids())
            .arg(sink.id.as_str())
            .arg(json)
            .arg(uid_arg(sink))
            .invoke_async(&mut conn)
            .await
            .redis("cannot create a sink")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            // The sink with this id keeps its registration.
            Outcome::IdTaken => Err(StoreError::conflict(format!(
                "a sink with id `{}` already exists",
                sink.id
            ))),
            Outcome::UidTaken => {
                let () = redis::cmd("SREM")
                    .arg(self.all_sinks_key())
                    .arg(&member)
                    .query_async(&mut conn)
                    .await
                    .redis("cannot unregister a sink")?;
                Err(uid_taken(sink))
            }
            other => Err(other.unexpected()),
        }
    }

    async fn get_sink(
        &self,
        org: &OrgId,
        app: &AppId,
        key: &Ref<SinkId>,
    ) -> StoreResult<Option<SinkWithState>> {
        let k = SinkKeys::new(&self.keys, org, app);
        let (how, which) = match key {
            Ref::Id(id) => ("id", id.as_str()),
            Ref::Uid(uid) => ("uid", uid.as_str()),
        };
        let mut conn = self.pool.get().await?;
        let found: Option<(Vec<u8>, Option<Vec<u8>>)> = GET
            .key(k.cfg())
            .key(k.uids())
            .key(k.state())
            .arg(how)
            .arg(which)
            .invoke_async(&mut conn)
            .await
            .redis("cannot read a sink")?;
        let Some((row, state)) = found else {
            return Ok(None);
        };
        Ok(Some(SinkWithState {
            sink: decode(&row, WHAT)?,
            state: decode_opt(state, STATE)?.unwrap_or_default(),
        }))
    }

    async fn update_sink(&self, sink: &Sink) -> StoreResult<()> {
        let k = SinkKeys::new(&self.keys, &sink.org_id, &sink.app_id);
        let json = encode(sink, WHAT)?;
        let mut conn = self.pool.get().await?;
        let status: String = UPDATE_FIELD
            .key(k.cfg())
            .key(k.uids())
            .arg(sink.id.as_str())
            .arg(json)
            .arg(uid_arg(sink))
            .invoke_async(&mut conn)
            .await
            .redis("cannot update a sink")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::UidTaken => Err(uid_taken(sink)),
            Outcome::Absent => Err(absent(&sink.id)),
            other => Err(other.unexpected()),
        }
    }

    async fn delete_sink(&self, org: &OrgId, app: &AppId, id: &SinkId) -> StoreResult<()> {
        let k = SinkKeys::new(&self.keys, org, app);
        let mut conn = self.pool.get().await?;
        let status: String = DELETE
            .key(k.cfg())
            .key(k.order())
            .key(k.uids())
            .key(k.state())
            .key(k.lease())
            .key(k.log(id))
            .key(k.consumers(id))
            .arg(id.as_str())
            .invoke_async(&mut conn)
            .await
            .redis("cannot delete a sink")?;
        match Outcome::parse(&status)? {
            Outcome::Done => {}
            Outcome::Absent => return Err(absent(id)),
            other => return Err(other.unexpected()),
        }
        let () = redis::cmd("SREM")
            .arg(self.all_sinks_key())
            .arg(member(org, app, id))
            .query_async(&mut conn)
            .await
            .redis("cannot unregister a sink")?;
        Ok(())
    }

    async fn list_sinks(
        &self,
        org: &OrgId,
        app: &AppId,
        query: &ListQuery,
    ) -> StoreResult<Vec<SinkWithState>> {
        let k = SinkKeys::new(&self.keys, org, app);
        let (cfg, order) = (k.cfg(), k.order());
        let mut conn = self.pool.get().await?;
        let walk = query.walk();
        let rows = Rows::Hash(&cfg);
        let sinks: Vec<Sink> =
            listing::walk(&mut conn, &order, rows, &walk, Window::default(), WHAT, |_| true).await?;
        self.with_states(&mut conn, &k, sinks).await
    }

    async fn sinks_of_app(&self, org: &OrgId, app: &AppId) -> StoreResult<Vec<Sink>> {
        let k = SinkKeys::new(&self.keys, org, app);
        let mut conn = self.pool.get().await?;
        // The whole hash in one reply: an application has few sinks, and the intake needs all of them.
        let values: Vec<Vec<u8>> = redis::cmd("HVALS")
            .arg(k.cfg())
            .query_async(&mut conn)
            .await
            .redis("cannot read an application's sinks")?;
        let mut sinks = values
            .iter()
            .map(|v| decode::<Sink>(v, WHAT))
            .collect::<StoreResult<Vec<_>>>()?;
        sinks.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(sinks)
    }

    async fn all_sinks(&self) -> StoreResult<Vec<SinkKey>> {
        let mut conn = self.pool.get().await?;
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.all_sinks_key())
            .query_async(&mut conn)
            .await
            .redis("cannot read the sinks of every tenant")?;
        // A malformed member is skipped rather than failing the call: the pumps must keep driving the rest.
        let mut sinks: Vec<SinkKey> = members
            .iter()
            .filter_map(|m| {
                let key = parse_member(m);
                if key.is_none() {
                    tracing::warn!(member = %m, "skipping a malformed entry of the sink registry");
                }
                key
            })
            .collect();
        sinks.sort();
        Ok(sinks)
    }

    async fn append(
        &self,
        org: &OrgId,
        app: &AppId,
        sinks: &[SinkId],
        msg: &MessageId,
    ) -> StoreResult<Vec<Appended>> {
        if sinks.is_empty() {
            return Ok(Vec::new());
        }
        let k = SinkKeys::new(&self.keys, org, app);
        let mut invocation = APPEND.key(k.cfg());
        invocation.arg(millis(LOG_RETENTION)).arg(msg.as_str());
        for id in sinks {
            invocation.key(k.log(id)).arg(id.as_str());
        }
        let mut conn = self.pool.get().await?;
        let appended: Vec<String> = invocation
            .invoke_async(&mut conn)
            .await
            .redis("cannot append a message to its sinks")?;
        appended
            .chunks_exact(2)
            .map(|pair| {
                let sink = SinkId::parse(&pair[0]).map_err(|e| corrupt("a sink id", e))?;
                Ok(Appended {
                    sink,
                    position: position(&pair[1])?,
                })
            })
            .collect()
    }

    async fn pumps_alive(&self, owner: &str, ttl: Duration) -> StoreResult<usize> {
        let mut conn = self.pool.get().await?;
        PUMPS_ALIVE
            .key(self.pumps_key())
            .arg(owner)
            // Not `millis`: zero must stay zero (the pump is gone).
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(&mut conn)
            .await
            .redis("cannot count the sink pumps")
    }

    async fn withdraw(&self, org: &OrgId, app: &AppId, entries: &[Appended]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        // One pipeline of XDELs: an application's logs share its tag, and an entry already gone is a no-op.
        let k = SinkKeys::new(&self.keys, org, app);
        let mut pipe = redis::pipe();
        for entry in entries {
            pipe.cmd("XDEL")
                .arg(k.log(&entry.sink))
                .arg(entry.position.to_string())
                .ignore();
        }
        let mut conn = self.pool.get().await?;
        pipe.query_async::<()>(&mut conn)
            .await
            .redis("cannot withdraw a message from its sinks' logs")
    }

    async fn read_log(
        &self,
        sink: &SinkKey,
        after: Option<Position>,
        limit: usize,
    ) -> StoreResult<Vec<LogEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let k = SinkKeys::of(&self.keys, sink);
        let start = after.map_or_else(|| "-".to_owned(), |p| format!("({p}"));
        let mut conn = self.pool.get().await?;
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(k.log(&sink.id))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut conn)
            .await
            .redis("cannot read a sink's log")?;
        reply
            .ids
            .into_iter()
            .map(|entry| {
                let msg: String = entry.get("m").ok_or_else(|| {
                    StoreError::new(StoreErrorKind::Corrupt, "a sink log entry has no message id")
                })?;
                Ok(LogEntry {
                    position: position(&entry.id)?,
                    msg_id: MessageId::parse(&msg)
                        .map_err(|e| corrupt("a sink log entry's message id", e))?,
                })
            })
            .collect()
    }

    async fn lease_sink(&self, sink: &SinkKey, owner: &str, lease: Duration) -> StoreResult<bool> {
        let k = SinkKeys::of(&self.keys, sink);
        let mut conn = self.pool.get().await?;
        let leased: i64 = LEASE_SINK
            .key(k.cfg())
            .key(k.lease())
            .arg(sink.id.as_str())
            .arg(owner)
            .arg(millis(lease))
            .invoke_async(&mut conn)
            .await
            .redis("cannot lease a sink")?;
        Ok(leased == 1)
    }

    async fn save_sink_state(
        &self,
        sink: &SinkKey,
        state: &SinkState,
        owner: &str,
        lease: Duration,
    ) -> StoreResult<bool> {
        let k = SinkKeys::of(&self.keys, sink);
        let json = encode(state, STATE)?;
        let mut conn = self.pool.get().await?;
        let saved: i64 = SAVE_STATE
            .key(k.lease())
            .key(k.state())
            .arg(sink.id.as_str())
            .arg(owner)
            .arg(millis(lease))
            .arg(json)
            .invoke_async(&mut conn)
            .await
            .redis("cannot save a sink's state")?;
        Ok(saved == 1)
    }

    async fn release_sink(&self, sink: &SinkKey, owner: &str) -> StoreResult<()> {
        let k = SinkKeys::of(&self.keys, sink);
        let mut conn = self.pool.get().await?;
        let _released: i64 = RELEASE
            .key(k.lease())
            .arg(sink.id.as_str())
            .arg(owner)
            .invoke_async(&mut conn)
            .await
            .redis("cannot release a sink")?;
        Ok(())
    }

    async fn consumer_position(&self, sink: &SinkKey, consumer: &str) -> StoreResult<Option<Position>> {
        let k = SinkKeys::of(&self.keys, sink);
        let mut conn = self.pool.get().await?;
        let at: Option<String> = redis::cmd("HGET")
            .arg(k.consumers(&sink.id))
            .arg(consumer)
            .query_async(&mut conn)
            .await
            .redis("cannot read a sink consumer's position")?;
        at.as_deref().map(position).transpose()
    }

    async fn set_consumer_position(
        &self,
        sink: &SinkKey,
        consumer: &str,
        position: Position,
    ) -> StoreResult<()> {
        let k = SinkKeys::of(&self.keys, sink);
        let mut conn = self.pool.get().await?;
        let moved: i64 = SEEK
            .key(k.cfg())
            .key(k.consumers(&sink.id))
            .arg(sink.id.as_str())
            .arg(consumer)
            .arg(position.to_string())
            .invoke_async(&mut conn)
            .await
            .redis("cannot move a sink consumer")?;
        if moved == 0 {
            return Err(absent(&sink.id));
        }
        Ok(())
    }
}
