//! The delivery queue port. Its shape is that of Redis streams with a consumer group: tasks are appended,
//! leased in batches to named consumers, acknowledged when done, and reclaimed from consumers that went quiet;
//! delayed tasks wait in a time-ordered set until due.
//!
//! Ready tasks wait in two lanes: *fresh* (new work: `enqueue`, `FollowUp::enqueue`) and *retry* (work that
//! waited for its due time: `promote_due`). `receive` leases from both, reserving each half of a batch (see
//! [`LaneShares`](super::LaneShares)), so that a wave of due retries after an outage never makes first attempts
//! wait behind it. A task's lane is the backend's business: it travels in the receipt, not in the task.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::domain::TriggerType;
use crate::id::{AppId, BackgroundTaskId, EndpointId, MessageId, OrgId};

/// One unit of delivery work. Tasks carry ids only: the payload is stored once, with the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub org_id: OrgId,
    pub app_id: AppId,
    pub msg_id: MessageId,
    pub kind: TaskKind,
    /// The W3C `traceparent` of the span that queued this work, so that its spans join that trace. Absent when
    /// traces are not exported, and in tasks queued before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Task {
    /// The fan-out of a message: find its endpoints and queue one delivery each. `traceparent` is the trace the
    /// fan-out joins (see the field).
    pub fn fan_out(org_id: OrgId, app_id: AppId, msg_id: MessageId, traceparent: Option<String>) -> Self {
        Self {
            org_id,
            app_id,
            msg_id,
            kind: TaskKind::FanOut,
            traceparent,
        }
    }

    /// One delivery of a message to one endpoint, as `deliver` says (a first try: [`DeliverTask::first`]).
    pub fn deliver(
        org_id: OrgId,
        app_id: AppId,
        msg_id: MessageId,
        deliver: DeliverTask,
        traceparent: Option<String>,
    ) -> Self {
        Self {
            org_id,
            app_id,
            msg_id,
            kind: TaskKind::Deliver(deliver),
            traceparent,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// Find the message's endpoints and create one `Deliver` task each.
    FanOut,
    /// Send the message to one endpoint. A newtype variant serializes as the struct variant it replaced did
    /// (`{"Deliver":{"endpoint_id":…,"attempt":…,"trigger":…}}`), so tasks queued before it still decode.
    Deliver(DeliverTask),
}

/// What a delivery task asks for: which endpoint, which try, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverTask {
    pub endpoint_id: EndpointId,
    /// How many earlier scheduled attempts of this destination there were.
    pub attempt: u16,
    pub trigger: TriggerType,
    /// The background task that queued this delivery (a replay): the worker sends a message at most once per
    /// replay, even when the task queued it twice (it resumed after a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<BackgroundTaskId>,
}

impl DeliverTask {
    /// The first try of a delivery: by the schedule (`Scheduled`, with retries) or on request (`Manual`, once).
    pub fn first(endpoint_id: EndpointId, trigger: TriggerType) -> Self {
        Self {
            endpoint_id,
            attempt: 0,
            trigger,
            replay: None,
        }
    }

    /// The first try of a delivery that background task `task` queues: a replay's one manual try, or a
    /// recovery's scheduled one (with retries, which are ordinary).
    pub fn replay(endpoint_id: EndpointId, task: BackgroundTaskId, trigger: TriggerType) -> Self {
        Self {
            replay: Some(task),
            ..Self::first(endpoint_id, trigger)
        }
    }

    /// The next scheduled try, after `tried` tries in all. A retry is always scheduled, even after a manual
    /// first try.
    pub fn retry(&self, tried: u16) -> Self {
        Self {
            endpoint_id: self.endpoint_id.clone(),
            attempt: tried,
            trigger: TriggerType::Scheduled,
            replay: None,
        }
    }
}

/// Opaque proof of a lease, handed back to acknowledge (a stream entry id in Redis).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Receipt(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    pub receipt: Receipt,
    pub task: Task,
    /// How many times this task has been leased, this time included; a high count marks a poison task.
    pub deliveries: u32,
}

/// What replaces a finished task, committed atomically with its acknowledgement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUp {
    /// Ready at once, in the fresh lane (a fan-out's deliveries).
    pub enqueue: Vec<Task>,
    /// Ready at their due time (retries).
    pub schedule: Vec<(Task, DateTime<Utc>)>,
}

impl FollowUp {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn retry_at(task: Task, due: DateTime<Utc>) -> Self {
        Self {
            enqueue: Vec::new(),
            schedule: vec![(task, due)],
        }
    }
}

/// How much work the queue holds, for operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepths {
    /// Ready and not leased, both lanes together.
    pub ready: u64,
    /// Leased and not finished.
    pub in_flight: u64,
    /// Waiting for their due time (retries).
    pub scheduled: u64,
    /// Given up on after too many leases; see `redrive_dead_letters`.
    pub dead_letter: u64,
}

