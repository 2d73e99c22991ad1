//! The redb tables, and the few generic helpers every module uses to read and write them.
//!
//! Records are stored as JSON under tenant-scoped string keys (see [`crate::keys`]); index tables map a
//! secondary key to the primary id. Queue tables are keyed by a sequence number the writer thread hands out.

use redb::{ReadableTable, Table, TableDefinition, TableHandle as _, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;
use xwebhook_engine::store::StoreResult;

use crate::error::{Context as _, decode, encode};
use crate::keys::Span;

pub(crate) type Rows = TableDefinition<'static, &'static str, &'static [u8]>;
pub(crate) type Index = TableDefinition<'static, &'static str, &'static str>;
/// (expiry ms, key) → (): the rows of a table with expiring entries, in expiry order, so lapsed ones are found
/// without a scan.
pub(crate) type ExpiryIndex = TableDefinition<'static, (u64, &'static str), ()>;

/// `org/app_id` → application.
pub(crate) const APPLICATIONS: Rows = TableDefinition::new("applications");
/// `org/uid` → app id.
pub(crate) const APP_UIDS: Index = TableDefinition::new("app_uids");
/// `org/app/ep_id` → endpoint.
pub(crate) const ENDPOINTS: Rows = TableDefinition::new("endpoints");
/// `org/app/uid` → endpoint id.
pub(crate) const ENDPOINT_UIDS: Index = TableDefinition::new("endpoint_uids");
/// `org/name` → event type.
pub(crate) const EVENT_TYPES: Rows = TableDefinition::new("event_types");
/// `org/app/msg_id` → message.
pub(crate) const MESSAGES: Rows = TableDefinition::new("messages");
/// `org/app/event_id` → message id.
pub(crate) const MESSAGE_EVENT_IDS: Index = TableDefinition::new("message_event_ids");
/// `org/app/msg/atmpt_id` → attempt.
pub(crate) const ATTEMPTS: Rows = TableDefinition::new("attempts");
/// `org/app/ep/atmpt_id` → message id (the attempt's key in [`ATTEMPTS`]).
pub(crate) const ATTEMPTS_BY_ENDPOINT: Index = TableDefinition::new("attempts_by_endpoint");
/// `org/app/msg/ep` → destination.
pub(crate) const DESTINATIONS: Rows = TableDefinition::new("destinations");
/// `org/app/ep/msg` → "" (the destination's key in [`DESTINATIONS`] is derived from it).
pub(crate) const DESTINATIONS_BY_ENDPOINT: Index = TableDefinition::new("destinations_by_endpoint");
/// seq → task, ready to be leased: the fresh lane (new work). It keeps the name of the single ready table of
/// the layout before lanes, so a store upgraded in place delivers its unfinished tasks as fresh work.
pub(crate) const QUEUE_READY: TableDefinition<'static, u64, &'static [u8]> =
    TableDefinition::new("queue_ready");
/// seq → task, ready to be leased: the retry lane (promoted retries). Seqs are unique across both lanes.
pub(crate) const QUEUE_RETRY: TableDefinition<'static, u64, &'static [u8]> =
    TableDefinition::new("queue_retry");
/// (due ms, seq) → task, waiting for its due time.
pub(crate) const QUEUE_SCHEDULED: TableDefinition<'static, (u64, u64), &'static [u8]> =
    TableDefinition::new("queue_scheduled");
/// Counters that must survive restarts (`next_seq`).
pub(crate) const META: TableDefinition<'static, &'static str, u64> = TableDefinition::new("meta");
/// idempotency key → entry.
pub(crate) const IDEMPOTENCY: Rows = TableDefinition::new("idempotency");
/// (expiry ms, idempotency key) → (), to purge lapsed entries in expiry order.
pub(crate) const IDEMPOTENCY_EXPIRY: ExpiryIndex = TableDefinition::new("idempotency_expiry");
/// `org/app/ep` → the endpoint's failing streak.
pub(crate) const ENDPOINT_HEALTH: Rows = TableDefinition::new("endpoint_health");
/// (expiry ms, endpoint key) → (), to purge lapsed streaks in expiry order.
pub(crate) const ENDPOINT_HEALTH_EXPIRY: ExpiryIndex = TableDefinition::new("endpoint_health_expiry");

