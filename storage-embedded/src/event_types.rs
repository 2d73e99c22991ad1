//! Event types: `org/name` rows, so listing by name is a range scan.

use async_trait::async_trait;
use xwebhook_engine::domain::{EventType, EventTypeName};
use xwebhook_engine::id::OrgId;
use xwebhook_engine::store::{EventTypeStore, ListQuery, StoreError, StoreResult};

use crate::EmbeddedStore;
use crate::error::{Context as _, decode};
use crate::keys::{Span, key, prefix};
use crate::tables::{EVENT_TYPES, get_row, has_row, put_row, remove_row, scan};
use crate::writer::Batch;

const WHAT: &str = "an event type";

fn row_key(org: &OrgId, name: &EventTypeName) -> String {
    key(&[org.as_str(), name.as_str()])
}

fn absent(name: &EventTypeName) -> StoreError {
    StoreError::not_found(format!("event type `{name}` does not exist"))
}

fn create(b: &mut Batch<'_>, et: &EventType) -> StoreResult<()> {
    let mut rows = b.tx.open_table(EVENT_TYPES).context("cannot open event types")?;
    let k = row_key(&et.org_id, &et.name);
    if has_row(&rows, &k)? {
        return Err(StoreError::conflict(format!(
            "an event type named `{}` already exists",
            et.name
        )));
    }
    put_row(&mut rows, &k, et, WHAT)
}

fn update(b: &mut Batch<'_>, et: &EventType) -> StoreResult<()> {
    let mut rows = b.tx.open_table(EVENT_TYPES).context("cannot open event types")?;
    let k = row_key(&et.org_id, &et.name);
    if !has_row(&rows, &k)? {
        return Err(absent(&et.name));
    }
    put_row(&mut rows, &k, et, WHAT)
}

fn delete(b: &mut Batch<'_>, org: &OrgId, name: &EventTypeName) -> StoreResult<()> {
    let mut rows = b.tx.open_table(EVENT_TYPES).context("cannot open event types")?;
    if !remove_row(&mut rows, &row_key(org, name))? {
        return Err(absent(name));
    }
    Ok(())
}

#[async_trait]
impl EventTypeStore for EmbeddedStore {
    async fn create_event_type(&self, event_type: &EventType) -> StoreResult<()> {
        let et = event_type.clone();
        self.writer.write(move |b| create(b, &et)).await
    }

    async fn get_event_type(&self, org: &OrgId, name: &EventTypeName) -> StoreResult<Option<EventType>> {
        let tx = self.read()?;
        let rows = tx.open_table(EVENT_TYPES).context("cannot open event types")?;
        get_row(&rows, &row_key(org, name), WHAT)
    }

    async fn update_event_type(&self, event_type: &EventType) -> StoreResult<()> {
        let et = event_type.clone();
        self.writer.write(move |b| update(b, &et)).await
    }

    async fn delete_event_type(&self, org: &OrgId, name: &EventTypeName) -> StoreResult<()> {
        let (org, name) = (org.clone(), name.clone());
        self.writer.write(move |b| delete(b, &org, &name)).await
    }

    async fn list_event_types(
        &self,
        org: &OrgId,
        query: &ListQuery,
        include_archived: bool,
    ) -> StoreResult<Vec<EventType>> {
        let tx = self.read()?;
        let rows = tx.open_table(EVENT_TYPES).context("cannot open event types")?;
        let walk = query.walk();
        let span = Span::new(&prefix(&[org.as_str()]), &walk, None, None);
        scan(&rows, span, walk.ascending, walk.take, |_, v| {
            let et: EventType = decode(v, WHAT)?;
            Ok((include_archived || !et.archived).then_some(et))
        })
    }
}
