//! Group commit for the writes every message makes (its row, then its destinations at fan-out).
//!
//! Each such write alone is a transaction of its own, and a commit waits for a WAL flush: with thousands of
//! messages a second the server spends its time flushing, not writing (`pg_stat_activity` showed
//! `LWLock:WALWrite` / `IO:WALSync` waits). A [`Coalescer`] queues concurrent writes of one kind and sends each
//! group as one statement, so one flush covers the whole group. It never waits to fill a group: a write goes out
//! at once when a writer is free, and groups only form while earlier ones are in flight, so an idle server keeps
//! single-write latency and a busy one gets fewer, larger commits.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};
use xwebhook_engine::store::{StoreError, StoreErrorKind, StoreResult};

/// Writes queued beyond this wait for room rather than growing the queue without bound.
const QUEUE_CAPACITY: usize = 8 * 1024;

struct Job<T> {
    item: T,
    reply: oneshot::Sender<StoreResult<()>>,
}

/// Queues writes of one kind and performs them in groups, one statement per group.
pub(crate) struct Coalescer<T> {
    jobs: mpsc::Sender<Job<T>>,
}

impl<T: Send + 'static> Coalescer<T> {
    /// Starts the coalescing task. `write` performs one group and answers one result per item, in order; at
    /// most `writers` groups are in flight at once, each of at most `max_group` items.
    pub(crate) fn spawn<W, F>(max_group: usize, writers: usize, write: W) -> Self
    where
        W: Fn(Vec<T>) -> F + Send + Sync + 'static,
        F: Future<Output = Vec<StoreResult<()>>> + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(queue, max_group.max(1), writers.max(1), write));
        Self { jobs }
    }

    /// Queues `item` and waits for the group that carries it to be written.
    pub(crate) async fn submit(&self, item: T) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { item, reply }).await.map_err(|_| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                "the postgres group writer has stopped",
            )
        })?;
        answer.await.map_err(|_| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                "the postgres group writer dropped a write",
            )
        })?
    }
}

/// One copy of a group's failure for each of its `n` writes (the error type is not `Clone`; the first keeps the
/// source, the others carry its text).
pub(crate) fn each_failed(error: StoreError, n: usize) -> Vec<StoreResult<()>> {
    let text = match &error.source {
        Some(source) => format!("{}: {source}", error.context),
        None => error.context.clone(),
    };
    let kind = error.kind;
    std::iter::once(Err(error))
        .chain((1..n).map(|_| Err(StoreError::new(kind, text.clone()))))
        .take(n)
        .collect()
}

async fn run<T, W, F>(mut queue: mpsc::Receiver<Job<T>>, max_group: usize, writers: usize, write: W)
where
    T: Send + 'static,
    W: Fn(Vec<T>) -> F + Send + Sync + 'static,
    F: Future<Output = Vec<StoreResult<()>>> + Send + 'static,
{
    let free = Arc::new(Semaphore::new(writers));
    let mut group = Vec::with_capacity(max_group);
    loop {
        // Take a writer first: while none is free, writes pile up in the queue and leave as one group.
        let Ok(writer) = free.clone().acquire_owned().await else {
            return;
        };
        if queue.recv_many(&mut group, max_group).await == 0 {
            return;
        }
        let (items, replies): (Vec<T>, Vec<_>) = group.drain(..).map(|j| (j.item, j.reply)).unzip();
        let written = write(items);
        tokio::spawn(async move {
            let results = written.await;
            for (reply, result) in replies.into_iter().zip(results) {
                // The caller may have gone away; its write stands regardless.
                let _ = reply.send(result);
            }
            drop(writer);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn concurrent_writes_share_groups_and_get_their_own_results() {
        let groups = Arc::new(Mutex::new(Vec::new()));
        let seen = groups.clone();
        let coalescer = Arc::new(Coalescer::spawn(64, 1, move |items: Vec<u32>| {
            let seen = seen.clone();
            async move {
                // Hold the only writer a moment so that the other writes queue up behind this group.
                tokio::task::yield_now().await;
                seen.lock().expect("not poisoned").push(items.len());
                items
                    .into_iter()
                    .map(|i| {
                        if i % 2 == 0 {
                            Ok(())
                        } else {
                            Err(StoreError::conflict(format!("odd {i}")))
                        }
                    })
                    .collect()
            }
        }));
        let calls: Vec<_> = (0..100u32)
            .map(|i| {
                let c = coalescer.clone();
                tokio::spawn(async move { (i, c.submit(i).await) })
            })
            .collect();
        for call in calls {
            let (i, result) = call.await.expect("task ran");
            assert_eq!(result.is_ok(), i % 2 == 0, "write {i}");
        }
        let groups = groups.lock().expect("not poisoned");
        assert_eq!(groups.iter().sum::<usize>(), 100);
        assert!(
            groups.len() < 100,
            "some writes should have shared a group: {groups:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_group_fails_each_of_its_writes() {
        let coalescer = Coalescer::spawn(8, 2, |items: Vec<u8>| async move {
            each_failed(
                StoreError::new(StoreErrorKind::Unavailable, "server went away"),
                items.len(),
            )
        });
        assert!(coalescer.submit(1).await.is_err());
    }
}
