//! Retention: payload expiry by each message's own period, and pruning of old messages, across tenants.

use chrono::{DateTime, Duration, Utc};

use super::fixtures::*;
use crate::domain::{Message, MessageStatus};
use crate::id::{AppId, EndpointId, MessageId, OrgId};
use crate::store::{AttemptFilter, AttemptRecord, ListQuery, MessageFilter, Order, PruneCounts, Stores};

/// A message created `age` ago that keeps its payload `retention_days`.
async fn old_message(s: &Stores, org: &OrgId, app: &AppId, age: Duration, retention_days: u16) -> Message {
    let m = Message {
        retention_days,
        ..message(org, app, "a.b", None, &[])
    };
    store_created_ago(s, age, m).await
}

/// A message created `age` ago that keeps its payload `hours` (the default days say longer).
async fn old_message_in_hours(s: &Stores, org: &OrgId, app: &AppId, age: Duration, hours: u16) -> Message {
    let m = Message {
        retention_hours: Some(hours),
        ..message(org, app, "a.b", None, &[])
    };
    store_created_ago(s, age, m).await
}

/// Stores `m` as if created `age` ago.
async fn store_created_ago(s: &Stores, age: Duration, mut m: Message) -> Message {
    m.id = MessageId::generate_at(Utc::now() - age);
    m.created_at = m.id.timestamp();
    s.messages.create_message(&m, &[]).await.expect("create message");
    m
}

/// One attempt and its destination for `m`.
async fn deliver(s: &Stores, m: &Message, ep: &EndpointId) {
    let record = AttemptRecord {
        attempt: attempt(m, ep, MessageStatus::Fail, 500),
        destination: destination(m, ep, MessageStatus::Pending),
    };
    s.attempts
        .record_attempts(&[record])
        .await
        .expect("record attempt");
}

async fn payload(s: &Stores, m: &Message) -> Option<String> {
    let found = s
        .messages
        .get_message(&m.org_id, &m.app_id, &m.id)
        .await
        .expect("get message");
    found.map(|m| m.payload.as_str().to_owned())
}

const KEPT: &str = r#"{"k":1}"#;

pub async fn retention_expires_each_message_by_its_own_period(s: Stores) {
    let (org1, org2) = (OrgId::generate(), OrgId::generate());
    let (app1, app2) = (AppId::generate(), AppId::generate());
    let ep = EndpointId::generate();
    let due = old_message(&s, &org1, &app1, Duration::days(3), 1).await;
    deliver(&s, &due, &ep).await;
    let kept = old_message(&s, &org1, &app1, Duration::days(3), 5).await;
    let other_tenant = old_message(&s, &org2, &app2, Duration::days(10), 7).await;
    let fresh = old_message(&s, &org2, &app2, Duration::zero(), 1).await;
    let forgotten = old_message(&s, &org1, &app1, Duration::days(3), 1).await;
    let hours_due = old_message_in_hours(&s, &org2, &app2, Duration::hours(3), 2).await;
    let hours_kept = old_message_in_hours(&s, &org2, &app2, Duration::hours(3), 4).await;
    s.messages
        .expunge_message_content(&org1, &app1, &forgotten.id)
        .await
        .expect("expunge");

    let now = Utc::now();
    let expunged = s.retention.expire_payloads(now, 100).await.expect("expire");
    assert_eq!(
        expunged, 3,
        "a payload the sender expunged already is not counted"
    );
    assert_eq!(
        payload(&s, &hours_due).await.as_deref(),
        Some("{}"),
        "kept for hours"
    );
    assert_eq!(
        payload(&s, &hours_kept).await.as_deref(),
        Some(KEPT),
        "hours not over yet"
    );
    assert_eq!(payload(&s, &due).await.as_deref(), Some("{}"), "expunged");
    assert_eq!(
        payload(&s, &other_tenant).await.as_deref(),
        Some("{}"),
        "every tenant"
    );
    assert_eq!(
        payload(&s, &kept).await.as_deref(),
        Some(KEPT),
        "its own period is longer"
    );
    assert_eq!(payload(&s, &fresh).await.as_deref(), Some(KEPT), "not due yet");

    // The message and its attempts stay listed, as after an expunge.
    let q = ListQuery::first(10, Order::Ascending);
    let listed = s
        .messages
        .list_messages(&org1, &app1, &MessageFilter::default(), &q)
        .await
        .expect("list");
    assert_eq!(listed.len(), 3);
    let attempts = s
        .attempts
        .list_attempts_by_message(&org1, &app1, &due.id, &AttemptFilter::default(), &q)
        .await
        .expect("attempts");
    assert_eq!(attempts.len(), 1, "attempts are kept");

    assert_eq!(
        s.retention.expire_payloads(now, 100).await.expect("again"),
        0,
        "idempotent"
    );
    let later = fresh.created_at + Duration::days(1);
    assert_eq!(
        s.retention.expire_payloads(later, 100).await.expect("later"),
        2,
        "due at their ends: a day's and four hours'"
    );
    assert_eq!(payload(&s, &hours_kept).await.as_deref(), Some("{}"));
}

