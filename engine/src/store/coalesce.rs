//! Group commit: many concurrent writes of one kind sent to a store as a few grouped calls.
//!
//! Some writes are made once per message or per delivery: a message's row, a fan-out's destinations, an
//! attempt's record. Each alone is a transaction of its own, and a commit waits for a flush to disk: with
//! thousands a second the store spends its time flushing, not writing (Postgres showed `LWLock:WALWrite` /
//! `IO:WALSync` waits). A [`Coalescer`] queues concurrent writes of one kind and hands each group to one write
//! call, so one commit covers the whole group.
//!
//! - No added latency when idle: it never waits to fill a group. A write goes out at once when a writer is free,
//!   and groups only form while earlier ones are in flight, so an idle service keeps single-write latency and a
//!   busy one gets fewer, larger commits.
//! - At most `writers` groups in flight, each of at most `max_group` items, so grouped writes never take every
//!   connection of a pool.
//! - A bounded queue: writes beyond it wait for room (back-pressure) rather than growing memory without bound.
//! - Every caller gets its own result, in order; a caller that goes away never cancels its write.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{StoreError, StoreErrorKind, StoreResult};

/// How large groups grow and how many are written at once.
#[derive(Debug, Clone, Copy)]
pub struct GroupLimits {
    /// The most items one write call carries.
    pub max_group: usize,
    /// The most write calls in flight at once.
    pub writers: usize,
    /// Items queued beyond this wait for room.
    pub queue: usize,
}

struct Job<T, R> {
    item: T,
    reply: oneshot::Sender<StoreResult<R>>,
}

/// Queues writes of one kind and performs them in groups, one write call per group.
pub struct Coalescer<T, R = ()> {
    /// Names the writer in the errors of a stopped coalescer ("the attempt recorder has stopped").
    name: &'static str,
    jobs: mpsc::Sender<Job<T, R>>,
}

// Not derived: a derive would require `T: Clone` and `R: Clone`, which sharing the queue does not need.
impl<T, R> Clone for Coalescer<T, R> {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            jobs: self.jobs.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Coalescer<T, R> {
    /// Starts the coalescing task; it ends once every clone of the returned coalescer is dropped and the queue
    /// is drained. `write` performs one group and answers one result per item, in the items' order (see
    /// [`one_for_all`] for a write that succeeds or fails as a whole). An item left without a result (a write
    /// that answers too few, or panics) fails as `Unavailable`.
    pub fn spawn<W, F>(name: &'static str, limits: GroupLimits, write: W) -> Self
    where
        W: Fn(Vec<T>) -> F + Send + Sync + 'static,
        F: Future<Output = Vec<StoreResult<R>>> + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel(limits.queue.max(1));
        let (max_group, writers) = (limits.max_group.max(1), limits.writers.max(1));
        tokio::spawn(run(queue, max_group, writers, write));
        Self { name, jobs }
    }

    /// Queues `item` and waits for the group that carries it to be written; returns the item's result.
    pub async fn submit(&self, item: T) -> StoreResult<R> {
        let (reply, answer) = oneshot::channel();
        let unavailable =
            |what: &str| StoreError::new(StoreErrorKind::Unavailable, format!("the {} {what}", self.name));
        self.jobs
            .send(Job { item, reply })
            .await
            .map_err(|_| unavailable("has stopped"))?;
        answer.await.map_err(|_| unavailable("dropped a write"))?
    }
}

/// One group's single result as one result per item: the same success, or the same failure (kind, context and
/// source) for each of the `n` items.
pub fn one_for_all<R: Clone>(result: StoreResult<R>, n: usize) -> Vec<StoreResult<R>> {
    vec![result; n]
}

async fn run<T, R, W, F>(mut queue: mpsc::Receiver<Job<T, R>>, max_group: usize, writers: usize, write: W)
where
    T: Send + 'static,
    R: Send + 'static,
    W: Fn(Vec<T>) -> F + Send + Sync + 'static,
    F: Future<Output = Vec<StoreResult<R>>> + Send + 'static,
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
    use std::pin::pin;
    use std::sync::Mutex;

    use super::*;

    fn limits(max_group: usize, writers: usize, queue: usize) -> GroupLimits {
        GroupLimits {
            max_group,
            writers,
            queue,
        }
    }

