//! Event types: fields of the organization's `ets` hash keyed by name, listed by name through `ets:order`.

use async_trait::async_trait;
use xwebhook_engine::domain::{EventType, EventTypeName};
use xwebhook_engine::id::OrgId;
use xwebhook_engine::store::{EventTypeStore, ListQuery, StoreError, StoreResult};

use super::listing::{self, Rows, Window};
use super::scripts::{CREATE_FIELD, DELETE_FIELD, UPDATE_FIELD};
use super::{OrgKeys, Outcome, decode_opt, encode};
use crate::RedisStore;
use crate::error::Context as _;

const WHAT: &str = "an event type";

fn absent(name: &EventTypeName) -> StoreError {
    StoreError::not_found(format!("event type `{name}` does not exist"))
}

#[async_trait]
impl EventTypeStore for RedisStore {
    async fn create_event_type(&self, event_type: &EventType) -> StoreResult<()> {
        let k = OrgKeys::new(&self.keys, &event_type.org_id);
        let json = encode(event_type, WHAT)?;
        let mut conn = self.pool.get().await?;
        // No UID hash: the name is the row's id, so the hash field itself enforces uniqueness.
        let status: String = CREATE_FIELD
            .key(k.event_types())
            .key(k.event_type_order())
            .arg(event_type.name.as_str())
            .arg(json)
            .arg("")
            .invoke_async(&mut conn)
            .await
            .redis("cannot create an event type")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::IdTaken => Err(StoreError::conflict(format!(
                "an event type named `{}` already exists",
                event_type.name
            ))),
            other => Err(other.unexpected()),
        }
    }

    async fn get_event_type(&self, org: &OrgId, name: &EventTypeName) -> StoreResult<Option<EventType>> {
        let k = OrgKeys::new(&self.keys, org);
        let mut conn = self.pool.get().await?;
        let row: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(k.event_types())
            .arg(name.as_str())
            .query_async(&mut conn)
            .await
            .redis("cannot read an event type")?;
        decode_opt(row, WHAT)
    }

    async fn update_event_type(&self, event_type: &EventType) -> StoreResult<()> {
        let k = OrgKeys::new(&self.keys, &event_type.org_id);
        let json = encode(event_type, WHAT)?;
        let mut conn = self.pool.get().await?;
        let status: String = UPDATE_FIELD
            .key(k.event_types())
            .arg(event_type.name.as_str())
            .arg(json)
            .arg("")
            .invoke_async(&mut conn)
            .await
            .redis("cannot update an event type")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::Absent => Err(absent(&event_type.name)),
            other => Err(other.unexpected()),
        }
    }

    async fn delete_event_type(&self, org: &OrgId, name: &EventTypeName) -> StoreResult<()> {
        let k = OrgKeys::new(&self.keys, org);
        let mut conn = self.pool.get().await?;
        let status: String = DELETE_FIELD
            .key(k.event_types())
            .key(k.event_type_order())
            .arg(name.as_str())
            .invoke_async(&mut conn)
            .await
            .redis("cannot delete an event type")?;
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::Absent => Err(absent(name)),
            other => Err(other.unexpected()),
        }
    }

    async fn list_event_types(
        &self,
        org: &OrgId,
        query: &ListQuery,
        include_archived: bool,
    ) -> StoreResult<Vec<EventType>> {
        let k = OrgKeys::new(&self.keys, org);
        let rows = k.event_types();
        let mut conn = self.pool.get().await?;
        let walk = query.walk();
        let keep = |et: &EventType| include_archived || !et.archived;
        listing::walk(
            &mut conn,
            &k.event_type_order(),
            Rows::Hash(&rows),
            &walk,
            Window::default(),
            WHAT,
            keep,
        )
        .await
    }
}
