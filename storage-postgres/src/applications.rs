//! Applications: one row per `(org_id, id)`, UIDs unique per organization. Deleting one deletes its endpoints.

use async_trait::async_trait;
use tokio_postgres::types::Json;
use xwebhook_engine::domain::Application;
use xwebhook_engine::id::{AppId, OrgId};
use xwebhook_engine::store::{ApplicationStore, ListQuery, Ref, StoreError, StoreResult};

use crate::PostgresStore;
use crate::error::{Context as _, on_conflict};
use crate::sql::{Query, doc, docs};

const WHAT: &str = "an application";

fn conflict(app: &Application) -> impl FnOnce(&str) -> Option<String> + '_ {
    move |constraint| match constraint {
        "applications_pkey" => Some(format!("an application with id `{}` already exists", app.id)),
        "applications_uid_key" => app
            .uid
            .as_ref()
            .map(|uid| format!("an application with uid `{uid}` already exists")),
        _ => None,
    }
}

fn absent(id: &AppId) -> StoreError {
    StoreError::not_found(format!("application `{id}` does not exist"))
}

#[async_trait]
impl ApplicationStore for PostgresStore {
    async fn create_application(&self, app: &Application) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("INSERT INTO applications (org_id, id, uid, doc) VALUES ($1, $2, $3, $4)")
            .await
            .context("cannot prepare an application insert")?;
        let uid = app.uid.as_ref().map(|u| u.as_str());
        client
            .execute(&stmt, &[&app.org_id.as_str(), &app.id.as_str(), &uid, &Json(app)])
            .await
            .map_err(|e| on_conflict(e, "cannot insert an application", conflict(app)))?;
        Ok(())
    }

    async fn get_application(&self, org: &OrgId, key: &Ref<AppId>) -> StoreResult<Option<Application>> {
        let client = self.client().await?;
        let (sql, value) = match key {
            Ref::Id(id) => (
                "SELECT doc FROM applications WHERE org_id = $1 AND id = $2",
                id.as_str(),
            ),
            Ref::Uid(uid) => (
                "SELECT doc FROM applications WHERE org_id = $1 AND uid = $2",
                uid.as_str(),
            ),
        };
        let stmt = client
            .prepare_cached(sql)
            .await
            .context("cannot prepare an application lookup")?;
        let row = client
            .query_opt(&stmt, &[&org.as_str(), &value])
            .await
            .context("cannot read an application")?;
        row.map(|r| doc(&r, 0, WHAT)).transpose()
    }

    async fn update_application(&self, app: &Application) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("UPDATE applications SET uid = $3, doc = $4 WHERE org_id = $1 AND id = $2")
            .await
            .context("cannot prepare an application update")?;
        let uid = app.uid.as_ref().map(|u| u.as_str());
        let n = client
            .execute(&stmt, &[&app.org_id.as_str(), &app.id.as_str(), &uid, &Json(app)])
            .await
            .map_err(|e| on_conflict(e, "cannot update an application", conflict(app)))?;
        if n == 0 {
            return Err(absent(&app.id));
        }
        Ok(())
    }

    async fn delete_application(&self, org: &OrgId, id: &AppId) -> StoreResult<()> {
        let client = self.client().await?;
        // One statement, so the application and its endpoints go together or not at all.
        let stmt = client
            .prepare_cached(
                "WITH app AS (DELETE FROM applications WHERE org_id = $1 AND id = $2 RETURNING id), \
                 eps AS (DELETE FROM endpoints WHERE org_id = $1 AND app_id IN (SELECT id FROM app)) \
                 SELECT count(*) FROM app",
            )
            .await
            .context("cannot prepare an application delete")?;
        let row = client
            .query_one(&stmt, &[&org.as_str(), &id.as_str()])
            .await
            .context("cannot delete an application")?;
        let deleted: i64 = row
            .try_get(0)
            .map_err(|e| crate::error::corrupt("a delete count", e))?;
        if deleted == 0 {
            return Err(absent(id));
        }
        Ok(())
    }

    /// `SELECT 1` on a pooled connection: it proves the pool can reach the server, and touches no table.
    async fn probe(&self) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .simple_query("SELECT 1")
            .await
            .context("Postgres did not answer SELECT 1")?;
        Ok(())
    }

    async fn list_applications(&self, org: &OrgId, query: &ListQuery) -> StoreResult<Vec<Application>> {
        let mut q = Query::select("SELECT doc FROM applications");
        q.eq("org_id", org.as_str().to_owned()).walk("id", &query.walk());
        let rows = self.query(&q, "cannot list applications").await?;
        docs(&rows, 0, WHAT)
    }
}
