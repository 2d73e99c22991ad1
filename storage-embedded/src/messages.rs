//! Messages: `org/app/msg_id` rows (id order is creation order) and an `org/app/event_id` index.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use xwebhook_engine::domain::{Destination, Message, Payload, Uid};
use xwebhook_engine::id::{AppId, MessageId, OrgId};
use xwebhook_engine::store::{
    ListQuery, MessageFilter, MessageStore, StoreError, StoreErrorKind, StoreResult,
};

use crate::EmbeddedStore;
use crate::error::{Context as _, decode};
use crate::keys::{Span, key, prefix};
use crate::tables::{MESSAGE_EVENT_IDS, MESSAGES, get_index, get_row, has_row, put_row, scan};
use crate::writer::Batch;

const WHAT: &str = "a message";

/// How far a message's `created_at` may stray from the time in its id. The API stamps both at once; the slack
/// only widens the key range, and the filter's own predicate still decides on `created_at`.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::seconds(1);

pub(crate) fn row_key(org: &OrgId, app: &AppId, id: &MessageId) -> String {
    key(&[org.as_str(), app.as_str(), id.as_str()])
}

fn create(b: &mut Batch<'_>, m: &Message) -> StoreResult<()> {
    let mut rows = b.tx.open_table(MESSAGES).context("cannot open messages")?;
    let mut event_ids =
        b.tx.open_table(MESSAGE_EVENT_IDS)
            .context("cannot open message event ids")?;
    let k = row_key(&m.org_id, &m.app_id, &m.id);
    if has_row(&rows, &k)? {
        return Err(StoreError::conflict(format!(
            "a message with id `{}` already exists",
            m.id
        )));
    }
    if let Some(event_id) = &m.event_id {
        let ek = key(&[m.org_id.as_str(), m.app_id.as_str(), event_id.as_str()]);
        if get_index(&event_ids, &ek)?.is_some() {
            return Err(StoreError::conflict(format!(
                "a message with eventId `{event_id}` already exists in this application"
            )));
        }
        event_ids
            .insert(ek.as_str(), m.id.as_str())
            .context("cannot index a message event id")?;
    }
    put_row(&mut rows, &k, m, WHAT)
}

/// The id suffix range `[lo, hi)` that can hold messages created within the filter's bounds.
fn id_range(filter: &MessageFilter) -> (Option<String>, Option<String>) {
    let bound = |at: DateTime<Utc>| MessageId::lower_bound_at(at).as_str().to_owned();
    let lo = filter.common.after.map(|a| bound(a - CLOCK_SLACK));
    let hi = filter.common.before.map(|b| bound(b + CLOCK_SLACK));
    (lo, hi)
}

#[async_trait]
impl MessageStore for EmbeddedStore {
    async fn create_message(&self, message: &Message, destinations: &[Destination]) -> StoreResult<()> {
        let (m, ds) = (message.clone(), destinations.to_vec());
        self.writer
            .write(move |b| {
                create(b, &m)?;
                crate::retention::index_message(b, &m)?;
                crate::attempts::create_destinations(b, &ds)
            })
            .await
    }

    async fn get_message(&self, org: &OrgId, app: &AppId, id: &MessageId) -> StoreResult<Option<Message>> {
        let tx = self.read()?;
        let rows = tx.open_table(MESSAGES).context("cannot open messages")?;
        get_row(&rows, &row_key(org, app, id), WHAT)
    }

    async fn get_messages(
        &self,
        org: &OrgId,
        app: &AppId,
        ids: &[MessageId],
    ) -> StoreResult<Vec<Option<Message>>> {
        let tx = self.read()?;
        let rows = tx.open_table(MESSAGES).context("cannot open messages")?;
        ids.iter()
            .map(|id| get_row(&rows, &row_key(org, app, id), WHAT))
            .collect()
    }

    async fn expunge_message_content(&self, org: &OrgId, app: &AppId, id: &MessageId) -> StoreResult<()> {
        let k = row_key(org, app, id);
        self.writer
            .write(move |b| {
                let mut rows = b.tx.open_table(MESSAGES).context("cannot open messages")?;
                let mut m: Message =
                    get_row(&rows, &k, WHAT)?.ok_or_else(|| StoreError::not_found("message"))?;
                m.payload = Payload::empty();
                put_row(&mut rows, &k, &m, WHAT)?;
                crate::retention::unindex_expiry(b, &m)
            })
            .await
    }

    async fn message_id_by_event_id(
        &self,
        org: &OrgId,
        app: &AppId,
        event_id: &Uid,
    ) -> StoreResult<Option<MessageId>> {
        let tx = self.read()?;
        let index = tx
            .open_table(MESSAGE_EVENT_IDS)
            .context("cannot open message event ids")?;
        let found = get_index(&index, &key(&[org.as_str(), app.as_str(), event_id.as_str()]))?;
        found
            .map(|id| {
                MessageId::parse(&id).map_err(|e| {
                    StoreError::with_source(StoreErrorKind::Corrupt, "a message event id index entry", e)
                })
            })
            .transpose()
    }

    async fn list_messages(
        &self,
        org: &OrgId,
        app: &AppId,
        filter: &MessageFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Message>> {
        let tx = self.read()?;
        let rows = tx.open_table(MESSAGES).context("cannot open messages")?;
        let walk = query.walk();
        let (lo, hi) = id_range(filter);
        let under_app = prefix(&[org.as_str(), app.as_str()]);
        let span = Span::new(&under_app, &walk, lo.as_deref(), hi.as_deref());
        scan(&rows, span, walk.ascending, walk.take, |_, v| {
            let m: Message = decode(v, WHAT)?;
            Ok(filter.matches_message(&m).then_some(m))
        })
    }
}
