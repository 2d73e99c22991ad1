//! Applications: fields of the organization's `apps` hash, listed by id through `apps:order`, addressed by
//! UID through `apps:uid`. Deleting one also deletes its endpoints (same slot: one script).

use async_trait::async_trait;
use xwebhook_engine::domain::Application;
use xwebhook_engine::id::{AppId, OrgId};
use xwebhook_engine::store::{ApplicationStore, ListQuery, Ref, StoreError, StoreResult};

use super::listing::{self, Rows, Window};
use super::scripts::{CREATE_FIELD, DELETE_FIELD, GET_BY_UID, UPDATE_FIELD};
use super::{OrgKeys, Outcome, decode_opt, encode};
use crate::RedisStore;
use crate::error::Context as _;

const WHAT: &str = "an application";

fn uid_taken(app: &Application) -> StoreError {
    let uid = app.uid.as_ref().map(|u| u.as_str()).unwrap_or_default();
    StoreError::conflict(format!("an application with uid `{uid}` already exists"))
}

fn absent(id: &AppId) -> StoreError {
    StoreError::not_found(format!("application `{id}` does not exist"))
}

fn uid_arg(app: &Application) -> &str {
    app.uid.as_ref().map(|u| u.as_str()).unwrap_or("")
}

#[async_trait]
impl ApplicationStore for RedisStore {
    async fn create_application(&self, app: &Application) -> StoreResult<()> {
        let k = OrgKeys::new(&self.keys, &app.org_id);
        let json = encode(app, WHAT)?;
        let mut conn = self.pool.get().await?;
        let status: String = CREATE_FIELD
            .key(k.apps())
            .key(k.app_order())
            .key(k.app_uids())
            .arg(app.id.as_str())
            .arg(json)
            .arg(uid_arg(app))
            .invoke_async(&mut conn)
            .await
            .redis("cannot create an application")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::IdTaken => Err(StoreError::conflict(format!(
                "an application with id `{}` already exists",
                app.id
            ))),
            Outcome::UidTaken => Err(uid_taken(app)),
            other => Err(other.unexpected()),
        }
    }

    async fn get_application(&self, org: &OrgId, key: &Ref<AppId>) -> StoreResult<Option<Application>> {
        let k = OrgKeys::new(&self.keys, org);
        let mut conn = self.pool.get().await?;
        let row: Option<Vec<u8>> = match key {
            Ref::Id(id) => {
                redis::cmd("HGET")
                    .arg(k.apps())
                    .arg(id.as_str())
                    .query_async(&mut conn)
                    .await
            }
            Ref::Uid(uid) => {
                GET_BY_UID
                    .key(k.apps())
                    .key(k.app_uids())
                    .arg(uid.as_str())
                    .invoke_async(&mut conn)
                    .await
            }
        }
        .redis("cannot read an application")?;
        decode_opt(row, WHAT)
    }

    async fn update_application(&self, app: &Application) -> StoreResult<()> {
        let k = OrgKeys::new(&self.keys, &app.org_id);
        let json = encode(app, WHAT)?;
        let mut conn = self.pool.get().await?;
        let status: String = UPDATE_FIELD
            .key(k.apps())
            .key(k.app_uids())
            .arg(app.id.as_str())
            .arg(json)
            .arg(uid_arg(app))
            .invoke_async(&mut conn)
            .await
            .redis("cannot update an application")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::UidTaken => Err(uid_taken(app)),
            Outcome::Absent => Err(absent(&app.id)),
            other => Err(other.unexpected()),
        }
    }

    async fn delete_application(&self, org: &OrgId, id: &AppId) -> StoreResult<()> {
        let k = OrgKeys::new(&self.keys, org);
        let mut conn = self.pool.get().await?;
        // The endpoints' hash, listing set and UID hash go with the application, so that a re-created
        // application of the same id starts without endpoints and their UIDs are free again.
        let status: String = DELETE_FIELD
            .key(k.apps())
            .key(k.app_order())
            .key(k.app_uids())
            .key(k.endpoints(id))
            .key(k.endpoint_order(id))
            .key(k.endpoint_uids(id))
            .arg(id.as_str())
            .invoke_async(&mut conn)
            .await
            .redis("cannot delete an application")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::Absent => Err(absent(id)),
            other => Err(other.unexpected()),
        }
    }

    /// One `PING`: the records share the server (or cluster) with everything else.
    async fn probe(&self) -> StoreResult<()> {
        self.pool.ping().await
    }

    async fn list_applications(&self, org: &OrgId, query: &ListQuery) -> StoreResult<Vec<Application>> {
        let k = OrgKeys::new(&self.keys, org);
        let apps = k.apps();
        let mut conn = self.pool.get().await?;
        let walk = query.walk();
        let rows = Rows::Hash(&apps);
        listing::walk(
            &mut conn,
            &k.app_order(),
            rows,
            &walk,
            Window::default(),
            WHAT,
            |_| true,
        )
        .await
    }
}
