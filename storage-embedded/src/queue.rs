//! The delivery queue, mapped onto one process: durable rows in redb, leases in memory.
//!
//! Ready tasks are rows keyed by a sequence number, in one table per lane: [`QUEUE_READY`] for fresh work,
//! [`QUEUE_RETRY`] for promoted retries; delayed tasks are rows of [`QUEUE_SCHEDULED`] keyed by (due ms, seq).
//! redb admits one process per file, so who holds which task need not be durable: leases live in a map here,
//! with one FIFO of ready-but-unleased rows per lane, and `receive` shares each batch between them
//! ([`LaneShares`]). At open the FIFOs are rebuilt from the ready tables, so after a crash every unfinished
//! task is ready again (the lease count restarts at zero: a task that crashes the process is not recognised as
//! poison across restarts).

use std::collections::{BTreeMap, VecDeque};
use std::pin::pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::ReadableTableMetadata as _;
use redb::{Database, ReadableTable, TableDefinition};
use tokio::sync::Notify;
use xwebhook_engine::store::{
    DeliveryQueue, FollowUp, LaneShares, Leased, QueueDepths, Receipt, StoreResult, Task,
};

use crate::EmbeddedStore;
use crate::error::{Context as _, decode, encode};
use crate::tables::{QUEUE_READY, QUEUE_RETRY, QUEUE_SCHEDULED};
use crate::writer::Batch;

/// The two lanes of ready work: new tasks, and retries made ready by promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    Fresh,
    Retry,
}

impl Lane {
    const BOTH: [Lane; 2] = [Lane::Fresh, Lane::Retry];

    fn table(self) -> TableDefinition<'static, u64, &'static [u8]> {
        match self {
            Lane::Fresh => QUEUE_READY,
            Lane::Retry => QUEUE_RETRY,
        }
    }

    /// `<seq>` for the fresh lane (the receipt of the layout before lanes), `r<seq>` for the retry lane.
    fn receipt(self, seq: u64) -> Receipt {
        match self {
            Lane::Fresh => Receipt(seq.to_string()),
            Lane::Retry => Receipt(format!("r{seq}")),
        }
    }

    /// The lane and seq of a receipt this store issued; `None` for anything else.
    fn parse(receipt: &Receipt) -> Option<(Lane, u64)> {
        match receipt.0.strip_prefix('r') {
            Some(seq) => Some((Lane::Retry, seq.parse().ok()?)),
            None => Some((Lane::Fresh, receipt.0.parse().ok()?)),
        }
    }
}

/// A change to the in-memory queue, published by the writer thread once the batch that caused it is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// A ready row was written to a lane.
    Ready(Lane, u64),
    /// A ready row was acknowledged (deleted): its lease, if any, is over.
    Acked(u64),
}

struct Lease {
    lane: Lane,
    consumer: String,
    leased_at: Instant,
    deliveries: u32,
}

#[derive(Default)]
struct Memory {
    /// Fresh rows nobody holds, oldest first.
    fresh: VecDeque<u64>,
    /// Retry rows nobody holds, oldest first.
    retry: VecDeque<u64>,
    /// Ready rows somebody holds, by seq (so reclaim takes the oldest first).
    leases: BTreeMap<u64, Lease>,
    /// Which lane gets the odd task of the next odd-sized batch; flips each time.
    odd_to_fresh: bool,
}

