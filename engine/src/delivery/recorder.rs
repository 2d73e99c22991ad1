//! Batched attempt recording. Every delivery ends by recording its attempt; one store call per delivery would
//! make the record store (one commit each, in Postgres or the embedded store) the bottleneck at thousands of
//! deliveries per second. Deliveries hand their records to one task that writes whatever has queued up since its
//! last write in one `record_attempts` call: no added delay when idle, large batches under load.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::store::{AttemptRecord, AttemptStore, StoreError, StoreErrorKind, StoreResult};

/// The most records one store call carries.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<(), Arc<StoreError>>>;

#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<(AttemptRecord, Reply)>,
}

impl Recorder {
    /// Starts the writing task; it ends when every `Recorder` clone is dropped.
    pub fn spawn(store: Arc<dyn AttemptStore>) -> Self {
        let (queue, pending) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_batches(store, pending));
        Self { queue }
    }

    /// Records one attempt; returns once it is stored (with the others of its batch).
    pub async fn record(&self, record: AttemptRecord) -> StoreResult<()> {
        let (reply, stored) = oneshot::channel();
        let stopped = || StoreError::new(StoreErrorKind::Unavailable, "the attempt recorder has stopped");
        self.queue.send((record, reply)).await.map_err(|_| stopped())?;
        match stored.await.map_err(|_| stopped())? {
            Ok(()) => Ok(()),
            // A batch failed as a whole: each caller gets the failure's kind, and its text, as its own error.
            Err(e) => Err(StoreError::new(
                e.kind,
                format!("recording a batch of attempts failed: {e}"),
            )),
        }
    }
}

async fn write_batches(store: Arc<dyn AttemptStore>, mut pending: mpsc::Receiver<(AttemptRecord, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (records, replies): (Vec<AttemptRecord>, Vec<Reply>) = batch.drain(..).unzip();
        let outcome = store.record_attempts(&records).await.map_err(Arc::new);
        for reply in replies {
            // The delivery may have been cancelled at shutdown; its record is stored all the same.
            let _ = reply.send(outcome.clone());
        }
    }
}