pub async fn retention_expiry_batches_respect_limit(s: Stores) {
    let apps = [
        (OrgId::generate(), AppId::generate()),
        (OrgId::generate(), AppId::generate()),
    ];
    let mut due = Vec::new();
    for i in 0..5 {
        let (org, app) = &apps[i % 2];
        due.push(old_message(&s, org, app, Duration::days(2), 1).await);
    }
    let now = Utc::now();
    let mut counts = Vec::new();
    for _ in 0..4 {
        counts.push(s.retention.expire_payloads(now, 2).await.expect("expire"));
    }
    assert_eq!(counts, vec![2, 2, 1, 0]);
    for m in &due {
        assert_eq!(payload(&s, m).await.as_deref(), Some("{}"));
    }
}

/// Whether anything of `m` is left: the message, its attempt listings, its destinations.
async fn traces(s: &Stores, m: &Message, ep: &EndpointId) -> (bool, usize, usize, bool) {
    let (org, app) = (&m.org_id, &m.app_id);
    let q = ListQuery::first(50, Order::Ascending);
    let by_msg = s
        .attempts
        .list_attempts_by_message(org, app, &m.id, &AttemptFilter::default(), &q)
        .await
        .expect("attempts by message");
    let by_ep = s
        .attempts
        .list_attempts_by_endpoint(org, app, ep, &AttemptFilter::default(), &q)
        .await
        .expect("attempts by endpoint");
    let dest = s
        .attempts
        .get_destination(org, app, &m.id, ep)
        .await
        .expect("destination");
    let by_ep = by_ep.iter().filter(|a| a.msg_id == m.id).count();
    (payload(s, m).await.is_some(), by_msg.len(), by_ep, dest.is_some())
}

pub async fn prune_removes_old_messages_in_every_tenant(s: Stores) {
    let (org1, org2) = (OrgId::generate(), OrgId::generate());
    let (app1, app2) = (AppId::generate(), AppId::generate());
    let ep = EndpointId::generate();
    let evt = Message {
        id: MessageId::generate_at(Utc::now() - Duration::days(10)),
        event_id: Some(uid("evt-old")),
        ..message(&org1, &app1, "a.b", None, &[])
    };
    let evt = Message {
        created_at: evt.id.timestamp(),
        ..evt
    };
    s.messages.create_message(&evt, &[]).await.expect("create");
    let old = vec![
        evt,
        old_message(&s, &org1, &app1, Duration::days(5), 90).await,
        old_message(&s, &org2, &app2, Duration::days(3), 90).await,
    ];
    let young = old_message(&s, &org2, &app2, Duration::hours(1), 90).await;
    for m in old.iter().chain([&young]) {
        deliver(&s, m, &ep).await;
    }
    deliver(&s, &old[0], &ep).await;

    let cutoff = Utc::now() - Duration::days(1);
    let counts = s.retention.prune_before(cutoff, 100).await.expect("prune");
    let expected = PruneCounts {
        messages: 3,
        attempts: 4,
        destinations: 3,
    };
    assert_eq!(counts, expected);
    for m in &old {
        assert_eq!(traces(&s, m, &ep).await, (false, 0, 0, false), "{} is gone", m.id);
    }
    assert_eq!(
        traces(&s, &young, &ep).await,
        (true, 1, 1, true),
        "newer than the cutoff"
    );
    let event_id = s
        .messages
        .message_id_by_event_id(&org1, &app1, &uid("evt-old"))
        .await
        .expect("event id");
    assert_eq!(event_id, None, "its eventId is free again");
    let again = s.retention.prune_before(cutoff, 100).await.expect("again");
    assert_eq!(again, PruneCounts::default(), "idempotent");
}

pub async fn prune_batches_respect_limit(s: Stores) {
    let (org1, org2) = (OrgId::generate(), OrgId::generate());
    let mut old = Vec::new();
    for i in 0..5 {
        let org = if i % 2 == 0 { &org1 } else { &org2 };
        old.push(old_message(&s, org, &AppId::generate(), Duration::days(2 + i), 90).await);
    }
    let young = old_message(&s, &org1, &AppId::generate(), Duration::zero(), 90).await;
    let cutoff: DateTime<Utc> = Utc::now() - Duration::days(1);
    let mut counts = Vec::new();
    for _ in 0..4 {
        counts.push(s.retention.prune_before(cutoff, 2).await.expect("prune").messages);
    }
    assert_eq!(counts, vec![2, 2, 1, 0]);
    for m in &old {
        assert_eq!(payload(&s, m).await, None, "pruned");
    }
    assert!(payload(&s, &young).await.is_some(), "kept");
}
