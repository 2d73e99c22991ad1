//! Sinks: `org/app/sink_id` rows and an `org/app/uid` index; beside each row, under the same key, its state and
//! its lease `(until_ms, owner)`; its log keyed `(org/app/sink_id, ms, seq)` (written in `log`); its
//! consumers' positions under `org/app/sink_id/`; the live pumps by name, each until when it counts (ms).
//!
//! The writer thread runs one operation at a time, which is what makes an append's positions only grow, and a
//! lease check with the write it guards one atomic step. A holder whose lease lapsed still holds the sink until
//! another owner takes it (as with background tasks): its save then is as safe as a renewal, since no one else
//! can have written in between.

mod log;

use std::ops::Bound;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use redb::{ReadableTable, ReadableTableMetadata, Table};
use xwebhook_engine::domain::{LogEntry, Position, Sink, SinkKey, SinkState};
use xwebhook_engine::id::{AppId, MessageId, OrgId, SinkId};
use xwebhook_engine::store::{
    Appended, ListQuery, Ref, SinkWithState, Sinks, StoreError, StoreErrorKind, StoreResult,
};

use crate::EmbeddedStore;
use crate::error::{Context as _, corrupt_index, decode};
use crate::keys::{SEP, Span, key, prefix};
use crate::tables::{
    SINK_CONSUMERS, SINK_LEASES, SINK_LOG, SINK_PUMPS, SINK_STATES, SINK_UIDS, SINKS, get_index, get_row,
    has_row, keys_in, put_row, remove_row, scan,
};
use crate::writer::Batch;
use log::{append, whole_log, withdraw};

const WHAT: &str = "a sink";
const STATE: &str = "a sink's state";

type Leases<'t> = Table<'t, &'static str, (u64, &'static str)>;

fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn row_key(org: &OrgId, app: &AppId, id: &SinkId) -> String {
    key(&[org.as_str(), app.as_str(), id.as_str()])
}

fn sink_key(sink: &SinkKey) -> String {
    row_key(&sink.org_id, &sink.app_id, &sink.id)
}

fn uid_key(org: &OrgId, app: &AppId, uid: &str) -> String {
    key(&[org.as_str(), app.as_str(), uid])
}

fn consumer_key(sink: &SinkKey, consumer: &str) -> String {
    key(&[sink_key(sink).as_str(), consumer])
}

fn uid_taken(uid: &str) -> StoreError {
    StoreError::conflict(format!(
        "a sink with uid `{uid}` already exists in this application"
    ))
}

fn absent(id: &SinkId) -> StoreError {
    StoreError::not_found(format!("sink `{id}` does not exist"))
}

/// A key of [`SINKS`] back into the sink's address; one that does not parse is a corrupted store.
fn parse_row_key(row: &str) -> StoreResult<SinkKey> {
    let mut parts = row.splitn(3, SEP);
    let (org, app, id) = (parts.next(), parts.next(), parts.next());
    let (Some(org), Some(app), Some(id)) = (org, app, id) else {
        return Err(StoreError::new(
            StoreErrorKind::Corrupt,
            format!("sink key `{row}` is not org/app/id"),
        ));
    };
    Ok(SinkKey {
        org_id: OrgId::parse(org).map_err(|e| corrupt_index(e, WHAT))?,
        app_id: AppId::parse(app).map_err(|e| corrupt_index(e, WHAT))?,
        id: SinkId::parse(id).map_err(|e| corrupt_index(e, WHAT))?,
    })
}

fn create(b: &mut Batch<'_>, sink: &Sink) -> StoreResult<()> {
    let mut rows = b.tx.open_table(SINKS).context("cannot open sinks")?;
    let mut uids = b.tx.open_table(SINK_UIDS).context("cannot open sink uids")?;
    let id_key = row_key(&sink.org_id, &sink.app_id, &sink.id);
    if has_row(&rows, &id_key)? {
        return Err(StoreError::conflict(format!(
            "a sink with id `{}` already exists",
            sink.id
        )));
    }
    if let Some(uid) = &sink.uid {
        let uid_key = uid_key(&sink.org_id, &sink.app_id, uid.as_str());
        if get_index(&uids, &uid_key)?.is_some() {
            return Err(uid_taken(uid.as_str()));
        }
        uids.insert(uid_key.as_str(), sink.id.as_str())
            .context("cannot index a sink uid")?;
    }
    put_row(&mut rows, &id_key, sink, WHAT)
}

