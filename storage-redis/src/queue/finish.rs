//! Finishing a lease: acknowledge the entry and add its follow-up work.
//!
//! On a single node this is one script over every key involved (Redis does not check slots there): the entry
//! is acknowledged and its follow-ups added together, or, if it was no longer pending, nothing happens.
//!
//! On a cluster the follow-ups of a fan-out land in other partitions, hence other slots, which no script or
//! transaction can join. There the order is:
//! 1. check that the entry is still pending (a receipt already finished adds nothing);
//! 2. add the follow-ups of other partitions;
//! 3. run the script on the entry's own partition: acknowledge, and add that partition's follow-ups only if
//!    the acknowledgement took.
//!
//! Follow-ups are never lost: nothing is acknowledged before everything else exists. The price is duplicates,
//! which delivery tolerates (it is at-least-once anyway): a crash between 2 and 3 leaves the entry pending, it
//! is reclaimed and run again, adding its follow-ups a second time; and two holders of one lease (the original
//! consumer, late, and the one that reclaimed it) finishing at the same moment may both pass step 1.

use xwebhook_engine::store::{FollowUp, Receipt, StoreResult};

use super::GROUP;
use super::groups::is_missing_group;
use super::layout::{Entry, parse_receipt};
use super::schedule::{PartWork, Work};
use super::scripts;
use crate::RedisStore;
use crate::conn::Conn;
use crate::error::Context as _;

/// Acknowledges the leased entry and adds its follow-up work (the module doc says in which order).
pub(super) async fn finish(store: &RedisStore, receipt: &Receipt, follow_up: FollowUp) -> StoreResult<()> {
    // A receipt this store never issued is unknown, which the contract says is not an error.
    let Some(entry) = parse_receipt(receipt, store.queue.partitions) else {
        return Ok(());
    };
    let partition = entry.partition;
    let mut work = store.work(&follow_up.enqueue, &follow_up.schedule)?;
    let mut conn = store.pool.get().await?;
    if store.queue.cluster {
        let own = work.remove(&partition);
        if !work.is_empty() {
            if !store.is_pending(&mut conn, entry).await? {
                return Ok(());
            }
            store.add_work(&mut conn, &work).await?;
        }
        work = own.map(|w| Work::from([(partition, w)])).unwrap_or_default();
    }
    store.ack_with(&mut conn, entry, &work).await
}

impl RedisStore {
    /// The finish script: acknowledges `entry` and, if it was pending, adds `work` (all keys in one call).
    /// Follow-ups are fresh work (see `add_work`).
    async fn ack_with(&self, conn: &mut Conn, entry: Entry<'_>, work: &Work) -> StoreResult<()> {
        let mut call = scripts::FINISH.prepare_invoke();
        call.key(self.queue.parts[usize::from(entry.partition)].stream(entry.lane));
        call.arg(GROUP).arg(entry.id);
        for (&p, PartWork { enqueue, schedule }) in work {
            let keys = &self.queue.parts[usize::from(p)];
            call.key(&keys.fresh).key(&keys.scheduled);
            call.arg(enqueue.len()).arg(schedule.len());
            for json in enqueue {
                call.arg(json);
            }
            for (at, member) in schedule {
                call.arg(at).arg(member);
            }
        }
        let _acked: i64 = call
            .invoke_async(conn)
            .await
            .redis("cannot finish a delivery task")?;
        Ok(())
    }

    /// Whether `entry` is leased to someone. A missing group means nobody holds it.
    async fn is_pending(&self, conn: &mut Conn, entry: Entry<'_>) -> StoreResult<bool> {
        let stream = self.queue.parts[usize::from(entry.partition)].stream(entry.lane);
        let id = entry.id;
        let pending: Result<Vec<redis::Value>, _> = redis::cmd("XPENDING")
            .arg(stream)
            .arg(GROUP)
            .arg(id)
            .arg(id)
            .arg(1)
            .query_async(conn)
            .await;
        match pending {
            Ok(entries) => Ok(!entries.is_empty()),
            Err(e) if is_missing_group(&e) => Ok(false),
            Err(e) => Err(e).redis("cannot check a delivery task's lease"),
        }
    }
}
