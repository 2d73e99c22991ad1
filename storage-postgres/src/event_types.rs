//! Event types: one row per `(org_id, name)`, archived ones included (archiving is an update).

use async_trait::async_trait;
use tokio_postgres::types::Json;
use xwebhook_engine::domain::{EventType, EventTypeName};
use xwebhook_engine::id::OrgId;
use xwebhook_engine::store::{EventTypeStore, ListQuery, StoreError, StoreResult};

use crate::PostgresStore;
use crate::error::{Context as _, on_conflict};
use crate::sql::{Query, doc, docs};

const WHAT: &str = "an event type";

fn absent(name: &EventTypeName) -> StoreError {
    StoreError::not_found(format!("event type `{name}` does not exist"))
}

#[async_trait]
impl EventTypeStore for PostgresStore {
    async fn create_event_type(&self, et: &EventType) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("INSERT INTO event_types (org_id, name, archived, doc) VALUES ($1, $2, $3, $4)")
            .await
            .context("cannot prepare an event type insert")?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&et.org_id.as_str(), &et.name.as_str(), &et.archived, &Json(et)];
        client.execute(&stmt, &params).await.map_err(|e| {
            on_conflict(e, "cannot insert an event type", |_| {
                Some(format!("an event type named `{}` already exists", et.name))
            })
        })?;
        Ok(())
    }

    async fn get_event_type(&self, org: &OrgId, name: &EventTypeName) -> StoreResult<Option<EventType>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT doc FROM event_types WHERE org_id = $1 AND name = $2")
            .await
            .context("cannot prepare an event type lookup")?;
        let row = client
            .query_opt(&stmt, &[&org.as_str(), &name.as_str()])
            .await
            .context("cannot read an event type")?;
        row.map(|r| doc(&r, 0, WHAT)).transpose()
    }

    async fn update_event_type(&self, et: &EventType) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("UPDATE event_types SET archived = $3, doc = $4 WHERE org_id = $1 AND name = $2")
            .await
            .context("cannot prepare an event type update")?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&et.org_id.as_str(), &et.name.as_str(), &et.archived, &Json(et)];
        let n = client
            .execute(&stmt, &params)
            .await
            .context("cannot update an event type")?;
        if n == 0 {
            return Err(absent(&et.name));
        }
        Ok(())
    }

    async fn delete_event_type(&self, org: &OrgId, name: &EventTypeName) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM event_types WHERE org_id = $1 AND name = $2")
            .await
            .context("cannot prepare an event type delete")?;
        let n = client
            .execute(&stmt, &[&org.as_str(), &name.as_str()])
            .await
            .context("cannot delete an event type")?;
        if n == 0 {
            return Err(absent(name));
        }
        Ok(())
    }

    async fn list_event_types(
        &self,
        org: &OrgId,
        query: &ListQuery,
        include_archived: bool,
    ) -> StoreResult<Vec<EventType>> {
        let mut q = Query::select("SELECT doc FROM event_types");
        q.eq("org_id", org.as_str().to_owned());
        if !include_archived {
            q.and("NOT archived", Vec::new());
        }
        q.walk("name", &query.walk());
        let rows = self.query(&q, "cannot list event types").await?;
        docs(&rows, 0, WHAT)
    }
}
