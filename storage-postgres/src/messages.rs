//! Messages: one row per `(org_id, app_id, id)`, `eventId` unique per application. The payload is a TEXT
//! column holding the sender's exact JSON text; `doc` holds the rest of the record.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde_json::value::RawValue;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use xwebhook_engine::domain::{Destination, Message, Payload, Uid};
use xwebhook_engine::id::{AppId, MessageId, OrgId};
use xwebhook_engine::store::{ListQuery, MessageFilter, MessageStore, StoreError, StoreResult, one_for_all};

use crate::PostgresStore;
use crate::batch::{DestinationColumns, INSERT_MESSAGES, MessageColumns};
use crate::error::{Context as _, corrupt};
use crate::sql::{Query, doc};

const WHAT: &str = "a message";

/// How far a message's `created_at` may stray from the time in its id (the API stamps both at once). Time
/// filters become id ranges widened by this much, so that the primary key serves them; the exact bound is
/// then checked on `created_at`. The embedded store makes the same assumption.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::seconds(1);

/// Why a message of a group was not inserted: its `eventId`, or (never seen with generated ids) its id, is taken.
fn conflict(m: &Message) -> StoreError {
    match &m.event_id {
        Some(e) => StoreError::conflict(format!(
            "a message with eventId `{e}` already exists in this application"
        )),
        None => StoreError::conflict(format!("a message with id `{}` already exists", m.id)),
    }
}

/// A message to insert with the pending destinations of its first deliveries.
pub(crate) struct NewMessage {
    pub(crate) message: Message,
    pub(crate) destinations: Vec<Destination>,
}

/// Inserts a group of messages with their destinations in one statement (fed by the engine's `Coalescer`): one
/// commit for all of them. A message that breaks a uniqueness rule gets its conflict, and its destinations are
/// not inserted; the others stand.
pub(crate) async fn insert_group(pool: Pool, group: Vec<NewMessage>) -> Vec<StoreResult<()>> {
    match insert_rows(&pool, &group).await {
        Ok(inserted) => group
            .iter()
            .map(|new| {
                if inserted.contains(new.message.id.as_str()) {
                    Ok(())
                } else {
                    Err(conflict(&new.message))
                }
            })
            .collect(),
        Err(e) => one_for_all(Err(e), group.len()),
    }
}

async fn insert_rows(pool: &Pool, group: &[NewMessage]) -> StoreResult<HashSet<String>> {
    let client = pool.get().await.context("cannot get a postgres connection")?;
    let stmt = client
        .prepare_cached(INSERT_MESSAGES)
        .await
        .context("cannot prepare the messages insert")?;
    let messages: Vec<&Message> = group.iter().map(|new| &new.message).collect();
    let messages = MessageColumns::new(messages);
    let destinations = DestinationColumns::new(group.iter().flat_map(|new| &new.destinations));
    let params: Vec<&(dyn ToSql + Sync)> = messages
        .params()
        .into_iter()
        .chain(destinations.params())
        .collect();
    let rows = client
        .query(&stmt, &params)
        .await
        .context("cannot insert messages")?;
    rows.iter()
        .map(|r| {
            r.try_get::<_, String>(0)
                .map_err(|e| corrupt("an inserted message id", e))
        })
        .collect()
}

/// A message from its `doc` and `payload` columns.
fn decode(row: &Row) -> StoreResult<Message> {
    let mut message: Message = doc(row, 0, WHAT)?;
    let text: String = row.try_get(1).map_err(|e| corrupt("a message payload", e))?;
    let raw = RawValue::from_string(text).map_err(|e| corrupt("a message payload", e))?;
    message.payload = Payload::from_raw(raw).map_err(|e| corrupt("a message payload", e))?;
    Ok(message)
}

fn id_bound(at: DateTime<Utc>) -> String {
    MessageId::lower_bound_at(at).as_str().to_owned()
}

