//! Where a message goes: to every enabled endpoint of its application that subscribes to its event type and
//! channels, each with a pending destination (what listings show until the first attempt) and a first delivery
//! task. The intake plans it at ingest, so that one write stores the message with its destinations; the worker's
//! fan-out task plans it for messages with more endpoints than one request should write (see
//! [`crate::intake`]).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::domain::{Channel, Destination, Endpoint, EventTypeName, Message, Sink, TriggerType};
use crate::id::SinkId;
use crate::store::{DeliverTask, Task};

/// The endpoints among `endpoints` that a message of `event_type` on `channels` goes to: the enabled ones that
/// subscribe to it.
pub fn targets<'a>(
    endpoints: &'a [Endpoint],
    event_type: &EventTypeName,
    channels: Option<&BTreeSet<Channel>>,
) -> impl Iterator<Item = &'a Endpoint> {
    endpoints
        .iter()
        .filter(move |e| !e.disabled && e.subscribes_to(event_type, channels))
}

/// The sinks among `sinks` whose logs a message goes to: those that subscribe to it, as endpoints do, disabled
/// ones too (the SDK: a disabled destination's events are not dispatched *until* it is enabled again).
pub fn sink_targets(sinks: &[Sink], message: &Message) -> Vec<SinkId> {
    sinks
        .iter()
        .filter(|s| s.subscribes_to(&message.event_type, message.channels.as_ref()))
        .map(|s| s.id.clone())
        .collect()
}

/// A message's first work: the tasks to queue, the destinations to store with the message, and the endpoints
/// its first deliveries go to (a plan has one of each per target endpoint, in the same order); and the sinks
/// whose logs it joins.
#[derive(Debug, Default)]
pub struct FanOut {
    pub destinations: Vec<Destination>,
    pub tasks: Vec<Task>,
    /// The target endpoints, as read when planned; their first deliveries in this process use them.
    pub endpoints: Vec<Endpoint>,
    pub sinks: Vec<SinkId>,
}

impl FanOut {
    /// Plans `message`'s first deliveries to its subscribed endpoints among `endpoints`, pending since `now`.
    /// `traceparent` is the trace the deliveries join.
    pub fn plan(
        message: &Message,
        endpoints: &[Endpoint],
        now: DateTime<Utc>,
        traceparent: Option<String>,
    ) -> Self {
        let mut plan = Self::default();
        for endpoint in targets(endpoints, &message.event_type, message.channels.as_ref()) {
            plan.endpoints.push(endpoint.clone());
            plan.destinations
                .push(Destination::pending(message, endpoint, now));
            let deliver = DeliverTask::first(endpoint.id.clone(), TriggerType::Scheduled);
            let (org, app, msg) = (message.org_id.clone(), message.app_id.clone(), message.id.clone());
            plan.tasks
                .push(Task::deliver(org, app, msg, deliver, traceparent.clone()));
        }
        plan
    }

    /// First work that is one task (a fan-out task, an example's delivery), with the endpoints it goes to
    /// where known.
    pub fn task(task: Task, endpoints: Vec<Endpoint>) -> Self {
        Self {
            destinations: Vec::new(),
            tasks: vec![task],
            endpoints,
            sinks: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{AppId, OrgId};
    use crate::store::TaskKind;
    use crate::testsuite::fixtures::{self, name};

    #[test]
    fn plans_one_destination_and_task_per_subscribed_enabled_endpoint() {
        let (org, app) = (OrgId::generate(), AppId::generate());
        let message = fixtures::message(&org, &app, "invoice.paid", None, &[]);
        let all = fixtures::endpoint(&org, &app, None);
        let mut other_type = fixtures::endpoint(&org, &app, None);
        other_type.event_types = Some([name("user.created")].into());
        let mut disabled = fixtures::endpoint(&org, &app, None);
        disabled.disabled = true;
        let now = message.created_at;

        let plan = FanOut::plan(&message, &[all.clone(), other_type, disabled], now, None);

        assert_eq!(plan.len(), 1);
        let (d, t) = (&plan.destinations[0], &plan.tasks[0]);
        assert_eq!(
            (&d.msg_id, &d.endpoint_id, d.next_attempt),
            (&message.id, &all.id, Some(now))
        );
        let TaskKind::Deliver(deliver) = &t.kind else {
            panic!("a delivery task, got {t:?}");
        };
        assert_eq!(
            deliver,
            &DeliverTask::first(all.id.clone(), TriggerType::Scheduled)
        );
        assert_eq!(&t.msg_id, &message.id);
    }

    #[test]
    fn a_message_joins_the_logs_of_the_sinks_that_subscribe_disabled_ones_too() {
        let (org, app) = (OrgId::generate(), AppId::generate());
        let message = fixtures::message(&org, &app, "invoice.paid", None, &["eu"]);
        let all = fixtures::sink(&org, &app);
        let mut disabled = fixtures::sink(&org, &app);
        disabled.disabled = true;
        let mut other_type = fixtures::sink(&org, &app);
        other_type.event_types = Some([name("user.created")].into());
        let mut other_channel = fixtures::sink(&org, &app);
        other_channel.channels = fixtures::channels(&["us"]);

        let targets = sink_targets(
            &[all.clone(), disabled.clone(), other_type, other_channel],
            &message,
        );

        assert_eq!(targets, vec![all.id, disabled.id]);
    }
}
