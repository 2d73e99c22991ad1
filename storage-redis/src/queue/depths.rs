//! The queue's depths, for operators (`xwebhook queue stats`, `/metrics`) and tests.

use xwebhook_engine::store::{QueueDepths, StoreResult};

use super::GROUP;
use super::scripts;
use crate::RedisStore;
use crate::error::Context as _;

/// What the stats script returns for one partition: fresh length and pending, retry length and pending,
/// scheduled, dead letters.
type PartitionDepths = (u64, u64, u64, u64, u64, u64);

/// The queue's depths summed over partitions, for operators and tests. Each partition is read atomically,
/// the whole is not: under load the figures are a close snapshot, not an exact one.
/// - `ready`: entries of both lanes not leased to anyone (stream length minus pending: acknowledged entries
///   are deleted);
/// - `in_flight`: entries leased and not yet finished;
/// - `scheduled`: tasks parked until their due time;
/// - `dead_letter`: tasks in the dead-letter streams.
pub(super) async fn depths(store: &RedisStore) -> StoreResult<QueueDepths> {
    let mut conn = store.pool.get().await?;
    let mut depths = QueueDepths::default();
    for keys in &store.queue.parts {
        let (fresh, fresh_pending, retry, retry_pending, scheduled, dead): PartitionDepths = scripts::STATS
            .key(&keys.fresh)
            .key(&keys.retry)
            .key(&keys.scheduled)
            .key(&keys.dead)
            .arg(GROUP)
            .invoke_async(&mut conn)
            .await
            .redis("cannot read the delivery queue's depths")?;
        depths.ready += fresh.saturating_sub(fresh_pending) + retry.saturating_sub(retry_pending);
        depths.in_flight += fresh_pending + retry_pending;
        depths.scheduled += scheduled;
        depths.dead_letter += dead;
    }
    Ok(depths)
}