impl Memory {
    fn unleased(&mut self, lane: Lane) -> &mut VecDeque<u64> {
        match lane {
            Lane::Fresh => &mut self.fresh,
            Lane::Retry => &mut self.retry,
        }
    }
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
        let unleased = memory.fresh.len() + memory.retry.len();
        (unleased as u64, memory.leases.len() as u64)
    }

    /// Every row of the ready tables is ready again: whoever held it before the restart is gone.
    pub(crate) fn load(db: &Database) -> StoreResult<Self> {
        let tx = db.begin_read().context("cannot read the ready queue")?;
        let mut memory = Memory::default();
        for lane in Lane::BOTH {
            let table = tx
                .open_table(lane.table())
                .context("cannot open the ready queue")?;
            for row in table.iter().context("cannot scan the ready queue")? {
                let (seq, _) = row.context("cannot scan the ready queue")?;
                memory.unleased(lane).push_back(seq.value());
            }
        }
        Ok(Self {
            memory: Mutex::new(memory),
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
                    Effect::Ready(lane, seq) => {
                        memory.unleased(lane).push_back(seq);
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

    /// Leases up to `max` unleased rows to `consumer`, shared between the lanes: (lane, seq, deliveries).
    fn lease_ready(&self, consumer: &str, max: usize) -> Vec<(Lane, u64, u32)> {
        let mut memory = self.memory();
        let odd_to_fresh = memory.odd_to_fresh;
        memory.odd_to_fresh = !odd_to_fresh;
        let shares = LaneShares::take(max, memory.fresh.len(), memory.retry.len(), odd_to_fresh);
        let mut seqs: Vec<(Lane, u64)> = Vec::with_capacity(shares.total());
        seqs.extend(memory.fresh.drain(..shares.fresh).map(|s| (Lane::Fresh, s)));
        seqs.extend(memory.retry.drain(..shares.retry).map(|s| (Lane::Retry, s)));
        let now = Instant::now();
        for &(lane, seq) in &seqs {
            let lease = Lease {
                lane,
                consumer: consumer.to_owned(),
                leased_at: now,
                deliveries: 1,
            };
            memory.leases.insert(seq, lease);
        }
        seqs.into_iter().map(|(lane, s)| (lane, s, 1)).collect()
    }

    /// Hands leases idle for at least `min_idle` to `consumer`.
    fn take_over(&self, consumer: &str, min_idle: Duration, max: usize) -> Vec<(Lane, u64, u32)> {
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
                taken.push((lease.lane, seq, lease.deliveries));
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
    fn load_leased(&self, leased: Vec<(Lane, u64, u32)>) -> StoreResult<Vec<Leased>> {
        if leased.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.read()?;
        let open = |lane: Lane| tx.open_table(lane.table()).context("cannot open the ready queue");
        let (fresh, retry) = (open(Lane::Fresh)?, open(Lane::Retry)?);
        let mut out = Vec::with_capacity(leased.len());
        for (lane, seq, deliveries) in leased {
            let table = match lane {
                Lane::Fresh => &fresh,
                Lane::Retry => &retry,
            };
            let Some(row) = table.get(seq).context("cannot read a queued task")? else {
                self.queue.forget(seq);
                continue;
            };
            out.push(Leased {
                receipt: lane.receipt(seq),
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
        batch.effect(Effect::Ready(Lane::Fresh, seq));
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

/// Deletes the ready row of `lane` and writes its follow-up (fresh work), in the batch's one transaction. A
/// row already gone was finished by someone else: nothing is added.
fn finish_op(batch: &mut Batch<'_>, (lane, seq): (Lane, u64), follow_up: &FollowUp) -> StoreResult<()> {
    batch.effect(Effect::Acked(seq));
    let removed = {
        let mut table = batch
            .tx
            .open_table(lane.table())
            .context("cannot open the ready queue")?;
        table.remove(seq).context("cannot acknowledge a task")?.is_some()
    };
    if removed {
        insert_ready(batch, &follow_up.enqueue)?;
        insert_scheduled(batch, &follow_up.schedule)?;
    }
    Ok(())
}

/// Moves due rows to the retry lane, so that a wave of them never stands ahead of fresh work.
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
        .open_table(QUEUE_RETRY)
        .context("cannot open the retry queue")?;
    for (key, task) in &due {
        scheduled.remove(*key).context("cannot take a due task")?;
        let seq = batch.next_seq();
        ready
            .insert(seq, task.as_slice())
            .context("cannot make a task ready")?;
        batch.effect(Effect::Ready(Lane::Retry, seq));
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
        let Some(entry) = Lane::parse(receipt) else {
            return Ok(());
        };
        self.writer.write(move |b| finish_op(b, entry, &follow_up)).await
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