fn update(b: &mut Batch<'_>, sink: &Sink) -> StoreResult<()> {
    let mut rows = b.tx.open_table(SINKS).context("cannot open sinks")?;
    let mut uids = b.tx.open_table(SINK_UIDS).context("cannot open sink uids")?;
    let id_key = row_key(&sink.org_id, &sink.app_id, &sink.id);
    let old: Sink = get_row(&rows, &id_key, WHAT)?.ok_or_else(|| absent(&sink.id))?;
    if old.uid != sink.uid {
        if let Some(uid) = &sink.uid {
            let uid_key = uid_key(&sink.org_id, &sink.app_id, uid.as_str());
            if get_index(&uids, &uid_key)?.is_some_and(|owner| owner != sink.id.as_str()) {
                return Err(uid_taken(uid.as_str()));
            }
            uids.insert(uid_key.as_str(), sink.id.as_str())
                .context("cannot index a sink uid")?;
        }
        if let Some(old_uid) = &old.uid {
            uids.remove(uid_key(&sink.org_id, &sink.app_id, old_uid.as_str()).as_str())
                .context("cannot unindex a sink uid")?;
        }
    }
    put_row(&mut rows, &id_key, sink, WHAT)
}

fn delete(b: &mut Batch<'_>, org: &OrgId, app: &AppId, id: &SinkId) -> StoreResult<()> {
    let mut rows = b.tx.open_table(SINKS).context("cannot open sinks")?;
    let id_key = row_key(org, app, id);
    let old: Sink = get_row(&rows, &id_key, WHAT)?.ok_or_else(|| absent(id))?;
    remove_row(&mut rows, &id_key)?;
    if let Some(uid) = &old.uid {
        let mut uids = b.tx.open_table(SINK_UIDS).context("cannot open sink uids")?;
        uids.remove(uid_key(org, app, uid.as_str()).as_str())
            .context("cannot unindex a sink uid")?;
    }
    let mut states = b.tx.open_table(SINK_STATES).context("cannot open sink states")?;
    remove_row(&mut states, &id_key)?;
    let mut leases = b.tx.open_table(SINK_LEASES).context("cannot open sink leases")?;
    leases
        .remove(id_key.as_str())
        .context("cannot drop a sink's lease")?;
    let mut log = b.tx.open_table(SINK_LOG).context("cannot open the sink log")?;
    log.retain_in(whole_log(&id_key), |_, _| false)
        .context("cannot drop a sink's log")?;
    let mut consumers =
        b.tx.open_table(SINK_CONSUMERS)
            .context("cannot open sink consumers")?;
    let span = Span::all(&prefix(&[id_key.as_str()]));
    for consumer in keys_in(&consumers, span)? {
        consumers
            .remove(consumer.as_str())
            .context("cannot drop a sink's consumer")?;
    }
    Ok(())
}

/// Marks `owner` alive until `until`, forgets pumps gone quiet, and counts the rest.
fn pumps_alive(b: &mut Batch<'_>, owner: &str, until: u64, now: u64) -> StoreResult<usize> {
    let mut pumps = b.tx.open_table(SINK_PUMPS).context("cannot open sink pumps")?;
    pumps
        .insert(owner, until)
        .context("cannot mark a sink pump alive")?;
    pumps
        .retain(|_, until| until > now)
        .context("cannot forget quiet sink pumps")?;
    Ok(usize::try_from(pumps.len().context("cannot count sink pumps")?).unwrap_or(usize::MAX))
}

/// Whether `owner` may take the lease `current` (`None`: nobody holds it) at `now`.
fn may_take(current: Option<(u64, &str)>, owner: &str, now: u64) -> bool {
    current.is_none_or(|(until, holder)| holder == owner || until <= now)
}

fn lease(b: &mut Batch<'_>, row: &str, owner: &str, lease: Duration) -> StoreResult<bool> {
    // A deleted sink has no lease to take: taking one would leave a row nothing deletes.
    let rows = b.tx.open_table(SINKS).context("cannot open sinks")?;
    if !has_row(&rows, row)? {
        return Ok(false);
    }
    let mut leases: Leases<'_> = b.tx.open_table(SINK_LEASES).context("cannot open sink leases")?;
    let now = now_ms();
    let free = {
        let current = leases.get(row).context("cannot read a sink's lease")?;
        may_take(current.as_ref().map(|g| g.value()), owner, now)
    };
    if free {
        leases
            .insert(row, (now.saturating_add(millis(lease)), owner))
            .context("cannot lease a sink")?;
    }
    Ok(free)
}

fn holds(leases: &Leases<'_>, row: &str, owner: &str) -> StoreResult<bool> {
    let current = leases.get(row).context("cannot read a sink's lease")?;
    Ok(current.is_some_and(|g| g.value().1 == owner))
}

