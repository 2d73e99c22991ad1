//! One delivery attempt as typed stages: `prepare` (load and sign) → `send` → `record` (attempt, destination
//! state, and the retry decision).

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::HeaderMap;

use super::http::{OutgoingRequest, SendOutcome, header};
use crate::domain::{Attempt, Destination, Endpoint, Message, MessageStatus, TriggerType};
use crate::id::AttemptId;
use crate::retry::{RetryPolicy, parse_retry_after};
use crate::signing::signature_header;
use crate::store::{AttemptRecord, Task, TaskKind};

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

/// Builds the signed request for `message` to `endpoint`, stamped `now`.
pub fn prepare(
    message: &Message,
    endpoint: &Endpoint,
    now: DateTime<Utc>,
    svix_headers: bool,
) -> OutgoingRequest {
    let timestamp = now.timestamp();
    let body = Bytes::copy_from_slice(message.payload.as_bytes());
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

/// Turns an outcome into the attempt record, the destination's new state and the retry decision.
pub fn record(
    task: &Task,
    message: &Message,
    endpoint: &Endpoint,
    (outcome, elapsed): (SendOutcome, Duration),
    now: DateTime<Utc>,
    policy: &RetryPolicy,
    jitter_draw: f64,
) -> Recorded {
    let TaskKind::Deliver { attempt, trigger, .. } = &task.kind else {
        unreachable!("only deliver tasks are recorded")
    };
    let (code, response, retry_after) = match outcome {
        SendOutcome::Response {
            status,
            body,
            retry_after,
        } => (
            i16::try_from(status).unwrap_or(0),
            body,
            retry_after.and_then(|v| parse_retry_after(&v, now)),
        ),
        SendOutcome::Failed { detail, .. } => (0, detail, None),
    };
    let succeeded = (200..300).contains(&code);
    let failed_attempts = attempt + 1;
    // Manual resends are one-off: they do not restart the schedule.
    let next = match (succeeded, trigger) {
        (false, TriggerType::Scheduled) => policy.next_delay(failed_attempts, retry_after, jitter_draw),
        _ => None,
    };
    let retry = next.map(|delay| {
        let due = now + chrono::Duration::from_std(delay).unwrap_or_default();
        let mut next_task = task.clone();
        next_task.kind = TaskKind::Deliver {
            endpoint_id: endpoint.id.clone(),
            attempt: failed_attempts,
            trigger: TriggerType::Scheduled,
        };
        (next_task, due)
    });
    let status = if succeeded {
        MessageStatus::Success
    } else {
        MessageStatus::Fail
    };
    let destination_status = match (&retry, succeeded) {
        (_, true) => MessageStatus::Success,
        (Some(_), false) => MessageStatus::Sending,
        (None, false) => MessageStatus::Fail,
    };
    let attempt = Attempt {
        id: AttemptId::generate(),
        org_id: message.org_id.clone(),
        app_id: message.app_id.clone(),
        msg_id: message.id.clone(),
        endpoint_id: endpoint.id.clone(),
        url: endpoint.url.as_str().to_owned(),
        status,
        response_status_code: code,
        response,
        response_duration_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
        trigger: *trigger,
        event_type: message.event_type.clone(),
        channels: message.channels.clone(),
        created_at: now,
    };
    let destination = Destination {
        org_id: message.org_id.clone(),
        app_id: message.app_id.clone(),
        msg_id: message.id.clone(),
        endpoint_id: endpoint.id.clone(),
        status: destination_status,
        next_attempt: retry.as_ref().map(|(_, due)| *due),
        attempts: failed_attempts,
        event_type: message.event_type.clone(),
        channels: message.channels.clone(),
        updated_at: now,
    };
    Recorded {
        record: AttemptRecord { attempt, destination },
        retry,
    }
}
