//! Endpoints: one row per `(org_id, app_id, id)`, UIDs unique per application.

use async_trait::async_trait;
use tokio_postgres::types::Json;
use xwebhook_engine::domain::Endpoint;
use xwebhook_engine::id::{AppId, EndpointId, OrgId};
use xwebhook_engine::store::{EndpointStore, ListQuery, Ref, StoreError, StoreResult};

use crate::PostgresStore;
use crate::error::{Context as _, on_conflict};
use crate::sql::{Query, doc, docs};

const WHAT: &str = "an endpoint";

fn conflict(ep: &Endpoint) -> impl FnOnce(&str) -> Option<String> + '_ {
    move |constraint| match constraint {
        "endpoints_pkey" => Some(format!("an endpoint with id `{}` already exists", ep.id)),
        "endpoints_uid_key" => ep
            .uid
            .as_ref()
            .map(|uid| format!("an endpoint with uid `{uid}` already exists in this application")),
        _ => None,
    }
}

fn absent(id: &EndpointId) -> StoreError {
    StoreError::not_found(format!("endpoint `{id}` does not exist"))
}

#[async_trait]
impl EndpointStore for PostgresStore {
    async fn create_endpoint(&self, ep: &Endpoint) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO endpoints (org_id, app_id, id, uid, doc) VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .context("cannot prepare an endpoint insert")?;
        let uid = ep.uid.as_ref().map(|u| u.as_str());
        let (org, app, id) = (ep.org_id.as_str(), ep.app_id.as_str(), ep.id.as_str());
        client
            .execute(&stmt, &[&org, &app, &id, &uid, &Json(ep)])
            .await
            .map_err(|e| on_conflict(e, "cannot insert an endpoint", conflict(ep)))?;
        Ok(())
    }

    async fn get_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        key: &Ref<EndpointId>,
    ) -> StoreResult<Option<Endpoint>> {
        let client = self.client().await?;
        let (sql, value) = match key {
            Ref::Id(id) => (
                "SELECT doc FROM endpoints WHERE org_id = $1 AND app_id = $2 AND id = $3",
                id.as_str(),
            ),
            Ref::Uid(uid) => (
                "SELECT doc FROM endpoints WHERE org_id = $1 AND app_id = $2 AND uid = $3",
                uid.as_str(),
            ),
        };
        let stmt = client
            .prepare_cached(sql)
            .await
            .context("cannot prepare an endpoint lookup")?;
        let row = client
            .query_opt(&stmt, &[&org.as_str(), &app.as_str(), &value])
            .await
            .context("cannot read an endpoint")?;
        row.map(|r| doc(&r, 0, WHAT)).transpose()
    }

    async fn update_endpoint(&self, ep: &Endpoint) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE endpoints SET uid = $4, doc = $5 WHERE org_id = $1 AND app_id = $2 AND id = $3",
            )
            .await
            .context("cannot prepare an endpoint update")?;
        let uid = ep.uid.as_ref().map(|u| u.as_str());
        let (org, app, id) = (ep.org_id.as_str(), ep.app_id.as_str(), ep.id.as_str());
        let n = client
            .execute(&stmt, &[&org, &app, &id, &uid, &Json(ep)])
            .await
            .map_err(|e| on_conflict(e, "cannot update an endpoint", conflict(ep)))?;
        if n == 0 {
            return Err(absent(&ep.id));
        }
        Ok(())
    }

    async fn delete_endpoint(&self, org: &OrgId, app: &AppId, id: &EndpointId) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM endpoints WHERE org_id = $1 AND app_id = $2 AND id = $3")
            .await
            .context("cannot prepare an endpoint delete")?;
        let n = client
            .execute(&stmt, &[&org.as_str(), &app.as_str(), &id.as_str()])
            .await
            .context("cannot delete an endpoint")?;
        if n == 0 {
            return Err(absent(id));
        }
        Ok(())
    }

    async fn list_endpoints(
        &self,
        org: &OrgId,
        app: &AppId,
        query: &ListQuery,
    ) -> StoreResult<Vec<Endpoint>> {
        let mut q = Query::select("SELECT doc FROM endpoints");
        q.eq("org_id", org.as_str().to_owned())
            .eq("app_id", app.as_str().to_owned())
            .walk("id", &query.walk());
        let rows = self.query(&q, "cannot list endpoints").await?;
        docs(&rows, 0, WHAT)
    }

    async fn endpoints_of_app(&self, org: &OrgId, app: &AppId) -> StoreResult<Vec<Endpoint>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT doc FROM endpoints WHERE org_id = $1 AND app_id = $2 ORDER BY id")
            .await
            .context("cannot prepare the endpoints of an application")?;
        let rows = client
            .query(&stmt, &[&org.as_str(), &app.as_str()])
            .await
            .context("cannot read the endpoints of an application")?;
        docs(&rows, 0, WHAT)
    }
}