fn save(b: &mut Batch<'_>, row: &str, state: &SinkState, owner: &str, lease: Duration) -> StoreResult<bool> {
    // The lease exists only while the sink does (`delete` drops it), so holding it means the sink is there.
    let mut leases: Leases<'_> = b.tx.open_table(SINK_LEASES).context("cannot open sink leases")?;
    if !holds(&leases, row, owner)? {
        return Ok(false);
    }
    leases
        .insert(row, (now_ms().saturating_add(millis(lease)), owner))
        .context("cannot renew a sink's lease")?;
    let mut states = b.tx.open_table(SINK_STATES).context("cannot open sink states")?;
    put_row(&mut states, row, state, STATE)?;
    Ok(true)
}

fn release(b: &mut Batch<'_>, row: &str, owner: &str) -> StoreResult<()> {
    let mut leases: Leases<'_> = b.tx.open_table(SINK_LEASES).context("cannot open sink leases")?;
    if holds(&leases, row, owner)? {
        leases.remove(row).context("cannot release a sink")?;
    }
    Ok(())
}

fn seek(b: &mut Batch<'_>, sink: &SinkKey, consumer: &str, position: Position) -> StoreResult<()> {
    // A consumer of a deleted sink is not kept: nothing would ever delete it.
    let rows = b.tx.open_table(SINKS).context("cannot open sinks")?;
    if !has_row(&rows, &sink_key(sink))? {
        return Ok(());
    }
    let mut consumers =
        b.tx.open_table(SINK_CONSUMERS)
            .context("cannot open sink consumers")?;
    consumers
        .insert(consumer_key(sink, consumer).as_str(), (position.ms, position.seq))
        .context("cannot move a sink's consumer")?;
    Ok(())
}

impl EmbeddedStore {
    /// The sink's state as last saved, or the fresh one.
    fn sink_state(&self, tx: &redb::ReadTransaction, row: &str) -> StoreResult<SinkState> {
        let states = tx.open_table(SINK_STATES).context("cannot open sink states")?;
        Ok(get_row(&states, row, STATE)?.unwrap_or_default())
    }
}

#[async_trait]
impl Sinks for EmbeddedStore {
    async fn create_sink(&self, sink: &Sink) -> StoreResult<()> {
        let sink = sink.clone();
        self.writer.write(move |b| create(b, &sink)).await
    }

    async fn get_sink(
        &self,
        org: &OrgId,
        app: &AppId,
        key: &Ref<SinkId>,
    ) -> StoreResult<Option<SinkWithState>> {
        let tx = self.read()?;
        let id = match key {
            Ref::Id(id) => id.clone(),
            Ref::Uid(uid) => {
                let uids = tx.open_table(SINK_UIDS).context("cannot open sink uids")?;
                match get_index(&uids, &uid_key(org, app, uid.as_str()))? {
                    Some(id) => SinkId::parse(&id).map_err(|e| corrupt_index(e, WHAT))?,
                    None => return Ok(None),
                }
            }
        };
        let row = row_key(org, app, &id);
        let rows = tx.open_table(SINKS).context("cannot open sinks")?;
        let Some(sink) = get_row(&rows, &row, WHAT)? else {
            return Ok(None);
        };
        let state = self.sink_state(&tx, &row)?;
        Ok(Some(SinkWithState { sink, state }))
    }

    async fn update_sink(&self, sink: &Sink) -> StoreResult<()> {
        let sink = sink.clone();
        self.writer.write(move |b| update(b, &sink)).await
    }

    async fn delete_sink(&self, org: &OrgId, app: &AppId, id: &SinkId) -> StoreResult<()> {
        let (org, app, id) = (org.clone(), app.clone(), id.clone());
        self.writer.write(move |b| delete(b, &org, &app, &id)).await
    }

    async fn list_sinks(
        &self,
        org: &OrgId,
        app: &AppId,
        query: &ListQuery,
    ) -> StoreResult<Vec<SinkWithState>> {
        let tx = self.read()?;
        let rows = tx.open_table(SINKS).context("cannot open sinks")?;
        let walk = query.walk();
        let span = Span::new(&prefix(&[org.as_str(), app.as_str()]), &walk, None, None);
        scan(&rows, span, walk.ascending, walk.take, |row, v| {
            let sink = decode(v, WHAT)?;
            let state = self.sink_state(&tx, row)?;
            Ok(Some(SinkWithState { sink, state }))
        })
    }

