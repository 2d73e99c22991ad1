//! The delivery queue, mapped onto one process: durable rows in redb, leases in memory.
//!
//! Ready tasks are rows of [`QUEUE_READY`] keyed by a sequence number; delayed tasks are rows of
//! [`QUEUE_SCHEDULED`] keyed by (due ms, seq). redb admits one process per file, so who holds which task need
//! not be durable: leases live in a map here, with a FIFO of ready-but-unleased rows. At open the FIFO is
//! rebuilt from the ready table, so after a crash every unfinished task is ready again (the lease count
//! restarts at zero: a task that crashes the process is not recognised as poison across restarts).

use std::collections::{BTreeMap, VecDeque};
use std::pin::pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::ReadableTableMetadata as _;
use redb::{Database, ReadableTable};
use tokio::sync::Notify;
use xwebhook_engine::store::{DeliveryQueue, FollowUp, Leased, QueueDepths, Receipt, StoreResult, Task};

use crate::EmbeddedStore;
use crate::error::{Context as _, decode, encode};
use crate::tables::{QUEUE_READY, QUEUE_SCHEDULED};
use crate::writer::Batch;

/// A change to the in-memory queue, published by the writer thread once the batch that caused it is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// A ready row was written.
    Ready(u64),
    /// A ready row was acknowledged (deleted): its lease, if any, is over.
    Acked(u64),
}

struct Lease {
    consumer: String,
    leased_at: Instant,
    deliveries: u32,
}

#[derive(Default)]
struct Memory {
    /// Ready rows nobody holds, oldest first.
    unleased: VecDeque<u64>,
    /// Ready rows somebody holds, by seq (so reclaim takes the oldest first).
    leases: BTreeMap<u64, Lease>,
}

/// The queue's in-memory half, shared by the store (leases) and the writer thread (publication).
pub(crate) struct QueueShared {
    memory: Mutex<Memory>,
    /// Woken whenever ready rows are published.
    ready: Notify,
}

impl QueueShared {
    /// (ready and unleased, leased) right now.
    fn counts(&self) -> (u64, u64) {
        let memory = self.memory();
        (memory.unleased.len() as u64, memory.leases.len() as u64)
    }

