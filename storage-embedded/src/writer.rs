//! Group commit: every write goes through one writer thread, which applies all pending operations in one redb
//! write transaction and fsyncs once for the lot.
//!
//! One fsync costs milliseconds; committing each operation on its own would cap the store at a few hundred
//! writes per second. Batching lets concurrent callers share the fsync. Each operation checks its rules before
//! it writes, so a logical failure (`Conflict`, `NotFound`) is answered to its caller alone and the rest of the
//! batch commits. A storage failure poisons the transaction: the batch is aborted and every caller is told,
//! with the original error as the source.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use redb::{Database, Durability, WriteTransaction};
use tokio::sync::{mpsc, oneshot};
use xwebhook_engine::store::{StoreError, StoreErrorKind, StoreResult};

use crate::error::Context as _;
use crate::queue::{Effect, QueueShared};
use crate::tables::{META, NEXT_SEQ};

/// The most operations one transaction takes: bounds the latency of the first caller of a large batch.
const MAX_BATCH: usize = 1024;
/// Pending operations beyond which callers wait for room (backpressure instead of unbounded memory).
const CHANNEL_CAPACITY: usize = 4096;

/// What one operation sees: the batch's transaction, the sequence counter, and the in-memory effects to
/// publish once the batch is durable.
pub(crate) struct Batch<'a> {
    pub tx: &'a WriteTransaction,
    next_seq: &'a mut u64,
    effects: &'a mut Vec<Effect>,
}

impl Batch<'_> {
    /// A fresh queue sequence number, unique for the life of the file.
    pub(crate) fn next_seq(&mut self) -> u64 {
        let seq = *self.next_seq;
        *self.next_seq += 1;
        seq
    }

    /// Published to the in-memory queue only if the batch commits.
    pub(crate) fn effect(&mut self, effect: Effect) {
        self.effects.push(effect);
    }
}

trait Pending: Send {
    /// Runs the operation inside the batch. An error returned here aborts the batch.
    fn apply(&mut self, batch: &mut Batch<'_>) -> Result<(), StoreError>;
    /// Answers the caller once the batch's fate is known.
    fn settle(self: Box<Self>, failure: Option<&StoreError>);
}

struct Job<T, F> {
    op: Option<F>,
    outcome: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Pending for Job<T, F>
where
    T: Send,
    F: FnOnce(&mut Batch<'_>) -> StoreResult<T> + Send,
{
    fn apply(&mut self, batch: &mut Batch<'_>) -> Result<(), StoreError> {
        let Some(op) = self.op.take() else {
            return Ok(());
        };
        match op(batch) {
            Err(e) if !matches!(e.kind, StoreErrorKind::Conflict | StoreErrorKind::NotFound) => Err(e),
            outcome => {
                self.outcome = Some(outcome);
                Ok(())
            }
        }
    }

    fn settle(self: Box<Self>, failure: Option<&StoreError>) {
        let answer = match (self.outcome, failure) {
            // A logical failure wrote nothing, so it stands whatever happened to the batch.
            (Some(Err(e)), _) => Err(e),
            (_, Some(failure)) => Err(failure.clone()),
            (Some(Ok(v)), None) => Ok(v),
            (None, None) => Err(StoreError::new(
                StoreErrorKind::Internal,
                "operation was not applied",
            )),
        };
        // The caller may have given up waiting; its operation is durable all the same.
        let _ = self.reply.send(answer);
    }
}

/// Counts of the writer's work since the store opened, to see how well writes are batched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Write transactions committed (each one fsync).
    pub commits: u64,
    /// Operations they carried, failed ones included.
    pub operations: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    operations: AtomicU64,
}

/// The handle to the writer thread. Dropping it lets the thread drain its queue, then waits for it, so that
/// the database file is closed when the store is gone.
pub(crate) struct Writer {
    sender: Option<mpsc::Sender<Box<dyn Pending>>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Writer {
    pub(crate) fn spawn(db: Arc<Database>, queue: Arc<QueueShared>, next_seq: u64) -> StoreResult<Self> {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let counters = Arc::new(Counters::default());
        let thread_counters = counters.clone();
        let thread = std::thread::Builder::new()
            .name("xwebhook-embedded-writer".into())
            .spawn(move || run(&db, receiver, &queue, &thread_counters, next_seq))
            .map_err(|e| {
                StoreError::with_source(StoreErrorKind::Internal, "cannot start the writer thread", e)
            })?;
        Ok(Self {
            sender: Some(sender),
            thread: Some(thread),
            counters,
        })
    }

    pub(crate) fn stats(&self) -> WriteStats {
        WriteStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            operations: self.counters.operations.load(Ordering::Relaxed),
        }
    }

    /// Runs `op` in the next batch and returns its outcome once the batch is durable.
    pub(crate) async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Batch<'_>) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Job {
            op: Some(op),
            outcome: None,
            reply,
        });
        let stopped = || StoreError::new(StoreErrorKind::Unavailable, "the writer thread has stopped");
        let sender = self.sender.as_ref().ok_or_else(stopped)?;
        sender.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the embedded store's writer thread panicked");
        }
    }
}

fn run(
    db: &Database,
    mut receiver: mpsc::Receiver<Box<dyn Pending>>,
    queue: &QueueShared,
    counters: &Counters,
    mut next_seq: u64,
) {
    let mut jobs: Vec<Box<dyn Pending>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = receiver.blocking_recv() {
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut effects = Vec::new();
        let mut seq = next_seq;
        let failure = commit_batch(db, &mut jobs, &mut seq, &mut effects);
        match &failure {
            None => {
                next_seq = seq;
                counters.commits.fetch_add(1, Ordering::Relaxed);
                // Published before answering, so that a caller who enqueued can receive at once.
                queue.publish(effects);
            }
            Some(f) => {
                let source = f.source.as_ref().map(|s| s.to_string()).unwrap_or_default();
                tracing::error!(error = %f, %source, "embedded store write batch failed")
            }
        }
        counters
            .operations
            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
        for job in jobs.drain(..) {
            job.settle(failure.as_ref());
        }
    }
}

fn commit_batch(
    db: &Database,
    jobs: &mut [Box<dyn Pending>],
    next_seq: &mut u64,
    effects: &mut Vec<Effect>,
) -> Option<StoreError> {
    let mut tx = match db.begin_write().context("cannot start a write transaction") {
        Ok(tx) => tx,
        Err(e) => return Some(e),
    };
    tx.set_durability(Durability::Immediate);
    let first_seq = *next_seq;
    let mut batch = Batch {
        tx: &tx,
        next_seq,
        effects,
    };
    let applied = jobs
        .iter_mut()
        .try_for_each(|job| job.apply(&mut batch))
        .and_then(|()| save_seq(&tx, first_seq, *batch.next_seq));
    if let Err(e) = applied {
        if let Err(abort) = tx.abort() {
            tracing::warn!(error = %abort, "cannot abort a failed write batch");
        }
        let context = "write batch aborted by a storage error";
        return Some(StoreError::with_source(e.kind(), context, e));
    }
    tx.commit().context("cannot commit a write batch").err()
}

/// Persists the sequence counter when the batch used it, so numbers are never reused after a restart.
fn save_seq(tx: &WriteTransaction, first: u64, next: u64) -> StoreResult<()> {
    if next != first {
        let mut meta = tx.open_table(META).context("cannot open the meta table")?;
        meta.insert(NEXT_SEQ, next)
            .context("cannot save the queue sequence")?;
    }
    Ok(())
}
