//! The delivery queue on Redis streams with one consumer group; retries wait in sorted sets.
//!
//! Work is spread over `partitions` partitions. A task's partition is a stable hash of its endpoint (a
//! delivery) or of its message (a fan-out), so one endpoint's work stays together. Each partition's keys share
//! the hash tag `{<prefix>:q<N>}`, so they live in one cluster slot and one script may touch them all:
//!
//! | key                                  | type       | holds                                                    |
//! |--------------------------------------|------------|----------------------------------------------------------|
//! | `<prefix>:{<prefix>:q<N>}:stream`    | stream     | fresh lane: new tasks, ready and leased; `t` = task JSON |
//! | `<prefix>:{<prefix>:q<N>}:retry`     | stream     | retry lane: promoted and redriven tasks; `t` = task JSON |
//! | `<prefix>:{<prefix>:q<N>}:scheduled` | sorted set | parked tasks; score = due ms, member = `<token>\|<JSON>` |
//! | `<prefix>:{<prefix>:q<N>}:dead`      | stream     | dead letters: `t`, original `id`, `deliveries`, `reason` |
//!
//! The fresh lane keeps the key of the single ready stream of the layout before lanes, so tasks written by an
//! older version are delivered after an upgrade, as fresh work. `receive` leases from both lanes of a
//! partition in one step, each lane reserved half of the batch (`xwebhook_engine::store::LaneShares`).
//!
//! Every ready stream has the consumer group [`GROUP`]. A lease is a pending entry of that group; its receipt
//! names the partition, the lane and the entry id (`layout::receipt`); finishing acknowledges *and deletes*
//! the entry, so a stream holds only unfinished work (which is why a lost group is re-created from id 0: see
//! `groups`).
//!
//! Layout:
//! - `layout`: partitioning, keys, receipts, scheduled-set members.
//! - `scripts`: the Lua scripts, one per atomic step.
//! - `groups`: creating the group, and repairing it after `NOGROUP`.
//! - `blocking`: dedicated connections for blocking reads (the 500 ms reply limit of pooled ones).
//! - `receive`: sweep and blocking read; `finish`: acknowledgement with follow-ups (and its cluster caveat);
//!   `schedule`: enqueue, schedule, promote; `reclaim`: idle leases, and burying poison tasks;
//!   `dead_letters`: listing and redriving them; `depths`: the counts operators read.
//!
//! The `DeliveryQueue` implementation below is the table of contents: each method calls the function of the
//! same name in the file that holds it.

mod blocking;
mod dead_letters;
mod depths;
mod finish;
mod groups;
mod layout;
mod receive;
mod reclaim;
mod schedule;
mod scripts;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use xwebhook_engine::store::{
    DeadLetter, DeliveryQueue, FollowUp, LaneShares, Leased, QueueDepths, Receipt, StoreError,
    StoreErrorKind, StoreResult, Task,
};

use crate::RedisStore;
use crate::config::RedisConfig;
use crate::error::decode_err;
use crate::keys::Keys;
use blocking::Blocking;
use layout::{Lane, MemberTokens, PartitionKeys};
use xwebhook_engine::log_limit::SharedFailureLog;

/// The one consumer group of every partition's stream; consumers are named by the worker.
const GROUP: &str = "workers";

pub struct QueueState {
    partitions: u16,
    /// Indexed by partition.
    parts: Vec<PartitionKeys>,
    cluster: bool,
    blocking: Blocking,
    tokens: MemberTokens,
    /// Where the next sweep starts, so that no partition is always read last.
    cursor: AtomicUsize,
    /// Which lane gets the odd task of the next odd-sized batch; flips each time.
    next_odd_to_fresh: AtomicBool,
    /// Failures to re-create a missing consumer group, summarised while they last.
    repairs: SharedFailureLog,
}

impl QueueState {
    pub fn new(config: &RedisConfig, keys: &Keys) -> StoreResult<Self> {
        if config.partitions == 0 {
            return Err(StoreError::new(
                StoreErrorKind::Internal,
                "the Redis delivery queue needs at least one partition",
            ));
        }
        let cluster_reply_limit = receive::CLUSTER_BLOCK_SLICE + receive::BLOCK_GRACE;
        Ok(Self {
            partitions: config.partitions,
            parts: (0..config.partitions)
                .map(|p| PartitionKeys::new(keys, p))
                .collect(),
            cluster: config.is_cluster(),
            blocking: Blocking::new(config, cluster_reply_limit)?,
            tokens: MemberTokens::new(),
            cursor: AtomicUsize::new(0),
            next_odd_to_fresh: AtomicBool::new(true),
            repairs: SharedFailureLog::new("re-creating the delivery queue's consumer group"),
        })
    }

    fn next_start(&self) -> usize {
        self.cursor.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether the odd task of an odd batch goes to the fresh lane this time; alternates from call to call.
    fn odd_to_fresh(&self) -> bool {
        self.next_odd_to_fresh.fetch_xor(true, Ordering::Relaxed)
    }

    /// Each lane's reserved share of a batch of `max`.
    fn reserved(&self, max: usize) -> LaneShares {
        LaneShares::reserved(max, self.odd_to_fresh())
    }

    fn stream_owner(&self, stream: &str) -> Option<(u16, Lane)> {
        self.parts.iter().enumerate().find_map(|(i, p)| {
            let lane = Lane::BOTH.into_iter().find(|&l| p.stream(l) == stream)?;
            Some((u16::try_from(i).ok()?, lane))
        })
    }
}

fn encode_task(task: &Task) -> StoreResult<String> {
    serde_json::to_string(task)
        .map_err(|e| StoreError::with_source(StoreErrorKind::Internal, "cannot encode a delivery task", e))
}

fn decode_task(raw: &str) -> Result<Task, StoreError> {
    serde_json::from_str(raw).map_err(|e| decode_err("cannot decode a delivery task", e))
}

/// The table of contents: each operation lives in the file named after what it does.
#[async_trait]
impl DeliveryQueue for RedisStore {
    async fn enqueue(&self, tasks: Vec<Task>) -> StoreResult<()> {
        schedule::enqueue(self, &tasks).await
    }

    async fn schedule(&self, tasks: Vec<(Task, DateTime<Utc>)>) -> StoreResult<()> {
        schedule::schedule(self, &tasks).await
    }

    async fn receive(&self, consumer: &str, max: usize, wait: Duration) -> StoreResult<Vec<Leased>> {
        receive::receive(self, consumer, max, wait).await
    }

    async fn finish(&self, receipt: &Receipt, follow_up: FollowUp) -> StoreResult<()> {
        finish::finish(self, receipt, follow_up).await
    }

    async fn reclaim(&self, consumer: &str, min_idle: Duration, max: usize) -> StoreResult<Vec<Leased>> {
        reclaim::reclaim(self, consumer, min_idle, max).await
    }

    async fn promote_due(&self, now: DateTime<Utc>, max: usize) -> StoreResult<usize> {
        schedule::promote_due(self, now, max).await
    }

    async fn depths(&self) -> StoreResult<QueueDepths> {
        depths::depths(self).await
    }

    async fn redrive_dead_letters(&self, max: usize) -> StoreResult<usize> {
        dead_letters::redrive_dead_letters(self, max).await
    }

    async fn dead_letters(&self, max: usize) -> StoreResult<Vec<DeadLetter>> {
        dead_letters::dead_letters(self, max).await
    }
}
