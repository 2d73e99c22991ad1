//! Messages: one key per message under the application's tag (`msg:<id>`), listed by id (creation order)
//! through `msgs`, addressed by `eventId` through `evt:<event id>`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use xwebhook_engine::domain::{Destination, Message, Payload, Uid};
use xwebhook_engine::id::{AppId, MessageId, OrgId};
use xwebhook_engine::store::{
    ListQuery, MessageFilter, MessageStore, StoreError, StoreErrorKind, StoreResult, TimeTypeChannel,
    payload_expires_at,
};

use super::attempts::DESTINATION;
use super::listing::{self, Rows, Window};
use super::scripts::CREATE_MESSAGE;
use super::{AppKeys, Outcome, corrupt_index, decode_opt, encode};
use crate::RedisStore;
use crate::conn::Conn;
use crate::error::{Context as _, redis_err};
use crate::landed::{Landed, landed};

const WHAT: &str = "a message";

/// How far a message's `created_at` may stray from the time in its id. The API stamps both at once; the slack
/// only widens the key range, and the filter's own predicate still decides on `created_at`.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::seconds(1);

/// The message-id window `[lo, hi)` that can hold messages created within the filter's time bounds.
pub(super) fn id_window(filter: &TimeTypeChannel) -> (Option<String>, Option<String>) {
    let bound = |at: DateTime<Utc>| MessageId::lower_bound_at(at).as_str().to_owned();
    (
        filter.after.map(|a| bound(a - CLOCK_SLACK)),
        filter.before.map(|b| bound(b + CLOCK_SLACK)),
    )
}

/// A failure before the insert was sent: whatever its kind, the message is not stored.
fn not_stored(mut e: StoreError) -> StoreError {
    if e.kind == StoreErrorKind::Timeout {
        e.kind = StoreErrorKind::Unavailable;
    }
    e
}

/// The answer to an insert whose reply timed out: the message row is the script's first write and no other
/// call writes a fresh id's row, so its existence says whether the script ran through (it is atomic).
async fn settle(conn: &mut Conn, row: &str, timeout: redis::RedisError) -> StoreResult<()> {
    match landed(conn, row).await {
        Landed::Yes => {
            tracing::debug!(key = row, "a timed-out message insert had landed; accepted");
            Ok(())
        }
        Landed::No => Err(not_stored(redis_err(
            "a message insert timed out and did not happen",
            timeout,
        ))),
        Landed::Unknown => Err(redis_err(
            "a message insert timed out; whether it happened is unknown",
            timeout,
        )),
    }
}

#[async_trait]
impl MessageStore for RedisStore {
    /// A timed-out insert is settled before answering (see `landed`): `Ok` if it landed, `Unavailable` if it
    /// did not, `Timeout` only if that could not be learned. Every failure before the insert is sent is
    /// `Unavailable`, since nothing was stored.
    async fn create_message(&self, message: &Message, destinations: &[Destination]) -> StoreResult<()> {
        let k = AppKeys::new(&self.keys, &message.org_id, &message.app_id);
        let json = encode(message, WHAT)?;
        // Before the message exists, so the cleaner never misses an application that has messages.
        self.register_app(&message.org_id, &message.app_id)
            .await
            .map_err(not_stored)?;
        let mut conn = self.pool.get().await.map_err(not_stored)?;
        let msg = message.id.as_str();
        let mut call = CREATE_MESSAGE.key(k.message(msg));
        call.key(k.messages())
            .key(k.payload_expiry())
            .arg(msg)
            .arg(json)
            .arg(payload_expires_at(message).timestamp_millis());
        match &message.event_id {
            Some(event_id) => call.key(k.event_id(event_id.as_str())).arg("1"),
            None => call.arg("0"),
        };
        for d in destinations {
            let ep = d.endpoint_id.as_str();
            call.key(k.destination(msg, ep))
                .key(k.destinations_of_message(msg))
                .key(k.destinations_of_endpoint(ep));
            call.arg(encode(d, DESTINATION)?).arg(ep);
        }
        let status: String = match call.invoke_async(&mut conn).await {
            Err(e) if e.is_timeout() => return settle(&mut conn, &k.message(message.id.as_str()), e).await,
            reply => reply.redis("cannot create a message")?,
        };
        match Outcome::parse(&status)? {
            Outcome::Done => Ok(()),
            Outcome::IdTaken => Err(StoreError::conflict(format!(
                "a message with id `{}` already exists",
                message.id
            ))),
            Outcome::UidTaken => Err(StoreError::conflict(format!(
                "a message with eventId `{}` already exists in this application",
                message.event_id.as_ref().map(|e| e.as_str()).unwrap_or_default()
            ))),
            other => Err(other.unexpected()),
        }
    }