/// Messages of an application, filtered, scanned as `query.walk()` says.
pub(crate) fn list_query(org: &OrgId, app: &AppId, filter: &MessageFilter, query: &ListQuery) -> Query {
    let mut q = Query::select("SELECT doc, payload FROM messages");
    q.eq("org_id", org.as_str().to_owned())
        .eq("app_id", app.as_str().to_owned());
    let common = &filter.common;
    if let Some(after) = common.after {
        q.and("id >= ?", vec![Box::new(id_bound(after - CLOCK_SLACK))]);
    }
    if let Some(before) = common.before {
        q.and("id < ?", vec![Box::new(id_bound(before + CLOCK_SLACK))]);
    }
    q.tagged(filter.tag.as_ref())
        .time_bounds("created_at", common)
        .types_and_channel(common)
        .walk("id", &query.walk());
    q
}

#[async_trait]
impl MessageStore for PostgresStore {
    async fn create_message(&self, message: &Message, destinations: &[Destination]) -> StoreResult<()> {
        let new = NewMessage {
            message: message.clone(),
            destinations: destinations.to_vec(),
        };
        self.message_writer.submit(new).await
    }

    async fn expunge_message_content(&self, org: &OrgId, app: &AppId, id: &MessageId) -> StoreResult<()> {
        let client = self.client().await?;
        let sql = "UPDATE messages SET payload = '{}', payload_expires_at = NULL \
                   WHERE org_id = $1 AND app_id = $2 AND id = $3";
        let stmt = client
            .prepare_cached(sql)
            .await
            .context("cannot prepare a message expunge")?;
        let changed = client
            .execute(&stmt, &[&org.as_str(), &app.as_str(), &id.as_str()])
            .await
            .context("cannot expunge a message")?;
        if changed == 0 {
            return Err(StoreError::not_found("message"));
        }
        Ok(())
    }

    async fn get_message(&self, org: &OrgId, app: &AppId, id: &MessageId) -> StoreResult<Option<Message>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT doc, payload FROM messages WHERE org_id = $1 AND app_id = $2 AND id = $3")
            .await
            .context("cannot prepare a message lookup")?;
        let row = client
            .query_opt(&stmt, &[&org.as_str(), &app.as_str(), &id.as_str()])
            .await
            .context("cannot read a message")?;
        row.as_ref().map(decode).transpose()
    }

    async fn get_messages(
        &self,
        org: &OrgId,
        app: &AppId,
        ids: &[MessageId],
    ) -> StoreResult<Vec<Option<Message>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT doc, payload FROM messages WHERE org_id = $1 AND app_id = $2 AND id = ANY($3)",
            )
            .await
            .context("cannot prepare a messages lookup")?;
        let wanted: Vec<&str> = ids.iter().map(MessageId::as_str).collect();
        let rows = client
            .query(&stmt, &[&org.as_str(), &app.as_str(), &wanted])
            .await
            .context("cannot read messages")?;
        let mut found: HashMap<MessageId, Message> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let message = decode(row)?;
            found.insert(message.id.clone(), message);
        }
        // In the order asked. A message moves to the last place that asks for it, and is cloned only for an
        // earlier repeat of its id.
        let last: HashMap<&MessageId, usize> = ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
        Ok(ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                if last.get(id) == Some(&i) {
                    found.remove(id)
                } else {
                    found.get(id).cloned()
                }
            })
            .collect())
    }

    async fn message_id_by_event_id(
        &self,
        org: &OrgId,
        app: &AppId,
        event_id: &Uid,
    ) -> StoreResult<Option<MessageId>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT id FROM messages WHERE org_id = $1 AND app_id = $2 AND event_id = $3")
            .await
            .context("cannot prepare a message eventId lookup")?;
        let row = client
            .query_opt(&stmt, &[&org.as_str(), &app.as_str(), &event_id.as_str()])
            .await
            .context("cannot look up a message by eventId")?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get(0).map_err(|e| corrupt("a message id", e))?;
        let id = MessageId::parse(&id).map_err(|e| corrupt("a message id", e))?;
        Ok(Some(id))
    }

    async fn list_messages(
        &self,
        org: &OrgId,
        app: &AppId,
        filter: &MessageFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Message>> {
        let q = list_query(org, app, filter, query);
        let rows = self.query(&q, "cannot list messages").await?;
        rows.iter().map(decode).collect()
    }
}
