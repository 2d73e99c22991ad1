//! Batched attempt recording. Every delivery ends by recording its attempt; one store call per delivery would
//! make the record store (one commit each, in Postgres or the embedded store) the bottleneck at thousands of
//! deliveries per second. Deliveries hand their records to a [`Coalescer`] with one writer, which writes whatever
//! has queued up since its last write in one `record_attempts` call: no added delay when idle, large batches
//! under load.

use std::sync::Arc;

use crate::store::{AttemptRecord, AttemptStore, Coalescer, GroupLimits, StoreResult, one_for_all};

const LIMITS: GroupLimits = GroupLimits {
    // The most records one store call carries.
    max_group: 256,
    // One batch at a time: the store commits each as one transaction, and the next forms while it runs.
    writers: 1,
    // Deliveries beyond this many waiting records wait for room.
    queue: 256 * 4,
};

#[derive(Clone)]
pub struct Recorder {
    batches: Coalescer<AttemptRecord>,
}

impl Recorder {
    /// Starts the writing task; it ends when every `Recorder` clone is dropped.
    pub fn spawn(store: Arc<dyn AttemptStore>) -> Self {
        let batches = Coalescer::spawn("attempt recorder", LIMITS, move |records: Vec<AttemptRecord>| {
            let store = store.clone();
            async move {
                // A batch is stored or fails as a whole: each of its deliveries gets the same answer.
                let stored = store.record_attempts(&records).await;
                one_for_all(stored, records.len())
            }
        });
        Self { batches }
    }

    /// Records one attempt; returns once it is stored (with the others of its batch). A batch that fails gives
    /// each of its callers the store's error, kind and source included.
    pub async fn record(&self, record: AttemptRecord) -> StoreResult<()> {
        self.batches.submit(record).await
    }
}
