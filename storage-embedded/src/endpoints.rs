//! Endpoints: `org/app/ep_id` rows and an `org/app/uid` index.

use async_trait::async_trait;
use xwebhook_engine::domain::Endpoint;
use xwebhook_engine::id::{AppId, EndpointId, OrgId};
use xwebhook_engine::store::{EndpointStore, ListQuery, Ref, StoreError, StoreResult};

use crate::EmbeddedStore;
use crate::error::{Context as _, corrupt_index, decode};
use crate::keys::{Span, key, prefix};
use crate::tables::{ENDPOINT_UIDS, ENDPOINTS, get_index, get_row, has_row, put_row, remove_row, scan};
use crate::writer::Batch;

const WHAT: &str = "an endpoint";

fn row_key(org: &OrgId, app: &AppId, id: &EndpointId) -> String {
    key(&[org.as_str(), app.as_str(), id.as_str()])
}

fn uid_key(org: &OrgId, app: &AppId, uid: &str) -> String {
    key(&[org.as_str(), app.as_str(), uid])
}

fn uid_taken(uid: &str) -> StoreError {
    StoreError::conflict(format!(
        "an endpoint with uid `{uid}` already exists in this application"
    ))
}

fn absent(id: &EndpointId) -> StoreError {
    StoreError::not_found(format!("endpoint `{id}` does not exist"))
}

fn create(b: &mut Batch<'_>, ep: &Endpoint) -> StoreResult<()> {
    let mut rows = b.tx.open_table(ENDPOINTS).context("cannot open endpoints")?;
    let mut uids =
        b.tx.open_table(ENDPOINT_UIDS)
            .context("cannot open endpoint uids")?;
    let id_key = row_key(&ep.org_id, &ep.app_id, &ep.id);
    if has_row(&rows, &id_key)? {
        return Err(StoreError::conflict(format!(
            "an endpoint with id `{}` already exists",
            ep.id
        )));
    }
    if let Some(uid) = &ep.uid {
        let uid_key = uid_key(&ep.org_id, &ep.app_id, uid.as_str());
        if get_index(&uids, &uid_key)?.is_some() {
            return Err(uid_taken(uid.as_str()));
        }
        uids.insert(uid_key.as_str(), ep.id.as_str())
            .context("cannot index an endpoint uid")?;
    }
    put_row(&mut rows, &id_key, ep, WHAT)
}

fn update(b: &mut Batch<'_>, ep: &Endpoint) -> StoreResult<()> {
    let mut rows = b.tx.open_table(ENDPOINTS).context("cannot open endpoints")?;
    let mut uids =
        b.tx.open_table(ENDPOINT_UIDS)
            .context("cannot open endpoint uids")?;
    let id_key = row_key(&ep.org_id, &ep.app_id, &ep.id);
    let old: Endpoint = get_row(&rows, &id_key, WHAT)?.ok_or_else(|| absent(&ep.id))?;
    if old.uid != ep.uid {
        if let Some(uid) = &ep.uid {
            let uid_key = uid_key(&ep.org_id, &ep.app_id, uid.as_str());
            if get_index(&uids, &uid_key)?.is_some_and(|owner| owner != ep.id.as_str()) {
                return Err(uid_taken(uid.as_str()));
            }
            uids.insert(uid_key.as_str(), ep.id.as_str())
                .context("cannot index an endpoint uid")?;
        }
        if let Some(old_uid) = &old.uid {
            uids.remove(uid_key(&ep.org_id, &ep.app_id, old_uid.as_str()).as_str())
                .context("cannot unindex an endpoint uid")?;
        }
    }
    put_row(&mut rows, &id_key, ep, WHAT)
}

fn delete(b: &mut Batch<'_>, org: &OrgId, app: &AppId, id: &EndpointId) -> StoreResult<()> {
    let mut rows = b.tx.open_table(ENDPOINTS).context("cannot open endpoints")?;
    let id_key = row_key(org, app, id);
    let old: Endpoint = get_row(&rows, &id_key, WHAT)?.ok_or_else(|| absent(id))?;
    remove_row(&mut rows, &id_key)?;
    if let Some(uid) = &old.uid {
        let mut uids =
            b.tx.open_table(ENDPOINT_UIDS)
                .context("cannot open endpoint uids")?;
        uids.remove(uid_key(org, app, uid.as_str()).as_str())
            .context("cannot unindex an endpoint uid")?;
    }
    Ok(())
}

#[async_trait]
impl EndpointStore for EmbeddedStore {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()> {
        let ep = endpoint.clone();
        self.writer.write(move |b| create(b, &ep)).await
    }

    async fn get_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        key: &Ref<EndpointId>,
    ) -> StoreResult<Option<Endpoint>> {
        let tx = self.read()?;
        let rows = tx.open_table(ENDPOINTS).context("cannot open endpoints")?;
        let id = match key {
            Ref::Id(id) => id.clone(),
            Ref::Uid(uid) => {
                let uids = tx
                    .open_table(ENDPOINT_UIDS)
                    .context("cannot open endpoint uids")?;
                match get_index(&uids, &uid_key(org, app, uid.as_str()))? {
                    Some(id) => EndpointId::parse(&id).map_err(|e| corrupt_index(e, WHAT))?,
                    None => return Ok(None),
                }
            }
        };
        get_row(&rows, &row_key(org, app, &id), WHAT)
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()> {
        let ep = endpoint.clone();
        self.writer.write(move |b| update(b, &ep)).await
    }

    async fn delete_endpoint(&self, org: &OrgId, app: &AppId, id: &EndpointId) -> StoreResult<()> {
        let (org, app, id) = (org.clone(), app.clone(), id.clone());
        self.writer.write(move |b| delete(b, &org, &app, &id)).await
    }

    async fn list_endpoints(
        &self,
        org: &OrgId,
        app: &AppId,
        query: &ListQuery,
    ) -> StoreResult<Vec<Endpoint>> {
        let tx = self.read()?;
        let rows = tx.open_table(ENDPOINTS).context("cannot open endpoints")?;
        let walk = query.walk();
        let span = Span::new(&prefix(&[org.as_str(), app.as_str()]), &walk, None, None);
        scan(&rows, span, walk.ascending, walk.take, |_, v| {
            decode(v, WHAT).map(Some)
        })
    }

    async fn endpoints_of_app(&self, org: &OrgId, app: &AppId) -> StoreResult<Vec<Endpoint>> {
        let tx = self.read()?;
        let rows = tx.open_table(ENDPOINTS).context("cannot open endpoints")?;
        let span = Span::all(&prefix(&[org.as_str(), app.as_str()]));
        scan(&rows, span, true, usize::MAX, |_, v| decode(v, WHAT).map(Some))
    }
}
