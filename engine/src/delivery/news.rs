//! What a recorded attempt means for operational webhooks: the decision is pure (the attempt's place in its
//! schedule and its outcome), the reference is built from what the record stage produced.
//!
//! The rules are Svix's (svix-server `worker.rs`): a delivery is *failing* when its fourth scheduled attempt
//! fails and retries go on, *exhausted* when a scheduled attempt fails with no retry left, and *recovered* when
//! a scheduled attempt succeeds after four or more failed ones (so after `failing` was reported). Manual
//! resends report nothing: they stand outside the schedule (Svix sends them with an attempt count of 0 and
//! returns early when they fail), and `recover` restarts the schedule from its first attempt.

use crate::domain::{Message, MessageStatus, TriggerType};
use crate::operational::{DeliveryRef, LastAttempt, OperationalEvent};
use crate::store::AttemptRecord;

/// The failed scheduled attempts after which a delivery is reported failing (the fourth attempt is index 3).
pub const FAILING_AFTER: u16 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNews {
    Failing,
    Exhausted,
    Recovered,
}

/// The news of an attempt that had `earlier` scheduled attempts before it, given its outcome and whether a
/// retry follows.
pub fn delivery_news(
    trigger: TriggerType,
    earlier: u16,
    succeeded: bool,
    retrying: bool,
) -> Option<DeliveryNews> {
    if trigger == TriggerType::Manual {
        return None;
    }
    match (succeeded, retrying) {
        (true, _) => (earlier >= FAILING_AFTER).then_some(DeliveryNews::Recovered),
        (false, true) => (earlier + 1 == FAILING_AFTER).then_some(DeliveryNews::Failing),
        (false, false) => Some(DeliveryNews::Exhausted),
    }
}

/// The news of a recorded attempt, as the event to report.
pub fn news_event(
    trigger: TriggerType,
    earlier: u16,
    message: &Message,
    record: &AttemptRecord,
) -> Option<OperationalEvent> {
    let succeeded = record.attempt.status == MessageStatus::Success;
    let retrying = record.destination.next_attempt.is_some();
    let news = delivery_news(trigger, earlier, succeeded, retrying)?;
    let delivery = delivery_ref(message, record);
    Some(match news {
        DeliveryNews::Failing => OperationalEvent::AttemptFailing(delivery),
        DeliveryNews::Exhausted => OperationalEvent::AttemptExhausted(delivery),
        DeliveryNews::Recovered => OperationalEvent::AttemptRecovered(delivery),
    })
}

fn delivery_ref(message: &Message, record: &AttemptRecord) -> DeliveryRef {
    let a = &record.attempt;
    DeliveryRef {
        org_id: a.org_id.clone(),
        app_id: a.app_id.clone(),
        msg_id: a.msg_id.clone(),
        msg_event_id: message.event_id.clone(),
        endpoint_id: a.endpoint_id.clone(),
        last_attempt: LastAttempt {
            id: a.id.clone(),
            response_status_code: a.response_status_code,
            timestamp: a.created_at,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryNews::{Exhausted, Failing, Recovered};
    use TriggerType::{Manual, Scheduled};

    #[test]
    fn news_follows_the_attempts_place_in_the_schedule() {
        // (trigger, earlier scheduled attempts, succeeded, a retry follows, news)
        let cases = [
            (Scheduled, 0, true, false, None),
            (Scheduled, 3, true, false, None),
            (Scheduled, 4, true, false, Some(Recovered)),
            (Scheduled, 6, true, false, Some(Recovered)),
            (Scheduled, 0, false, true, None),
            (Scheduled, 2, false, true, None),
            (Scheduled, 3, false, true, Some(Failing)),
            (Scheduled, 4, false, true, None),
            // The fourth attempt is the last: exhausted, not failing.
            (Scheduled, 3, false, false, Some(Exhausted)),
            (Scheduled, 0, false, false, Some(Exhausted)),
            (Scheduled, 7, false, false, Some(Exhausted)),
            (Manual, 0, false, false, None),
            (Manual, 0, true, false, None),
            (Manual, 5, true, false, None),
        ];
        for (i, (trigger, earlier, ok, retrying, news)) in cases.into_iter().enumerate() {
            assert_eq!(delivery_news(trigger, earlier, ok, retrying), news, "case {i}");
        }
    }
}
