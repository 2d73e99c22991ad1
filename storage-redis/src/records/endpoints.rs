//! Endpoints: fields of the `eps:<app>` hash under the organization's tag (so that deleting the application
//! drops them in the same script), listed by id through `eps:<app>:order`, addressed by UID through
//! `eps:<app>:uid`.

use async_trait::async_trait;
use xwebhook_engine::domain::Endpoint;
use xwebhook_engine::id::{AppId, EndpointId, OrgId};
use xwebhook_engine::store::{EndpointStore, ListQuery, Ref, StoreError, StoreResult};

use super::listing::{self, Rows, Window};
use super::scripts::{CREATE_FIELD, DELETE_FIELD, GET_BY_UID, UPDATE_FIELD};
use super::{OrgKeys, Outcome, decode, decode_opt, encode};
use crate::RedisStore;
use crate::error::Context as _;

const WHAT: &str = "an endpoint";

fn uid_arg(ep: &Endpoint) -> &str {
    ep.uid.as_ref().map(|u| u.as_str()).unwrap_or("")
}

fn uid_taken(ep: &Endpoint) -> StoreError {
    StoreError::conflict(format!(
        "an endpoint with uid `{}` already exists in this application",
        uid_arg(ep)
    ))
}

fn absent(id: &EndpointId) -> StoreError {
    StoreError::not_found(format!("endpoint `{id}` does not exist"))
}

#[async_trait]
impl EndpointStore for RedisStore {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()> {
        let (k, app) = (OrgKeys::new(&self.keys, &endpoint.org_id), &endpoint.app_id);
        let json = encode(endpoint, WHAT)?;
        let mut conn = self.pool.get().await?;
        let status: String = CREATE_FIELD
            .key(k.endpoints(app))
            .key(k.endpoint_order(app))
            .key(k.endpoint_uids(app))
            .arg(endpoint.id.as_str())
            .arg(json)
            .arg(uid_arg(endpoint))
            .invoke_async(&mut conn)
            .await
            .redis("cannot create an endpoint")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::IdTaken => Err(StoreError::conflict(format!(
                "an endpoint with id `{}` already exists",
                endpoint.id
            ))),
            Outcome::UidTaken => Err(uid_taken(endpoint)),
            other => Err(other.unexpected()),
        }
    }

    async fn get_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        key: &Ref<EndpointId>,
    ) -> StoreResult<Option<Endpoint>> {
        let k = OrgKeys::new(&self.keys, org);
        let mut conn = self.pool.get().await?;
        let row: Option<Vec<u8>> = match key {
            Ref::Id(id) => {
                redis::cmd("HGET")
                    .arg(k.endpoints(app))
                    .arg(id.as_str())
                    .query_async(&mut conn)
                    .await
            }
            Ref::Uid(uid) => {
                GET_BY_UID
                    .key(k.endpoints(app))
                    .key(k.endpoint_uids(app))
                    .arg(uid.as_str())
                    .invoke_async(&mut conn)
                    .await
            }
        }
        .redis("cannot read an endpoint")?;
        decode_opt(row, WHAT)
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()> {
        let (k, app) = (OrgKeys::new(&self.keys, &endpoint.org_id), &endpoint.app_id);
        let json = encode(endpoint, WHAT)?;
        let mut conn = self.pool.get().await?;
        let status: String = UPDATE_FIELD
            .key(k.endpoints(app))
            .key(k.endpoint_uids(app))
            .arg(endpoint.id.as_str())
            .arg(json)
            .arg(uid_arg(endpoint))
            .invoke_async(&mut conn)
            .await
            .redis("cannot update an endpoint")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::UidTaken => Err(uid_taken(endpoint)),
            Outcome::Absent => Err(absent(&endpoint.id)),
            other => Err(other.unexpected()),
        }
    }

    async fn delete_endpoint(&self, org: &OrgId, app: &AppId, id: &EndpointId) -> StoreResult<()> {
        let k = OrgKeys::new(&self.keys, org);
        let mut conn = self.pool.get().await?;
        let status: String = DELETE_FIELD
            .key(k.endpoints(app))
            .key(k.endpoint_order(app))
            .key(k.endpoint_uids(app))
            .arg(id.as_str())
            .invoke_async(&mut conn)
            .await
            .redis("cannot delete an endpoint")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::Absent => Err(absent(id)),
            other => Err(other.unexpected()),
        }
    }

    async fn list_endpoints(
        &self,
        org: &OrgId,
        app: &AppId,
        query: &ListQuery,
    ) -> StoreResult<Vec<Endpoint>> {
        let k = OrgKeys::new(&self.keys, org);
        let rows = k.endpoints(app);
        let mut conn = self.pool.get().await?;
        let walk = query.walk();
        let order = k.endpoint_order(app);
        listing::walk(
            &mut conn,
            &order,
            Rows::Hash(&rows),
            &walk,
            Window::default(),
            WHAT,
            |_| true,
        )
        .await
    }

    async fn endpoints_of_app(&self, org: &OrgId, app: &AppId) -> StoreResult<Vec<Endpoint>> {
        let k = OrgKeys::new(&self.keys, org);
        let mut conn = self.pool.get().await?;
        // The whole hash in one reply: an application has few endpoints, and fan-out needs all of them.
        let values: Vec<Vec<u8>> = redis::cmd("HVALS")
            .arg(k.endpoints(app))
            .query_async(&mut conn)
            .await
            .redis("cannot read an application's endpoints")?;
        let mut endpoints = values
            .iter()
            .map(|v| decode::<Endpoint>(v, WHAT))
            .collect::<StoreResult<Vec<_>>>()?;
        endpoints.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(endpoints)
    }
}