/// A task given up on, as an operator sees it before redriving it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// Where it lies among the dead letters (`<partition>:<entry id>` in Redis).
    pub id: String,
    /// `None` when the stored task could not be decoded (the reason says so).
    pub task: Option<Task>,
    /// How many times it was leased before it was given up on (0 when unknown).
    pub deliveries: u32,
    /// Why it was given up on; empty when it was simply leased too often.
    pub reason: String,
}

#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Appends tasks to the fresh lane, ready at once. They are durable when this returns.
    async fn enqueue(&self, tasks: Vec<Task>) -> StoreResult<()>;

    /// Parks tasks until their due time. Durable when this returns.
    async fn schedule(&self, tasks: Vec<(Task, DateTime<Utc>)>) -> StoreResult<()>;

    /// Leases up to `max` ready tasks to `consumer`, waiting up to `wait` for one when none is ready. A leased
    /// task is given to no other consumer until acknowledged, or until reclaimed after its lease went idle.
    /// When both lanes hold ready work, each gets at least half of the batch (the odd task of an odd `max`
    /// alternating between them), and what one lane leaves unused goes to the other; within a lane, oldest
    /// first.
    async fn receive(&self, consumer: &str, max: usize, wait: Duration) -> StoreResult<Vec<Leased>>;

    /// Acknowledges a lease and, in the same atomic step, adds its follow-up work: either the task is done and
    /// its follow-up exists, or neither. Acknowledging an unknown or already-acknowledged receipt adds nothing
    /// and is not an error (the lease was reclaimed by another consumer, which now owns the follow-up).
    async fn finish(&self, receipt: &Receipt, follow_up: FollowUp) -> StoreResult<()>;

    /// Takes over up to `max` tasks leased longer than `min_idle` ago (their consumer is presumed dead) and
    /// leases them to `consumer`. `min_idle` must exceed the longest time a live consumer holds a task.
    async fn reclaim(&self, consumer: &str, min_idle: Duration, max: usize) -> StoreResult<Vec<Leased>>;

    /// Moves up to `max` scheduled tasks due at or before `now` to the retry lane, each exactly once even when
    /// several processes call this at the same time. Returns how many moved.
    async fn promote_due(&self, now: DateTime<Utc>, max: usize) -> StoreResult<usize>;

    /// The current depths of the queue (a snapshot: counts may move while they are read).
    async fn depths(&self) -> StoreResult<QueueDepths>;

    /// Moves up to `max` dead-lettered tasks (leased too often without finishing) back to the retry lane (they
    /// are old work, which must not crowd out new) with a fresh delivery count, and returns how many moved. A
    /// backend that never dead-letters moves none.
    async fn redrive_dead_letters(&self, max: usize) -> StoreResult<usize> {
        let _ = max;
        Ok(0)
    }

    /// Up to `max` dead-lettered tasks, oldest first, without moving them. A backend that never dead-letters
    /// lists none.
    async fn dead_letters(&self, max: usize) -> StoreResult<Vec<DeadLetter>> {
        let _ = max;
        Ok(Vec::new())
    }

    /// Answers `Ok` when the queue is reachable, for health checks. Reading the depths touches every part of
    /// the queue without changing it; a backend may offer something cheaper.
    async fn probe(&self) -> StoreResult<()> {
        self.depths().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_without_a_trace_read_and_write_as_before() {
        let task = Task::fan_out(OrgId::generate(), AppId::generate(), MessageId::generate(), None);
        let json = serde_json::to_string(&task).expect("encode");
        assert!(!json.contains("traceparent"), "{json}");
        assert_eq!(serde_json::from_str::<Task>(&json).expect("decode"), task);
        let traced = Task {
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            ..task
        };
        let json = serde_json::to_string(&traced).expect("encode");
        assert_eq!(serde_json::from_str::<Task>(&json).expect("decode"), traced);
    }

    /// Tasks queued before `DeliverTask` existed (a struct variant then) are still in Redis and embedded queues.
    #[test]
    fn delivery_tasks_read_and_write_as_before() {
        let queued = r#"{"org_id":"org_23rb8YdGqMT0qIzpgGwdXfHirMu","app_id":"app_01HZX3K5Q8V7M2N4P6R8T0W2Y4","msg_id":"msg_01HZX3K5Q8V7M2N4P6R8T0W2Y5","kind":{"Deliver":{"endpoint_id":"ep_01HZX3K5Q8V7M2N4P6R8T0W2Y6","attempt":3,"trigger":"Scheduled"}}}"#;
        let task: Task = serde_json::from_str(queued).expect("decode");
        let TaskKind::Deliver(deliver) = &task.kind else {
            panic!("decoded {task:?}");
        };
        assert_eq!(deliver.endpoint_id.as_str(), "ep_01HZX3K5Q8V7M2N4P6R8T0W2Y6");
        assert_eq!((deliver.attempt, deliver.trigger), (3, TriggerType::Scheduled));
        assert_eq!(serde_json::to_string(&task).expect("encode"), queued);
    }
}
