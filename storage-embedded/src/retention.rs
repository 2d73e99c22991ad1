//! Retention across organizations, through two global indexes kept in the same transactions as the messages:
//! [`MESSAGE_EXPIRY`] (payloads in expiry order) and [`MESSAGES_BY_ID`] (messages in creation order).
//!
//! Each call is one operation of the writer thread, so a batch is atomic and never races another writer; the
//! batch size bounds how long it holds the group commit. Messages stored before these indexes existed are
//! not in them: expiry and prune do not see those.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::ReadableTable as _;
use xwebhook_engine::domain::{Attempt, Message, Payload};
use xwebhook_engine::store::{PruneCounts, RetentionStore, StoreResult, payload_expires_at, prune_bound};

use crate::EmbeddedStore;
use crate::error::Context as _;
use crate::keys::{Span, key, prefix, suffix};
use crate::messages::row_key;
use crate::tables::{
    ATTEMPTS, ATTEMPTS_BY_ENDPOINT, DESTINATIONS, DESTINATIONS_BY_ENDPOINT, MESSAGE_EVENT_IDS,
    MESSAGE_EXPIRY, MESSAGES, MESSAGES_BY_ID, get_row, keys_in, put_row, remove_row,
};
use crate::writer::Batch;

const WHAT: &str = "a message";

fn expiry_ms(m: &Message) -> u64 {
    u64::try_from(payload_expires_at(m).timestamp_millis()).unwrap_or(0)
}

/// Adds a new message to both indexes (same batch as its row).
pub(crate) fn index_message(b: &Batch<'_>, m: &Message) -> StoreResult<()> {
    let mut by_id =
        b.tx.open_table(MESSAGES_BY_ID)
            .context("cannot open messages by id")?;
    by_id
        .insert(
            m.id.as_str(),
            key(&[m.org_id.as_str(), m.app_id.as_str()]).as_str(),
        )
        .context("cannot index a message by id")?;
    let mut expiry =
        b.tx.open_table(MESSAGE_EXPIRY)
            .context("cannot open message expiry")?;
    let k = row_key(&m.org_id, &m.app_id, &m.id);
    expiry
        .insert((expiry_ms(m), k.as_str()), ())
        .context("cannot index a message expiry")?;
    Ok(())
}

/// Forgets the message's pending expiry (its payload is gone already, or the message is).
pub(crate) fn unindex_expiry(b: &Batch<'_>, m: &Message) -> StoreResult<()> {
    let mut expiry =
        b.tx.open_table(MESSAGE_EXPIRY)
            .context("cannot open message expiry")?;
    let k = row_key(&m.org_id, &m.app_id, &m.id);
    expiry
        .remove((expiry_ms(m), k.as_str()))
        .context("cannot unindex a message expiry")?;
    Ok(())
}

/// Expunges up to `limit` payloads due at `now_ms`; returns how many.
fn expire(b: &Batch<'_>, now_ms: u64, limit: usize) -> StoreResult<u64> {
    let mut expiry =
        b.tx.open_table(MESSAGE_EXPIRY)
            .context("cannot open message expiry")?;
    let due: Vec<(u64, String)> = expiry
        .range::<(u64, &str)>(..=(now_ms, "\u{10FFFF}"))
        .context("cannot scan message expiry")?
        .take(limit)
        .map(|row| row.map(|(k, _)| (k.value().0, k.value().1.to_owned())))
        .collect::<Result<_, _>>()
        .context("cannot scan message expiry")?;
    let mut rows = b.tx.open_table(MESSAGES).context("cannot open messages")?;
    let mut expunged = 0;
    for (at, k) in due {
        expiry
            .remove((at, k.as_str()))
            .context("cannot unindex a message expiry")?;
        if let Some(mut m) = get_row::<Message>(&rows, &k, WHAT)? {
            m.payload = Payload::empty();
            put_row(&mut rows, &k, &m, WHAT)?;
            expunged += 1;
        }
    }
    Ok(expunged)
}