    async fn sinks_of_app(&self, org: &OrgId, app: &AppId) -> StoreResult<Vec<Sink>> {
        let tx = self.read()?;
        let rows = tx.open_table(SINKS).context("cannot open sinks")?;
        let span = Span::all(&prefix(&[org.as_str(), app.as_str()]));
        scan(&rows, span, true, usize::MAX, |_, v| decode(v, WHAT).map(Some))
    }

    async fn all_sinks(&self) -> StoreResult<Vec<SinkKey>> {
        let tx = self.read()?;
        let rows = tx.open_table(SINKS).context("cannot open sinks")?;
        // The keys say where each sink is; its row need not be decoded.
        rows.iter()
            .context("cannot scan sinks")?
            .map(|row| parse_row_key(row.context("cannot scan sinks")?.0.value()))
            .collect()
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
        let (org, app, sinks, msg) = (org.clone(), app.clone(), sinks.to_vec(), msg.clone());
        self.writer
            .write(move |b| append(b, &org, &app, &sinks, &msg))
            .await
    }

    async fn pumps_alive(&self, owner: &str, ttl: Duration) -> StoreResult<usize> {
        let owner = owner.to_owned();
        let now = now_ms();
        let until = now.saturating_add(millis(ttl));
        self.writer
            .write(move |b| pumps_alive(b, &owner, until, now))
            .await
    }

    async fn withdraw(&self, org: &OrgId, app: &AppId, entries: &[Appended]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let (org, app, entries) = (org.clone(), app.clone(), entries.to_vec());
        self.writer
            .write(move |b| withdraw(b, &org, &app, &entries))
            .await
    }

    async fn read_log(
        &self,
        sink: &SinkKey,
        after: Option<Position>,
        limit: usize,
    ) -> StoreResult<Vec<LogEntry>> {
        let tx = self.read()?;
        let log = tx.open_table(SINK_LOG).context("cannot open the sink log")?;
        let row = sink_key(sink);
        let (from, to) = whole_log(&row);
        let from = after.map_or(from, |p| Bound::Excluded((row.as_str(), p.ms, p.seq)));
        log.range((from, to))
            .context("cannot read a sink's log")?
            .take(limit)
            .map(|entry| {
                let (k, v) = entry.context("cannot read a sink's log")?;
                let (_, ms, seq) = k.value();
                Ok(LogEntry {
                    position: Position { ms, seq },
                    msg_id: MessageId::parse(v.value()).map_err(|e| corrupt_index(e, "a sink's log"))?,
                })
            })
            .collect()
    }

    async fn lease_sink(&self, sink: &SinkKey, owner: &str, lease_for: Duration) -> StoreResult<bool> {
        // Pumps ask again and again for sinks others drive; a read refuses them without a write (and its sync).
        let row = sink_key(sink);
        {
            let tx = self.read()?;
            let leases = tx.open_table(SINK_LEASES).context("cannot open sink leases")?;
            let current = leases.get(row.as_str()).context("cannot read a sink's lease")?;
            if !may_take(current.as_ref().map(|g| g.value()), owner, now_ms()) {
                return Ok(false);
            }
        }
        let owner = owner.to_owned();
        self.writer
            .write(move |b| lease(b, &row, &owner, lease_for))
            .await
    }

    async fn save_sink_state(
        &self,
        sink: &SinkKey,
        state: &SinkState,
        owner: &str,
        lease: Duration,
    ) -> StoreResult<bool> {
        let (row, state, owner) = (sink_key(sink), state.clone(), owner.to_owned());
        self.writer
            .write(move |b| save(b, &row, &state, &owner, lease))
            .await
    }

    async fn release_sink(&self, sink: &SinkKey, owner: &str) -> StoreResult<()> {
        let (row, owner) = (sink_key(sink), owner.to_owned());
        self.writer.write(move |b| release(b, &row, &owner)).await
    }

    async fn consumer_position(&self, sink: &SinkKey, consumer: &str) -> StoreResult<Option<Position>> {
        let tx = self.read()?;
        let consumers = tx
            .open_table(SINK_CONSUMERS)
            .context("cannot open sink consumers")?;
        let found = consumers
            .get(consumer_key(sink, consumer).as_str())
            .context("cannot read a sink's consumer")?;
        Ok(found.map(|g| {
            let (ms, seq) = g.value();
            Position { ms, seq }
        }))
    }

    async fn set_consumer_position(
        &self,
        sink: &SinkKey,
        consumer: &str,
        position: Position,
    ) -> StoreResult<()> {
        let (sink, consumer) = (sink.clone(), consumer.to_owned());
        self.writer
            .write(move |b| seek(b, &sink, &consumer, position))
            .await
    }
}

#[cfg(test)]
mod tests;
