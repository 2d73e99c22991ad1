//! One delivery attempt as typed stages of one [`Delivery`]: `prepare` (sign) → `send` ([`Sent`]) → `record`
//! (attempt, destination state, and the retry decision).

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderMap;

use super::http::{OutgoingRequest, SendOutcome, Sent, header};
use crate::domain::{Attempt, Destination, Endpoint, Message, MessageStatus, TriggerType};
use crate::id::{AttemptId, EndpointId};
use crate::retry::{RetryPolicy, parse_retry_after};
use crate::signing::signature_header;
use crate::store::{AttemptRecord, DeliverTask, Task};

pub const USER_AGENT: &str = concat!("Xwebhook/", env!("CARGO_PKG_VERSION"));

/// Headers that deliveries set themselves; an endpoint's custom headers may not replace them.
pub const RESERVED_HEADERS: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "connection",
    "transfer-encoding",
];

/// One delivery of a message to one endpoint, as its leased task asks: read from the task once, when the worker
/// leases it, and carried through every stage after.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The leased task, whole: what a deferred delivery queues again.
    pub task: &'a Task,
    /// The task's own deliver fields.
    pub deliver: &'a DeliverTask,
}

impl Delivery<'_> {
    pub fn endpoint_id(&self) -> &EndpointId {
        &self.deliver.endpoint_id
    }

    /// A resend or an example: sent even to a disabled endpoint, and never retried.
    pub fn is_manual(&self) -> bool {
        self.deliver.trigger == TriggerType::Manual
    }

    /// The first try of a delivery (scheduled or manual), which its intake may queue before the message is
    /// stored.
    pub fn is_first(&self) -> bool {
        self.deliver.attempt == 0
    }

    /// The task of the next scheduled try, after `tried` tries in all.
    fn retry(&self, tried: u16) -> Task {
        Task::deliver(
            self.task.org_id.clone(),
            self.task.app_id.clone(),
            self.task.msg_id.clone(),
            self.deliver.retry(tried),
            self.task.traceparent.clone(),
        )
    }
}

/// Builds the signed request for `message` to `endpoint`, stamped `now`.
pub fn prepare(
    message: &Message,
    endpoint: &Endpoint,
    now: DateTime<Utc>,
    svix_headers: bool,
) -> OutgoingRequest {
    let timestamp = now.timestamp();
    let body = message.payload.to_bytes();
    let signature = signature_header(
        endpoint.secrets.signing_at(now),
        message.id.as_str(),
        timestamp,
        &body,
    );
    let ts = timestamp.to_string();
    let mut headers = HeaderMap::with_capacity(8 + endpoint.headers.len());
    // Custom headers first, so the protocol headers below always win.
    for (name, value) in &endpoint.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::try_from(name.as_str()),
            http::HeaderValue::try_from(value),
        ) {
            headers.insert(n, v);
        }
    }
    let mut protocol = vec![
        header("webhook-id", message.id.as_str()),
        header("webhook-timestamp", &ts),
        header("webhook-signature", &signature),
        header("content-type", "application/json"),
        header("user-agent", USER_AGENT),
    ];
    if svix_headers {
        protocol.push(header("svix-id", message.id.as_str()));
        protocol.push(header("svix-timestamp", &ts));
        protocol.push(header("svix-signature", &signature));
    }
    for (name, value) in protocol.into_iter().flatten() {
        headers.insert(name, value);
    }
    OutgoingRequest {
        url: endpoint.url.as_url().clone(),
        headers,
        body,
    }
}

/// What an attempt leaves behind: the record to store and the follow-up task, if any.
#[derive(Debug)]
pub struct Recorded {
    pub record: AttemptRecord,
    pub retry: Option<(Task, DateTime<Utc>)>,
}

impl Recorded {
    /// Ends the delivery with this attempt, whatever the schedule says (its endpoint was just disabled): no
    /// retry, and a failed destination, which `recover` can send again once the endpoint is fixed.
    pub fn end_here(&mut self) {
        if self.retry.take().is_some() {
            self.record.destination.status = MessageStatus::Fail;
            self.record.destination.next_attempt = None;
        }
    }
}