    /// Every row of the ready table is ready again: whoever held it before the restart is gone.
    pub(crate) fn load(db: &Database) -> StoreResult<Self> {
        let tx = db.begin_read().context("cannot read the ready queue")?;
        let table = tx
            .open_table(QUEUE_READY)
            .context("cannot open the ready queue")?;
        let mut unleased = VecDeque::new();
        for row in table.iter().context("cannot scan the ready queue")? {
            let (seq, _) = row.context("cannot scan the ready queue")?;
            unleased.push_back(seq.value());
        }
        Ok(Self {
            memory: Mutex::new(Memory {
                unleased,
                leases: BTreeMap::new(),
            }),
            ready: Notify::new(),
        })
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        // The map stays consistent even if a holder panicked: every update is a single insert or remove.
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn publish(&self, effects: Vec<Effect>) {
        if effects.is_empty() {
            return;
        }
        let mut any_ready = false;
        {
            let mut memory = self.memory();
            for effect in effects {
                match effect {
                    Effect::Ready(seq) => {
                        memory.unleased.push_back(seq);
                        any_ready = true;
                    }
                    Effect::Acked(seq) => {
                        memory.leases.remove(&seq);
                    }
                }
            }
        }
        if any_ready {
            self.ready.notify_waiters();
        }
    }

    /// Leases up to `max` unleased rows to `consumer`: (seq, deliveries).
    fn lease_ready(&self, consumer: &str, max: usize) -> Vec<(u64, u32)> {
        let mut memory = self.memory();
        let n = max.min(memory.unleased.len());
        let seqs: Vec<u64> = memory.unleased.drain(..n).collect();
        let now = Instant::now();
        for &seq in &seqs {
            let lease = Lease {
                consumer: consumer.to_owned(),
                leased_at: now,
                deliveries: 1,
            };
            memory.leases.insert(seq, lease);
        }
        seqs.into_iter().map(|s| (s, 1)).collect()
    }

    /// Hands leases idle for at least `min_idle` to `consumer`.
    fn take_over(&self, consumer: &str, min_idle: Duration, max: usize) -> Vec<(u64, u32)> {
        let mut memory = self.memory();
        let now = Instant::now();
        let mut taken = Vec::new();
        for (&seq, lease) in memory.leases.iter_mut() {
            if taken.len() >= max {
                break;
            }
            if now.saturating_duration_since(lease.leased_at) >= min_idle {
                tracing::debug!(seq, from = %lease.consumer, to = consumer, "reclaiming an idle lease");
                lease.consumer = consumer.to_owned();
                lease.leased_at = now;
                lease.deliveries = lease.deliveries.saturating_add(1);
                taken.push((seq, lease.deliveries));
            }
        }
        taken
    }

    /// Drops a lease whose row has gone (finished between leasing and loading).
    fn forget(&self, seq: u64) {
        self.memory().leases.remove(&seq);
    }
}

impl EmbeddedStore {
    /// Loads the tasks of freshly leased rows.
    fn load_leased(&self, leased: Vec<(u64, u32)>) -> StoreResult<Vec<Leased>> {
        if leased.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.read()?;
        let table = tx
            .open_table(QUEUE_READY)
            .context("cannot open the ready queue")?;
        let mut out = Vec::with_capacity(leased.len());
        for (seq, deliveries) in leased {
            let Some(row) = table.get(seq).context("cannot read a queued task")? else {
                self.queue.forget(seq);
                continue;
            };
            out.push(Leased {
                receipt: Receipt(seq.to_string()),
                task: decode(row.value(), "a queued task")?,
                deliveries,
            });
        }
        Ok(out)
    }
}

/// Milliseconds since the epoch, with instants before it clamped to it (they are all long due).
fn due_ms(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

fn insert_ready(batch: &mut Batch<'_>, tasks: &[Task]) -> StoreResult<()> {
    let mut table = batch
        .tx
        .open_table(QUEUE_READY)
        .context("cannot open the ready queue")?;
    for task in tasks {
        let seq = batch.next_seq();
        table
            .insert(seq, encode(task, "a task")?.as_slice())
            .context("cannot enqueue a task")?;
        batch.effect(Effect::Ready(seq));
    }
    Ok(())
}

fn insert_scheduled(batch: &mut Batch<'_>, tasks: &[(Task, DateTime<Utc>)]) -> StoreResult<()> {
    let mut table = batch
        .tx
        .open_table(QUEUE_SCHEDULED)
        .context("cannot open the scheduled queue")?;
    for (task, due) in tasks {
        let seq = batch.next_seq();
        table
            .insert((due_ms(*due), seq), encode(task, "a task")?.as_slice())
            .context("cannot schedule a task")?;
    }
    Ok(())
}

/// Deletes the ready row and writes its follow-up, in the batch's one transaction. A row already gone was
/// finished by someone else: nothing is added.
fn finish_op(batch: &mut Batch<'_>, seq: u64, follow_up: &FollowUp) -> StoreResult<()> {
    batch.effect(Effect::Acked(seq));
    let removed = {
        let mut table = batch
            .tx
            .open_table(QUEUE_READY)
            .context("cannot open the ready queue")?;
        table.remove(seq).context("cannot acknowledge a task")?.is_some()
    };
    if removed {
        insert_ready(batch, &follow_up.enqueue)?;
        insert_scheduled(batch, &follow_up.schedule)?;
    }
    Ok(())
}

fn promote_op(batch: &mut Batch<'_>, now: DateTime<Utc>, max: usize) -> StoreResult<usize> {
    let due: Vec<((u64, u64), Vec<u8>)> = {
        let table = batch
            .tx
            .open_table(QUEUE_SCHEDULED)
            .context("cannot open the scheduled queue")?;
        let mut due = Vec::new();
        for row in table
            .range(..=(due_ms(now), u64::MAX))
            .context("cannot scan the scheduled queue")?
            .take(max)
        {
            let (k, v) = row.context("cannot scan the scheduled queue")?;
            due.push((k.value(), v.value().to_vec()));
        }
        due
    };
    let mut scheduled = batch
        .tx
        .open_table(QUEUE_SCHEDULED)
        .context("cannot open the scheduled queue")?;
    let mut ready = batch
        .tx
        .open_table(QUEUE_READY)
        .context("cannot open the ready queue")?;
    for (key, task) in &due {
        scheduled.remove(*key).context("cannot take a due task")?;
        let seq = batch.next_seq();
        ready
            .insert(seq, task.as_slice())
            .context("cannot make a task ready")?;
        batch.effect(Effect::Ready(seq));
    }
    Ok(due.len())
}

#[async_trait]
impl DeliveryQueue for EmbeddedStore {
    /// Nothing is ever dead-lettered here: a restart makes every unfinished task ready again.
    async fn depths(&self) -> StoreResult<QueueDepths> {
        let (ready, in_flight) = self.queue.counts();
        let tx = self.read()?;
        let scheduled = tx
            .open_table(QUEUE_SCHEDULED)
            .context("cannot open the scheduled queue")?;
        let scheduled = scheduled.len().context("cannot count the scheduled queue")?;
        Ok(QueueDepths {
            ready,
            in_flight,
            scheduled,
            dead_letter: 0,
        })
    }

    async fn enqueue(&self, tasks: Vec<Task>) -> StoreResult<()> {
        if tasks.is_empty() {
            return Ok(());
        }
        self.writer.write(move |b| insert_ready(b, &tasks)).await
    }

    async fn schedule(&self, tasks: Vec<(Task, DateTime<Utc>)>) -> StoreResult<()> {
        if tasks.is_empty() {
            return Ok(());
        }
        self.writer.write(move |b| insert_scheduled(b, &tasks)).await
    }

    async fn receive(&self, consumer: &str, max: usize, wait: Duration) -> StoreResult<Vec<Leased>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a publication between the look and the wait is not missed.
            let mut notified = pin!(self.queue.ready.notified());
            notified.as_mut().enable();
            let leased = self.load_leased(self.queue.lease_ready(consumer, max))?;
            if !leased.is_empty() {
                return Ok(leased);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn finish(&self, receipt: &Receipt, follow_up: FollowUp) -> StoreResult<()> {
        // A receipt we never issued is unknown, which the contract says is not an error.
        let Ok(seq) = receipt.0.parse::<u64>() else {
            return Ok(());
        };
        self.writer.write(move |b| finish_op(b, seq, &follow_up)).await
    }

    async fn reclaim(&self, consumer: &str, min_idle: Duration, max: usize) -> StoreResult<Vec<Leased>> {
        self.load_leased(self.queue.take_over(consumer, min_idle, max))
    }

    async fn promote_due(&self, now: DateTime<Utc>, max: usize) -> StoreResult<usize> {
        if max == 0 {
            return Ok(0);
        }
        self.writer.write(move |b| promote_op(b, now, max)).await
    }
}