    async fn get_message(&self, org: &OrgId, app: &AppId, id: &MessageId) -> StoreResult<Option<Message>> {
        let k = AppKeys::new(&self.keys, org, app);
        let mut conn = self.pool.get().await?;
        let row: Option<Vec<u8>> = redis::cmd("GET")
            .arg(k.message(id.as_str()))
            .query_async(&mut conn)
            .await
            .redis("cannot read a message")?;
        decode_opt(row, WHAT)
    }

    async fn get_messages(
        &self,
        org: &OrgId,
        app: &AppId,
        ids: &[MessageId],
    ) -> StoreResult<Vec<Option<Message>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One MGET: an application's rows share its hash tag, so this holds in a cluster too.
        let k = AppKeys::new(&self.keys, org, app);
        let keys: Vec<String> = ids.iter().map(|id| k.message(id.as_str())).collect();
        let mut conn = self.pool.get().await?;
        let rows: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .redis("cannot read messages")?;
        rows.into_iter().map(|row| decode_opt(row, WHAT)).collect()
    }

    async fn expunge_message_content(&self, org: &OrgId, app: &AppId, id: &MessageId) -> StoreResult<()> {
        let mut m = self
            .get_message(org, app, id)
            .await?
            .ok_or_else(|| StoreError::not_found("message"))?;
        m.payload = Payload::empty();
        let keys = AppKeys::new(&self.keys, org, app);
        super::replace_json(&self.pool, &keys.message(id.as_str()), &m, WHAT).await?;
        // Nothing left for the cleaner to expire (nor to count).
        let mut conn = self.pool.get().await?;
        redis::cmd("ZREM")
            .arg(keys.payload_expiry())
            .arg(id.as_str())
            .query_async::<()>(&mut conn)
            .await
            .redis("cannot forget a payload expiry")
    }

    async fn message_id_by_event_id(
        &self,
        org: &OrgId,
        app: &AppId,
        event_id: &Uid,
    ) -> StoreResult<Option<MessageId>> {
        let k = AppKeys::new(&self.keys, org, app);
        let mut conn = self.pool.get().await?;
        let id: Option<String> = redis::cmd("GET")
            .arg(k.event_id(event_id.as_str()))
            .query_async(&mut conn)
            .await
            .redis("cannot read a message eventId")?;
        id.map(|id| MessageId::parse(&id).map_err(|e| corrupt_index("message eventId", e)))
            .transpose()
    }

    async fn list_messages(
        &self,
        org: &OrgId,
        app: &AppId,
        filter: &MessageFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Message>> {
        let k = AppKeys::new(&self.keys, org, app);
        let row_key = |id: &str| k.message(id);
        let (lo, hi) = id_window(&filter.common);
        let window = Window {
            lo: lo.as_deref(),
            hi: hi.as_deref(),
        };
        let mut conn = self.pool.get().await?;
        let walk = query.walk();
        let keep = |m: &Message| filter.matches_message(m);
        listing::walk(
            &mut conn,
            &k.messages(),
            Rows::Keys(&row_key),
            &walk,
            window,
            WHAT,
            keep,
        )
        .await
    }
}