/// Turns what was sent into the attempt record, the destination's new state and the retry decision.
pub fn record(
    delivery: Delivery<'_>,
    message: &Message,
    endpoint: &Endpoint,
    sent: Sent,
    now: DateTime<Utc>,
    policy: &RetryPolicy,
    jitter_draw: f64,
) -> Recorded {
    let DeliverTask { attempt, trigger, .. } = *delivery.deliver;
    let answer = Answer::from_outcome(sent.outcome, now);
    let tried = attempt + 1;
    // Manual resends are one-off: they do not restart the schedule.
    let retry = match (answer.succeeded(), trigger) {
        (false, TriggerType::Scheduled) => policy.next_delay(tried, answer.retry_after, jitter_draw),
        _ => None,
    }
    .map(|delay| {
        (
            delivery.retry(tried),
            now + chrono::Duration::from_std(delay).unwrap_or_default(),
        )
    });
    let status = match (answer.succeeded(), &retry) {
        (true, _) => MessageStatus::Success,
        (false, Some(_)) => MessageStatus::Sending,
        (false, None) => MessageStatus::Fail,
    };
    let next_attempt = retry.as_ref().map(|(_, due)| *due);
    let destination = destination_row(message, endpoint, status, next_attempt, tried, now);
    let attempt = attempt_row(message, endpoint, answer, sent.elapsed, trigger, now);
    Recorded {
        record: AttemptRecord { attempt, destination },
        retry,
    }
}

/// What the receiver said, reduced to what the attempt log keeps.
struct Answer {
    /// 0 when there was no HTTP response.
    code: i16,
    response: String,
    retry_after: Option<Duration>,
}

impl Answer {
    fn from_outcome(outcome: SendOutcome, now: DateTime<Utc>) -> Self {
        match outcome {
            SendOutcome::Response {
                status,
                body,
                retry_after,
            } => Self {
                code: i16::try_from(status).unwrap_or(0),
                response: body,
                retry_after: retry_after.and_then(|v| parse_retry_after(&v, now)),
            },
            SendOutcome::Failed { detail, .. } => Self {
                code: 0,
                response: detail,
                retry_after: None,
            },
        }
    }