    #[tokio::test]
    async fn concurrent_writes_share_groups_and_get_their_own_results() {
        let groups = Arc::new(Mutex::new(Vec::new()));
        let seen = groups.clone();
        let coalescer = Coalescer::spawn("test writer", limits(64, 1, 1024), move |items: Vec<u32>| {
            let seen = seen.clone();
            async move {
                // Hold the only writer a moment so that the other writes queue up behind this group.
                tokio::task::yield_now().await;
                seen.lock().expect("not poisoned").push(items.len());
                items
                    .into_iter()
                    .map(|i| {
                        if i % 2 == 0 {
                            Ok(i)
                        } else {
                            Err(StoreError::conflict(format!("odd {i}")))
                        }
                    })
                    .collect()
            }
        });
        let calls: Vec<_> = (0..100u32)
            .map(|i| {
                let c = coalescer.clone();
                tokio::spawn(async move { (i, c.submit(i).await) })
            })
            .collect();
        for call in calls {
            let (i, result) = call.await.expect("task ran");
            match result {
                Ok(answer) => assert_eq!(answer, i, "write {i} got another's answer"),
                Err(e) => assert!(i % 2 == 1 && e.context == format!("odd {i}"), "write {i}: {e}"),
            }
        }
        let groups = groups.lock().expect("not poisoned");
        assert_eq!(groups.iter().sum::<usize>(), 100);
        assert!(
            groups.len() < 100,
            "some writes should have shared a group: {groups:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_group_gives_each_write_the_same_kind_and_source() {
        let groups = Arc::new(Mutex::new(Vec::new()));
        let seen = groups.clone();
        let coalescer = Coalescer::spawn("test writer", limits(8, 1, 16), move |items: Vec<u8>| {
            seen.lock().expect("not poisoned").push(items.len());
            let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "server went away");
            let failure = StoreError::with_source(StoreErrorKind::Unavailable, "cannot insert", reset);
            std::future::ready(one_for_all::<()>(Err(failure), items.len()))
        });
        // Polled together on this one thread, all five are queued before the coalescer takes any: one group.
        let results = futures_util::future::join_all((0..5u8).map(|i| coalescer.submit(i))).await;
        assert_eq!(*groups.lock().expect("not poisoned"), vec![5]);
        for result in results {
            let error = result.expect_err("the group failed");
            assert_eq!(error.kind(), StoreErrorKind::Unavailable);
            assert_eq!(error.context, "cannot insert");
            let source = std::error::Error::source(&error).expect("each write keeps the source");
            let io = source
                .downcast_ref::<std::io::Error>()
                .expect("the original error");
            assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
        }
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_does_not_cancel_its_write() {
        let gate = Arc::new(Semaphore::new(0));
        let (written, mut writes) = mpsc::unbounded_channel();
        let coalescer = Coalescer::spawn("test writer", limits(8, 1, 16), {
            let gate = gate.clone();
            move |items: Vec<u8>| {
                let (gate, written) = (gate.clone(), written.clone());
                async move {
                    let _ = gate.acquire().await;
                    let n = items.len();
                    written.send(items).expect("the test listens");
                    one_for_all(Ok(()), n)
                }
            }
        });
        {
            let mut call = pin!(coalescer.submit(7));
            assert!(
                futures_util::poll!(&mut call).is_pending(),
                "queued, not yet written"
            );
        }
        gate.add_permits(1);
        assert_eq!(writes.recv().await, Some(vec![7]));
    }

    #[tokio::test]
    async fn a_full_queue_holds_callers_back() {
        let gate = Arc::new(Semaphore::new(0));
        let (started, mut writing) = mpsc::unbounded_channel();
        let coalescer = Coalescer::spawn("test writer", limits(1, 1, 1), {
            let gate = gate.clone();
            move |items: Vec<u8>| {
                let (gate, started) = (gate.clone(), started.clone());
                async move {
                    started.send(()).expect("the test listens");
                    let _ = gate.acquire().await;
                    one_for_all(Ok(()), items.len())
                }
            }
        });
        let first = tokio::spawn({
            let c = coalescer.clone();
            async move { c.submit(1).await }
        });
        writing.recv().await.expect("the first write started");
        // The only writer is busy: the second write takes the queue's one place, the third must wait for room.
        let mut second = pin!(coalescer.submit(2));
        assert!(futures_util::poll!(&mut second).is_pending());
        assert_eq!(coalescer.jobs.capacity(), 0, "the second write is queued");
        let mut third = pin!(coalescer.submit(3));
        assert!(futures_util::poll!(&mut third).is_pending());
        gate.add_permits(3);
        first.await.expect("task ran").expect("written");
        second.await.expect("written");
        third.await.expect("written");
    }
}
