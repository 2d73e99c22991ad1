//! Retention across tenants: each batch is one statement over a bounded set of rows picked by an index
//! (`messages_by_payload_expiry`, `messages_by_id_time`; migration 0002), so no batch holds locks for long.
//!
//! Rows are picked `FOR UPDATE SKIP LOCKED`: concurrent cleaners (one per worker process) take disjoint rows
//! instead of queueing behind each other, and a row an API request is changing is left for the next batch.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use xwebhook_engine::store::{PruneCounts, RetentionStore, StoreResult, prune_bound};

use crate::PostgresStore;
use crate::error::{Context as _, corrupt};

/// $1 now, $2 limit. Expunges as `expunge_message_content` does, clearing the expiry with the payload. The
/// rows are changed by `ctid` (a TID scan), which they keep while the batch holds their locks.
pub(crate) const EXPIRE: &str = "
UPDATE messages SET payload = '{}', payload_expires_at = NULL
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM messages
    WHERE payload_expires_at IS NOT NULL AND payload_expires_at <= $1
    ORDER BY payload_expires_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
))";

/// $1 the smallest id kept (its time part decides: `msg_` and 10 ULID time characters), $2 limit. Deletes the oldest messages with their attempts and destinations, in one
/// statement so that a batch is all or nothing; answers the three counts.
pub(crate) const PRUNE: &str = "
WITH victims AS MATERIALIZED (
    SELECT ctid, org_id, app_id, id FROM messages
    WHERE left(id, 14) < left($1, 14)
    ORDER BY left(id, 14)
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), gone_attempts AS (
    DELETE FROM attempts a USING victims v
    WHERE a.org_id = v.org_id AND a.app_id = v.app_id AND a.msg_id = v.id
    RETURNING 1
), gone_destinations AS (
    DELETE FROM destinations d USING victims v
    WHERE d.org_id = v.org_id AND d.app_id = v.app_id AND d.msg_id = v.id
    RETURNING 1
), gone_messages AS (
    DELETE FROM messages WHERE ctid = ANY(ARRAY(SELECT ctid FROM victims))
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone_messages), (SELECT count(*) FROM gone_attempts),
       (SELECT count(*) FROM gone_destinations)";

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn count(row: &tokio_postgres::Row, i: usize) -> StoreResult<u64> {
    let n: i64 = row.try_get(i).map_err(|e| corrupt("a prune count", e))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[async_trait]
impl RetentionStore for PostgresStore {
    async fn expire_payloads(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(EXPIRE)
            .await
            .context("cannot prepare the payload expiry")?;
        client
            .execute(&stmt, &[&now, &limit_param(limit)])
            .await
            .context("cannot expire payloads")
    }

    async fn prune_before(&self, cutoff: DateTime<Utc>, limit: usize) -> StoreResult<PruneCounts> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(PRUNE)
            .await
            .context("cannot prepare the prune")?;
        let bound = prune_bound(cutoff);
        let row = client
            .query_one(&stmt, &[&bound.as_str(), &limit_param(limit)])
            .await
            .context("cannot prune messages")?;
        Ok(PruneCounts {
            messages: count(&row, 0)?,
            attempts: count(&row, 1)?,
            destinations: count(&row, 2)?,
        })
    }
}