/// (payload expiry ms, message row key) → (): payloads to expunge, in expiry order, across organizations.
pub(crate) const MESSAGE_EXPIRY: ExpiryIndex = TableDefinition::new("message_expiry");
/// msg id → `org/app`: every message in id (creation) order, across organizations, for pruning.
pub(crate) const MESSAGES_BY_ID: Index = TableDefinition::new("messages_by_id");
/// token id (`jti`) → revoked-until ms.
pub(crate) const REVOKED_TOKENS: TableDefinition<'static, &'static str, u64> =
    TableDefinition::new("revoked_tokens");
/// (revoked-until ms, token id) → (), to purge lapsed revocations in expiry order.
pub(crate) const REVOKED_TOKENS_EXPIRY: ExpiryIndex = TableDefinition::new("revoked_tokens_expiry");

/// scope → (issued-until ms, refused-from ms, kept-until ms): expired groups of tokens.
pub(crate) const EXPIRED_SCOPES: TableDefinition<'static, &'static str, (u64, u64, u64)> =
    TableDefinition::new("expired_scopes");
/// (kept-until ms, scope) → (), to purge lapsed scope expiries in expiry order.
pub(crate) const EXPIRED_SCOPES_EXPIRY: ExpiryIndex = TableDefinition::new("expired_scopes_expiry");