/// Deletes up to `limit` messages with ids below `bound`, with everything recorded under them.
fn prune(b: &Batch<'_>, bound: &str, limit: usize) -> StoreResult<PruneCounts> {
    let old: Vec<(String, String)> = {
        let by_id =
            b.tx.open_table(MESSAGES_BY_ID)
                .context("cannot open messages by id")?;
        by_id
            .range::<&str>(..bound)
            .context("cannot scan messages by id")?
            .take(limit)
            .map(|row| row.map(|(k, v)| (k.value().to_owned(), v.value().to_owned())))
            .collect::<Result<_, _>>()
            .context("cannot scan messages by id")?
    };
    let mut counts = PruneCounts::default();
    for (id, app_path) in old {
        counts += prune_message(b, &format!("{app_path}/{id}"))?;
        let mut by_id =
            b.tx.open_table(MESSAGES_BY_ID)
                .context("cannot open messages by id")?;
        by_id
            .remove(id.as_str())
            .context("cannot unindex a message by id")?;
    }
    Ok(counts)
}

fn prune_message(b: &Batch<'_>, msg_key: &str) -> StoreResult<PruneCounts> {
    let mut counts = PruneCounts::default();
    let message: Option<Message> = {
        let mut rows = b.tx.open_table(MESSAGES).context("cannot open messages")?;
        let m = get_row(&rows, msg_key, WHAT)?;
        remove_row(&mut rows, msg_key)?;
        m
    };
    if let Some(m) = &message {
        counts.messages = 1;
        unindex_expiry(b, m)?;
        if let Some(event_id) = &m.event_id {
            let mut event_ids =
                b.tx.open_table(MESSAGE_EVENT_IDS)
                    .context("cannot open message event ids")?;
            let k = key(&[m.org_id.as_str(), m.app_id.as_str(), event_id.as_str()]);
            event_ids
                .remove(k.as_str())
                .context("cannot unindex a message event id")?;
        }
    }
    counts.attempts = prune_attempts(b, msg_key)?;
    counts.destinations = prune_destinations(b, msg_key)?;
    Ok(counts)
}

/// The `org/app/` part of a message key `org/app/msg`.
fn app_prefix(msg_key: &str) -> &str {
    msg_key.rfind('/').map_or(msg_key, |i| &msg_key[..=i])
}

fn prune_attempts(b: &Batch<'_>, msg_key: &str) -> StoreResult<u64> {
    let mut rows = b.tx.open_table(ATTEMPTS).context("cannot open attempts")?;
    let mut by_endpoint =
        b.tx.open_table(ATTEMPTS_BY_ENDPOINT)
            .context("cannot open attempts by endpoint")?;
    let keys = keys_in(&rows, Span::all(&prefix(&[msg_key])))?;
    for k in &keys {
        if let Some(a) = get_row::<Attempt>(&rows, k, "an attempt")? {
            let ik = format!("{}{}/{}", app_prefix(msg_key), a.endpoint_id, a.id);
            by_endpoint
                .remove(ik.as_str())
                .context("cannot unindex an attempt")?;
        }
        remove_row(&mut rows, k)?;
    }
    Ok(keys.len() as u64)
}

fn prune_destinations(b: &Batch<'_>, msg_key: &str) -> StoreResult<u64> {
    let mut rows =
        b.tx.open_table(DESTINATIONS)
            .context("cannot open destinations")?;
    let mut by_endpoint =
        b.tx.open_table(DESTINATIONS_BY_ENDPOINT)
            .context("cannot open destinations by endpoint")?;
    let under_msg = prefix(&[msg_key]);
    let msg_id = suffix(msg_key, app_prefix(msg_key));
    let keys = keys_in(&rows, Span::all(&under_msg))?;
    for k in &keys {
        let ik = format!("{}{}/{msg_id}", app_prefix(msg_key), suffix(k, &under_msg));
        by_endpoint
            .remove(ik.as_str())
            .context("cannot unindex a destination")?;
        remove_row(&mut rows, k)?;
    }
    Ok(keys.len() as u64)
}

#[async_trait]
impl RetentionStore for EmbeddedStore {
    async fn expire_payloads(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        self.writer.write(move |b| expire(b, now_ms, limit)).await
    }

    async fn prune_before(&self, cutoff: DateTime<Utc>, limit: usize) -> StoreResult<PruneCounts> {
        let bound = prune_bound(cutoff).as_str().to_owned();
        self.writer.write(move |b| prune(b, &bound, limit)).await
    }
}

#[cfg(test)]
mod tests {
    use super::app_prefix;

    #[test]
    fn app_prefix_keeps_the_trailing_separator() {
        assert_eq!(app_prefix("org_a/app_b/msg_c"), "org_a/app_b/");
    }
}