    fn succeeded(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

fn attempt_row(
    message: &Message,
    endpoint: &Endpoint,
    answer: Answer,
    elapsed: Duration,
    trigger: TriggerType,
    now: DateTime<Utc>,
) -> Attempt {
    Attempt {
        id: AttemptId::generate(),
        org_id: message.org_id.clone(),
        app_id: message.app_id.clone(),
        msg_id: message.id.clone(),
        endpoint_id: endpoint.id.clone(),
        url: endpoint.url.as_str().to_owned(),
        status: if answer.succeeded() {
            MessageStatus::Success
        } else {
            MessageStatus::Fail
        },
        response_status_code: answer.code,
        response: answer.response,
        response_duration_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
        trigger,
        event_type: message.event_type.clone(),
        channels: message.channels.clone(),
        tags: message.tags.clone(),
        created_at: now,
    }
}

fn destination_row(
    message: &Message,
    endpoint: &Endpoint,
    status: MessageStatus,
    next_attempt: Option<DateTime<Utc>>,
    tried: u16,
    now: DateTime<Utc>,
) -> Destination {
    Destination {
        org_id: message.org_id.clone(),
        app_id: message.app_id.clone(),
        msg_id: message.id.clone(),
        endpoint_id: endpoint.id.clone(),
        status,
        next_attempt,
        attempts: tried,
        event_type: message.event_type.clone(),
        channels: message.channels.clone(),
        tags: message.tags.clone(),
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;

    use super::*;
    use crate::delivery::http::FailureKind;
    use crate::domain::{EndpointSecret, EndpointUrl, Metadata, Payload, SecretSet};
    use crate::id::{AppId, EndpointId, MessageId, OrgId};
    use crate::store::TaskKind;

    fn fixture() -> (Message, Endpoint) {
        let now = Utc::now();
        let (org, app) = (OrgId::generate(), AppId::generate());
        let raw = serde_json::value::RawValue::from_string(r#"{"a":1}"#.into()).expect("valid json");
        let message = Message {
            id: MessageId::generate(),
            org_id: org.clone(),
            app_id: app.clone(),
            event_type: "a.b".parse().expect("valid name"),
            event_id: None,
            channels: None,
            payload: Payload::from_raw(raw).expect("object"),
            retention_days: 90,
            retention_hours: None,
            created_at: now,
            deliver_at: None,
            tags: Vec::new(),
        };
        let endpoint = Endpoint {
            id: EndpointId::generate(),
            org_id: org,
            app_id: app,
            uid: None,
            url: EndpointUrl::try_from("https://example.com/hook".to_owned()).expect("valid url"),
            description: String::new(),
            disabled: false,
            event_types: None,
            channels: None,
            rate_limit: None,
            metadata: Metadata::new(),
            secrets: SecretSet::new(EndpointSecret::generate()),
            headers: BTreeMap::from([
                ("x-custom".to_owned(), "1".to_owned()),
                ("user-agent".to_owned(), "evil".to_owned()),
            ]),
            created_at: now,
            updated_at: now,
        };
        (message, endpoint)
    }

    fn task(m: &Message, e: &Endpoint, attempt: u16, trigger: TriggerType) -> Task {
        let deliver = DeliverTask {
            endpoint_id: e.id.clone(),
            attempt,
            trigger,
            replay: None,
        };
        Task::deliver(m.org_id.clone(), m.app_id.clone(), m.id.clone(), deliver, None)
    }

    fn response(status: u16, retry_after: Option<&str>) -> SendOutcome {
        SendOutcome::Response {
            status,
            body: "ok".into(),
            retry_after: retry_after.map(str::to_owned),
        }
    }

    #[test]
    fn outcomes_become_statuses_and_retry_times() {
        let (m, e) = fixture();
        let now = Utc::now();
        let policy = RetryPolicy {
            schedule: vec![Duration::from_secs(5), Duration::from_secs(300)],
        };
        let timeout = SendOutcome::Failed {
            kind: FailureKind::Timeout,
            detail: "no response".into(),
        };
        // (outcome, earlier attempts, trigger, destination status, retry delay in seconds)
        let cases = [
            (
                response(200, None),
                0,
                TriggerType::Scheduled,
                MessageStatus::Success,
                None,
            ),
            (
                response(204, None),
                1,
                TriggerType::Scheduled,
                MessageStatus::Success,
                None,
            ),
            (
                response(500, None),
                0,
                TriggerType::Scheduled,
                MessageStatus::Sending,
                Some(5),
            ),
            (
                response(302, None),
                1,
                TriggerType::Scheduled,
                MessageStatus::Sending,
                Some(300),
            ),
            (
                timeout,
                0,
                TriggerType::Scheduled,
                MessageStatus::Sending,
                Some(5),
            ),
            (
                response(429, Some("60")),
                0,
                TriggerType::Scheduled,
                MessageStatus::Sending,
                Some(60),
            ),
            (
                response(500, None),
                2,
                TriggerType::Scheduled,
                MessageStatus::Fail,
                None,
            ),
            (
                response(500, None),
                0,
                TriggerType::Manual,
                MessageStatus::Fail,
                None,
            ),
        ];
        for (i, (outcome, earlier, trigger, status, delay)) in cases.into_iter().enumerate() {
            let t = task(&m, &e, earlier, trigger);
            let TaskKind::Deliver(deliver) = &t.kind else {
                panic!("built a fan-out: {t:?}");
            };
            let delivery = Delivery { task: &t, deliver };
            let sent = Sent {
                outcome,
                elapsed: Duration::from_millis(12),
            };
            let r = record(delivery, &m, &e, sent, now, &policy, 0.5);
            assert_eq!(r.record.destination.status, status, "case {i}");
            assert_eq!(r.record.destination.attempts, earlier + 1, "case {i}");
            assert_eq!(r.record.attempt.response_duration_ms, 12, "case {i}");
            let due = r.retry.as_ref().map(|(_, due)| (*due - now).num_seconds());
            assert_eq!(due, delay, "case {i}");
            assert_eq!(
                r.record.destination.next_attempt,
                r.retry.as_ref().map(|(_, due)| *due),
                "case {i}"
            );
            if let Some((next, _)) = &r.retry {
                assert!(
                    matches!(&next.kind, TaskKind::Deliver(d) if d.attempt == earlier + 1 && d.trigger == TriggerType::Scheduled),
                    "case {i}"
                );
            }
        }
    }

    #[test]
    fn prepared_request_is_signed_and_protocol_headers_win() {
        let (m, e) = fixture();
        let now = Utc::now();
        let req = prepare(&m, &e, now, true);
        let h = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(h("webhook-id"), m.id.as_str());
        assert_eq!(h("webhook-timestamp"), now.timestamp().to_string());
        let expected = crate::signing::sign(
            e.current_secret(),
            m.id.as_str(),
            now.timestamp(),
            m.payload.as_bytes(),
        );
        assert_eq!(h("webhook-signature"), expected);
        assert_eq!(h("svix-signature"), expected);
        assert_eq!(
            h("user-agent"),
            USER_AGENT,
            "a custom header cannot replace a protocol one"
        );
        assert_eq!(h("x-custom"), "1");
        assert_eq!(&req.body[..], m.payload.as_bytes());
    }
}