pub(crate) const NEXT_SEQ: &str = "next_seq";
/// Background tasks by `org/id`.
pub(crate) const BACKGROUND_TASKS: Rows = TableDefinition::new("background_tasks");
/// Each running background task's lease by `org/id`: `(until_ms, owner)`.
pub(crate) const RUNNING_TASKS: TableDefinition<'static, &'static str, (u64, &'static str)> =
    TableDefinition::new("running_background_tasks");

/// `org/app/sink_id` → sink (its settings).
pub(crate) const SINKS: Rows = TableDefinition::new("sinks");
/// `org/app/uid` → sink id.
pub(crate) const SINK_UIDS: Index = TableDefinition::new("sink_uids");
/// `org/app/sink_id` → the sink's delivery state; absent until its first save.
pub(crate) const SINK_STATES: Rows = TableDefinition::new("sink_states");
/// `org/app/sink_id` → the sink's lease, `(until_ms, owner)`; absent while nobody holds it.
pub(crate) const SINK_LEASES: TableDefinition<'static, &'static str, (u64, &'static str)> =
    TableDefinition::new("sink_leases");
/// (`org/app/sink_id`, ms, seq) → message id: each sink's log, in position order.
pub(crate) const SINK_LOG: TableDefinition<'static, (&'static str, u64, u64), &'static str> =
    TableDefinition::new("sink_log");
/// A sink pump's name → until when it counts as alive (ms).
pub(crate) const SINK_PUMPS: TableDefinition<'static, &'static str, u64> = TableDefinition::new("sink_pumps");
/// `org/app/sink_id/consumer` → the consumer's position, `(ms, seq)`.
pub(crate) const SINK_CONSUMERS: TableDefinition<'static, &'static str, (u64, u64)> =
    TableDefinition::new("sink_consumers");

/// Opens every table once so that read transactions never meet a missing one.
pub(crate) fn create_all(tx: &WriteTransaction) -> StoreResult<()> {
    for rows in [
        APPLICATIONS,
        ENDPOINTS,
        EVENT_TYPES,
        MESSAGES,
        ATTEMPTS,
        DESTINATIONS,
        IDEMPOTENCY,
        ENDPOINT_HEALTH,
        BACKGROUND_TASKS,
        SINKS,
        SINK_STATES,
    ] {
        tx.open_table(rows).context("cannot create a table")?;
    }
    for index in [
        APP_UIDS,
        ENDPOINT_UIDS,
        MESSAGE_EVENT_IDS,
        ATTEMPTS_BY_ENDPOINT,
        DESTINATIONS_BY_ENDPOINT,
        MESSAGES_BY_ID,
        SINK_UIDS,
    ] {
        tx.open_table(index).context("cannot create an index table")?;
    }
    tx.open_table(QUEUE_READY)
        .context("cannot create the ready queue")?;
    tx.open_table(QUEUE_RETRY)
        .context("cannot create the retry queue")?;
    tx.open_table(QUEUE_SCHEDULED)
        .context("cannot create the scheduled queue")?;
    tx.open_table(META).context("cannot create the meta table")?;
    tx.open_table(IDEMPOTENCY_EXPIRY)
        .context("cannot create the idempotency expiry index")?;
    tx.open_table(ENDPOINT_HEALTH_EXPIRY)
        .context("cannot create the endpoint health expiry index")?;
    tx.open_table(MESSAGE_EXPIRY)
        .context("cannot create the message expiry index")?;
    tx.open_table(REVOKED_TOKENS)
        .context("cannot create the revoked tokens table")?;
    tx.open_table(REVOKED_TOKENS_EXPIRY)
        .context("cannot create the revoked tokens expiry index")?;
    tx.open_table(EXPIRED_SCOPES)
        .context("cannot create the expired scopes table")?;
    tx.open_table(EXPIRED_SCOPES_EXPIRY)
        .context("cannot create the expired scopes expiry index")?;
    tx.open_table(RUNNING_TASKS)
        .context("cannot create the running background tasks table")?;
    tx.open_table(SINK_LEASES)
        .context("cannot create the sink leases table")?;
    tx.open_table(SINK_LOG).context("cannot create the sink log")?;
    tx.open_table(SINK_CONSUMERS)
        .context("cannot create the sink consumers table")?;
    tx.open_table(SINK_PUMPS)
        .context("cannot create the sink pumps table")?;
    Ok(())
}

pub(crate) fn get_row<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
    what: &str,
) -> StoreResult<Option<T>> {
    match table.get(key).context("cannot read a row")? {
        Some(guard) => decode(guard.value(), what).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn has_row(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> StoreResult<bool> {
    Ok(table.get(key).context("cannot read a row")?.is_some())
}

pub(crate) fn put_row<T: Serialize>(
    table: &mut Table<'_, &'static str, &'static [u8]>,
    key: &str,
    value: &T,
    what: &str,
) -> StoreResult<()> {
    let bytes = encode(value, what)?;
    table
        .insert(key, bytes.as_slice())
        .context("cannot write a row")?;
    Ok(())
}

pub(crate) fn remove_row(table: &mut Table<'_, &'static str, &'static [u8]>, key: &str) -> StoreResult<bool> {
    Ok(table.remove(key).context("cannot delete a row")?.is_some())
}

pub(crate) fn get_index(
    table: &impl ReadableTable<&'static str, &'static str>,
    key: &str,
) -> StoreResult<Option<String>> {
    Ok(table
        .get(key)
        .context("cannot read an index entry")?
        .map(|g| g.value().to_owned()))
}

/// Scans `span` in the walk's direction, keeping what `keep` maps to `Some`, until `take` rows are kept.
/// `keep` sees each key and its value; it filters (and, for index tables, fetches the indexed row).
pub(crate) fn scan<V, T>(
    table: &impl ReadableTable<&'static str, V>,
    span: Option<Span>,
    ascending: bool,
    take: usize,
    mut keep: impl FnMut(&str, V::SelfType<'_>) -> StoreResult<Option<T>>,
) -> StoreResult<Vec<T>>
where
    V: redb::Value + 'static,
{
    let Some(span) = span else {
        return Ok(Vec::new());
    };
    let range = table
        .range::<&str>(span.bounds())
        .context("cannot scan a table")?;
    let rows: Box<dyn Iterator<Item = _>> = if ascending {
        Box::new(range)
    } else {
        Box::new(range.rev())
    };
    let mut out = Vec::new();
    for row in rows {
        if out.len() >= take {
            break;
        }
        let (k, v) = row.context("cannot scan a table")?;
        if let Some(item) = keep(k.value(), v.value())? {
            out.push(item);
        }
    }
    Ok(out)
}

/// Every key of `span`, for deletions of a whole prefix.
pub(crate) fn keys_in<V: redb::Value + 'static>(
    table: &impl ReadableTable<&'static str, V>,
    span: Option<Span>,
) -> StoreResult<Vec<String>> {
    scan(table, span, true, usize::MAX, |k, _| Ok(Some(k.to_owned())))
}

/// Takes up to `limit` entries that lapsed before `now` out of an expiry index and returns their keys, for the
/// caller to delete the rows they index. Callers purge a few on each write, which keeps a table of expiring
/// entries as small as its live set without a sweeper.
pub(crate) fn take_lapsed(
    tx: &WriteTransaction,
    index: ExpiryIndex,
    now: u64,
    limit: usize,
) -> StoreResult<Vec<String>> {
    let what = format!("cannot purge lapsed entries of {}", index.name());
    let what = what.as_str();
    let mut expiry = tx.open_table(index).context(what)?;
    let lapsed = expiry
        .range(..(now, ""))
        .context(what)?
        .take(limit)
        .map(|row| {
            let (k, _) = row.context(what)?;
            let (until, key) = k.value();
            Ok((until, key.to_owned()))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    for (until, key) in &lapsed {
        expiry.remove((*until, key.as_str())).context(what)?;
    }
    Ok(lapsed.into_iter().map(|(_, key)| key).collect())
}
