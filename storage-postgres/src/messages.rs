//! Messages: one row per `(org_id, app_id, id)`, `eventId` unique per application. The payload is a TEXT
//! column holding the sender's exact JSON text; `doc` holds the rest of the record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use xwebhook_engine::domain::{Message, Payload, Uid};
use xwebhook_engine::id::{AppId, MessageId, OrgId};
use xwebhook_engine::store::{
    ListQuery, MessageFilter, MessageStore, StoreError, StoreResult, payload_expires_at,
};

use crate::PostgresStore;
use crate::error::{Context as _, corrupt, on_conflict};
use crate::sql::{Query, channel_array, doc};

const WHAT: &str = "a message";

/// How far a message's `created_at` may stray from the time in its id (the API stamps both at once). Time
/// filters become id ranges widened by this much, so that the primary key serves them; the exact bound is
/// then checked on `created_at`. The embedded store makes the same assumption.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::seconds(1);

fn conflict(m: &Message) -> impl FnOnce(&str) -> Option<String> + '_ {
    move |constraint| match constraint {
        "messages_pkey" => Some(format!("a message with id `{}` already exists", m.id)),
        "messages_event_id_key" => m
            .event_id
            .as_ref()
            .map(|e| format!("a message with eventId `{e}` already exists in this application")),
        _ => None,
    }
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
    if let Some(after) = filter.after {
        q.and("id >= ?", vec![Box::new(id_bound(after - CLOCK_SLACK))]);
    }
    if let Some(before) = filter.before {
        q.and("id < ?", vec![Box::new(id_bound(before + CLOCK_SLACK))]);
    }
    q.time_bounds("created_at", filter)
        .types_and_channel(filter)
        .walk("id", &query.walk());
    q
}

#[async_trait]
impl MessageStore for PostgresStore {
    async fn create_message(&self, m: &Message) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO messages (org_id, app_id, id, event_type, event_id, channels, created_at, \
                 payload, doc, payload_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .await
            .context("cannot prepare a message insert")?;
        // The payload has its own column; `doc` keeps a placeholder rather than a second copy.
        let rest = Message {
            payload: Payload::empty(),
            ..m.clone()
        };
        let event_id = m.event_id.as_ref().map(Uid::as_str);
        let channels = channel_array(m.channels.as_ref());
        let expires_at = payload_expires_at(m);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 10] = [
            &m.org_id.as_str(),
            &m.app_id.as_str(),
            &m.id.as_str(),
            &m.event_type.as_str(),
            &event_id,
            &channels,
            &m.created_at,
            &m.payload.as_str(),
            &Json(&rest),
            &expires_at,
        ];
        client
            .execute(&stmt, &params)
            .await
            .map_err(|e| on_conflict(e, "cannot insert a message", conflict(m)))?;
        Ok(())
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
