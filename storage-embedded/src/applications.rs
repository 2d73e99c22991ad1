//! Applications: `org/app_id` rows and an `org/uid` index.

use async_trait::async_trait;
use xwebhook_engine::domain::Application;
use xwebhook_engine::id::{AppId, OrgId};
use xwebhook_engine::store::{ApplicationStore, ListQuery, Ref, StoreError, StoreResult};

use crate::EmbeddedStore;
use crate::error::Context as _;
use crate::keys::{Span, key, prefix};
use crate::tables::{
    APP_UIDS, APPLICATIONS, ENDPOINT_UIDS, ENDPOINTS, get_index, get_row, has_row, keys_in, put_row,
    remove_row, scan,
};
use crate::writer::Batch;

const WHAT: &str = "an application";

fn row_key(org: &OrgId, id: &AppId) -> String {
    key(&[org.as_str(), id.as_str()])
}

fn uid_key(org: &OrgId, uid: &str) -> String {
    key(&[org.as_str(), uid])
}

fn uid_taken(uid: &str) -> StoreError {
    StoreError::conflict(format!("an application with uid `{uid}` already exists"))
}

fn absent(id: &AppId) -> StoreError {
    StoreError::not_found(format!("application `{id}` does not exist"))
}

fn create(b: &mut Batch<'_>, app: &Application) -> StoreResult<()> {
    let mut rows =
        b.tx.open_table(APPLICATIONS)
            .context("cannot open applications")?;
    let mut uids =
        b.tx.open_table(APP_UIDS)
            .context("cannot open application uids")?;
    let id_key = row_key(&app.org_id, &app.id);
    if has_row(&rows, &id_key)? {
        return Err(StoreError::conflict(format!(
            "an application with id `{}` already exists",
            app.id
        )));
    }
    if let Some(uid) = &app.uid {
        let uid_key = uid_key(&app.org_id, uid.as_str());
        if get_index(&uids, &uid_key)?.is_some() {
            return Err(uid_taken(uid.as_str()));
        }
        uids.insert(uid_key.as_str(), app.id.as_str())
            .context("cannot index an application uid")?;
    }
    put_row(&mut rows, &id_key, app, WHAT)
}

fn update(b: &mut Batch<'_>, app: &Application) -> StoreResult<()> {
    let mut rows =
        b.tx.open_table(APPLICATIONS)
            .context("cannot open applications")?;
    let mut uids =
        b.tx.open_table(APP_UIDS)
            .context("cannot open application uids")?;
    let id_key = row_key(&app.org_id, &app.id);
    let old: Application = get_row(&rows, &id_key, WHAT)?.ok_or_else(|| absent(&app.id))?;
    if old.uid != app.uid {
        if let Some(uid) = &app.uid {
            let uid_key = uid_key(&app.org_id, uid.as_str());
            if get_index(&uids, &uid_key)?.is_some_and(|owner| owner != app.id.as_str()) {
                return Err(uid_taken(uid.as_str()));
            }
            uids.insert(uid_key.as_str(), app.id.as_str())
                .context("cannot index an application uid")?;
        }
        if let Some(old_uid) = &old.uid {
            uids.remove(uid_key(&app.org_id, old_uid.as_str()).as_str())
                .context("cannot unindex an application uid")?;
        }
    }
    put_row(&mut rows, &id_key, app, WHAT)
}

fn delete(b: &mut Batch<'_>, org: &OrgId, id: &AppId) -> StoreResult<()> {
    let mut rows =
        b.tx.open_table(APPLICATIONS)
            .context("cannot open applications")?;
    let old: Application = get_row(&rows, &row_key(org, id), WHAT)?.ok_or_else(|| absent(id))?;
    remove_row(&mut rows, &row_key(org, id))?;
    if let Some(uid) = &old.uid {
        let mut uids =
            b.tx.open_table(APP_UIDS)
                .context("cannot open application uids")?;
        uids.remove(uid_key(org, uid.as_str()).as_str())
            .context("cannot unindex an application uid")?;
    }
    delete_endpoints(b, org, id)
}

/// An application's endpoints go with it, and so do their UIDs (a new application may reuse its id space).
fn delete_endpoints(b: &mut Batch<'_>, org: &OrgId, id: &AppId) -> StoreResult<()> {
    let under_app = prefix(&[org.as_str(), id.as_str()]);
    let mut endpoints = b.tx.open_table(ENDPOINTS).context("cannot open endpoints")?;
    for k in keys_in(&endpoints, Span::all(&under_app))? {
        remove_row(&mut endpoints, &k)?;
    }
    let mut uids =
        b.tx.open_table(ENDPOINT_UIDS)
            .context("cannot open endpoint uids")?;
    for k in keys_in(&uids, Span::all(&under_app))? {
        uids.remove(k.as_str())
            .context("cannot unindex an endpoint uid")?;
    }
    Ok(())
}

#[async_trait]
impl ApplicationStore for EmbeddedStore {
    async fn create_application(&self, app: &Application) -> StoreResult<()> {
        let app = app.clone();
        self.writer.write(move |b| create(b, &app)).await
    }

    async fn get_application(&self, org: &OrgId, key: &Ref<AppId>) -> StoreResult<Option<Application>> {
        let tx = self.read()?;
        let rows = tx.open_table(APPLICATIONS).context("cannot open applications")?;
        let id = match key {
            Ref::Id(id) => id.clone(),
            Ref::Uid(uid) => {
                let uids = tx.open_table(APP_UIDS).context("cannot open application uids")?;
                match get_index(&uids, &uid_key(org, uid.as_str()))? {
                    Some(id) => {
                        AppId::parse(&id).map_err(|e| crate::error::corrupt_index(e, "an application"))?
                    }
                    None => return Ok(None),
                }
            }
        };
        get_row(&rows, &row_key(org, &id), WHAT)
    }

    async fn update_application(&self, app: &Application) -> StoreResult<()> {
        let app = app.clone();
        self.writer.write(move |b| update(b, &app)).await
    }

    async fn delete_application(&self, org: &OrgId, id: &AppId) -> StoreResult<()> {
        let (org, id) = (org.clone(), id.clone());
        self.writer.write(move |b| delete(b, &org, &id)).await
    }

    async fn list_applications(&self, org: &OrgId, query: &ListQuery) -> StoreResult<Vec<Application>> {
        let tx = self.read()?;
        let rows = tx.open_table(APPLICATIONS).context("cannot open applications")?;
        let walk = query.walk();
        let span = Span::new(&prefix(&[org.as_str()]), &walk, None, None);
        scan(&rows, span, walk.ascending, walk.take, |_, v| {
            crate::error::decode(v, WHAT).map(Some)
        })
    }
}
