//! Attempts and destinations: recording, listing by endpoint and by message, filters, idempotent creation.

use super::fixtures::*;
use crate::domain::{Attempt, Destination, Message, MessageStatus};
use crate::id::{AppId, AttemptId, EndpointId, MessageId, OrgId};
use crate::store::{
    AttemptFilter, AttemptRecord, DestinationFilter, ListQuery, Order, StatusCounts, StoreErrorKind,
    StoreResult, Stores, TimeTypeChannel,
};

struct World {
    org: OrgId,
    app: AppId,
    m1: Message,
    m2: Message,
    ep1: EndpointId,
    ep2: EndpointId,
}

/// Two messages, two endpoints, three attempts: (m1, ep1, 200), (m1, ep2, 500), (m2, ep1, no response). m1 is
/// tagged `t1`, m2 `t2`.
async fn world(s: &Stores) -> (World, Vec<Attempt>) {
    let org = OrgId::generate();
    let app = AppId::generate();
    let m1 = Message {
        tags: vec!["t1".into()],
        ..message(&org, &app, "a.b", None, &["x"])
    };
    next_millisecond().await;
    let m2 = Message {
        tags: vec!["t2".into()],
        ..message(&org, &app, "c.d", None, &[])
    };
    let (mut ep1, mut ep2) = (EndpointId::generate(), EndpointId::generate());
    if ep2 < ep1 {
        std::mem::swap(&mut ep1, &mut ep2);
    }
    let mut attempts = Vec::new();
    for (msg, ep, status, code) in [
        (&m1, &ep1, MessageStatus::Success, 200),
        (&m1, &ep2, MessageStatus::Fail, 500),
        (&m2, &ep1, MessageStatus::Fail, 0),
    ] {
        let a = attempt(msg, ep, status, code);
        let d = destination(msg, ep, status);
        let record = AttemptRecord {
            attempt: a.clone(),
            destination: d,
        };
        s.attempts.record_attempts(&[record]).await.expect("record");
        attempts.push(a);
        next_millisecond().await;
    }
    let w = World {
        org,
        app,
        m1,
        m2,
        ep1,
        ep2,
    };
    (w, attempts)
}

fn q() -> ListQuery {
    ListQuery::first(50, Order::Ascending)
}

fn attempt_ids(r: StoreResult<Vec<Attempt>>) -> Vec<String> {
    r.expect("list").into_iter().map(|a| a.id.to_string()).collect()
}

pub async fn attempts_listing_and_filters(s: Stores) {
    let (w, a) = world(&s).await;
    let by = |f: AttemptFilter| {
        let (s, org, app, ep) = (s.clone(), w.org.clone(), w.app.clone(), w.ep1.clone());
        async move {
            attempt_ids(
                s.attempts
                    .list_attempts_by_endpoint(&org, &app, &ep, &f, &q())
                    .await,
            )
        }
    };
    assert_eq!(
        by(AttemptFilter::default()).await,
        [a[0].id.to_string(), a[2].id.to_string()]
    );
    let failed = AttemptFilter {
        status: Some(MessageStatus::Fail),
        ..Default::default()
    };
    assert_eq!(by(failed).await, [a[2].id.to_string()], "status");
    let ok_class = AttemptFilter {
        status_code_class: Some(200),
        ..Default::default()
    };
    assert_eq!(by(ok_class).await, [a[0].id.to_string()], "status code class");
    let tagged = |tag: &str| AttemptFilter {
        tag: Some(tag.into()),
        ..Default::default()
    };
    assert_eq!(by(tagged("t2")).await, [a[2].id.to_string()], "tag");
    assert!(by(tagged("t3")).await.is_empty(), "a tag no message carries");

    let of_m1 = |f: AttemptFilter| {
        let (s, org, app, msg) = (s.clone(), w.org.clone(), w.app.clone(), w.m1.id.clone());
        async move {
            attempt_ids(
                s.attempts
                    .list_attempts_by_message(&org, &app, &msg, &f, &q())
                    .await,
            )
        }
    };
    assert_eq!(
        of_m1(AttemptFilter::default()).await,
        [a[0].id.to_string(), a[1].id.to_string()]
    );
    let to_ep2 = AttemptFilter {
        endpoint_id: Some(w.ep2.clone()),
        ..Default::default()
    };
    assert_eq!(of_m1(to_ep2).await, [a[1].id.to_string()], "endpoint filter");
    assert_eq!(of_m1(tagged("t1")).await.len(), 2, "the message's own tag");
    assert!(of_m1(tagged("t2")).await.is_empty(), "another message's tag");

    let got = s
        .attempts
        .get_attempt(&w.org, &w.app, &w.m1.id, &a[1].id)
        .await
        .expect("get");
    assert_eq!(got.as_ref(), Some(&a[1]));
    let other_org = OrgId::generate();
    let hidden = s
        .attempts
        .get_attempt(&other_org, &w.app, &w.m1.id, &a[1].id)
        .await
        .expect("get");
    assert_eq!(hidden, None, "tenant-scoped");
    let none = AttemptFilter::default();
    let listed = s
        .attempts
        .list_attempts_by_endpoint(&other_org, &w.app, &w.ep1, &none, &q())
        .await;
    assert!(listed.expect("list").is_empty(), "tenant-scoped listing");

    let newest_first = ListQuery::first(1, Order::Descending);
    let f = AttemptFilter::default();
    let page = s
        .attempts
        .list_attempts_by_endpoint(&w.org, &w.app, &w.ep1, &f, &newest_first)
        .await;
    assert_eq!(
        attempt_ids(page),
        [a[2].id.to_string(), a[0].id.to_string()],
        "limit 1 → take 2, newest first"
    );
}

fn endpoints_of(r: StoreResult<Vec<Destination>>) -> Vec<EndpointId> {
    r.expect("list").into_iter().map(|d| d.endpoint_id).collect()
}

pub async fn destinations_listing_and_filters(s: Stores) {
    let (w, _) = world(&s).await;
    let of_m1 = s
        .attempts
        .list_destinations_by_message(&w.org, &w.app, &w.m1.id, &q())
        .await;
    assert_eq!(
        endpoints_of(of_m1),
        [w.ep1.clone(), w.ep2.clone()],
        "ordered by endpoint id"
    );
    let d = s
        .attempts
        .get_destination(&w.org, &w.app, &w.m1.id, &w.ep2)
        .await
        .expect("get");
    assert_eq!(d.map(|d| d.status), Some(MessageStatus::Fail));

    let to_ep1 = |f: DestinationFilter, order: Order| {
        let (s, org, app, ep) = (s.clone(), w.org.clone(), w.app.clone(), w.ep1.clone());
        async move {
            let q = ListQuery::first(50, order);
            let rows = s
                .attempts
                .list_destinations_by_endpoint(&org, &app, &ep, &f, &q)
                .await;
            rows.expect("list")
                .into_iter()
                .map(|d| d.msg_id)
                .collect::<Vec<_>>()
        }
    };
    let all = to_ep1(DestinationFilter::default(), Order::Ascending).await;
    assert_eq!(all, [w.m1.id.clone(), w.m2.id.clone()], "ordered by message id");
    let newest = to_ep1(DestinationFilter::default(), Order::Descending).await;
    assert_eq!(newest, [w.m2.id.clone(), w.m1.id.clone()]);
    let failed = DestinationFilter {
        status: Some(MessageStatus::Fail),
        ..Default::default()
    };
    assert_eq!(
        to_ep1(failed, Order::Ascending).await,
        std::slice::from_ref(&w.m2.id),
        "status"
    );
    let tagged = DestinationFilter {
        tag: Some("t1".into()),
        ..Default::default()
    };
    assert_eq!(
        to_ep1(tagged, Order::Ascending).await,
        std::slice::from_ref(&w.m1.id),
        "tag"
    );
    let typed = DestinationFilter {
        common: crate::store::TimeTypeChannel {
            event_types: Some([name("a.b")].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        to_ep1(typed, Order::Ascending).await,
        std::slice::from_ref(&w.m1.id),
        "event type"
    );
    let after_m1 = DestinationFilter {
        common: crate::store::TimeTypeChannel {
            after: Some(w.m1.created_at),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        to_ep1(after_m1, Order::Ascending).await,
        std::slice::from_ref(&w.m2.id),
        "after"
    );
}

pub async fn create_destinations_keeps_existing(s: Stores) {
    let org = OrgId::generate();
    let app = AppId::generate();
    let m = message(&org, &app, "a.b", None, &[]);
    let (ep1, ep2) = (EndpointId::generate(), EndpointId::generate());
    s.attempts
        .create_destinations(&[destination(&m, &ep1, MessageStatus::Pending)])
        .await
        .expect("create");
    let a = attempt(&m, &ep1, MessageStatus::Success, 204);
    let mut done = destination(&m, &ep1, MessageStatus::Success);
    done.attempts = 1;
    let record = AttemptRecord {
        attempt: a,
        destination: done.clone(),
    };
    s.attempts.record_attempts(&[record]).await.expect("record");
    // A fan-out that runs again must not reset ep1, and must add ep2.
    let again = [
        destination(&m, &ep1, MessageStatus::Pending),
        destination(&m, &ep2, MessageStatus::Pending),
    ];
    s.attempts
        .create_destinations(&again)
        .await
        .expect("create again");
    let d1 = s
        .attempts
        .get_destination(&org, &app, &m.id, &ep1)
        .await
        .expect("get");
    assert_eq!(d1, Some(done), "existing destination kept");
    let d2 = s
        .attempts
        .get_destination(&org, &app, &m.id, &ep2)
        .await
        .expect("get");
    assert_eq!(
        d2.map(|d| d.status),
        Some(MessageStatus::Pending),
        "new destination added"
    );
}

pub async fn destination_counts_by_status(s: Stores) {
    let (org, app, ep) = (OrgId::generate(), AppId::generate(), EndpointId::generate());
    let statuses = [
        MessageStatus::Success,
        MessageStatus::Success,
        MessageStatus::Fail,
        MessageStatus::Sending,
    ];
    let mut destinations = Vec::new();
    for status in statuses {
        destinations.push(destination(&message(&org, &app, "a.b", None, &[]), &ep, status));
        next_millisecond().await;
    }
    // Another endpoint's and another organization's destinations do not count.
    destinations.push(destination(
        &message(&org, &app, "a.b", None, &[]),
        &EndpointId::generate(),
        MessageStatus::Fail,
    ));
    destinations.push(destination(
        &message(&OrgId::generate(), &app, "a.b", None, &[]),
        &ep,
        MessageStatus::Fail,
    ));
    s.attempts
        .create_destinations(&destinations)
        .await
        .expect("create");
    let all = s
        .attempts
        .destination_counts(&org, &app, &ep, &TimeTypeChannel::default())
        .await
        .expect("counts");
    assert_eq!(
        all,
        StatusCounts {
            success: 2,
            fail: 1,
            sending: 1,
            ..StatusCounts::default()
        }
    );
    // The window is on message creation time: only the last two messages are after the second's.
    let after = MessageId::timestamp(&destinations[1].msg_id);
    let window = TimeTypeChannel {
        after: Some(after),
        ..TimeTypeChannel::default()
    };
    let recent = s
        .attempts
        .destination_counts(&org, &app, &ep, &window)
        .await
        .expect("counts");
    assert_eq!(
        recent,
        StatusCounts {
            fail: 1,
            sending: 1,
            ..StatusCounts::default()
        }
    );
}

pub async fn expunge_forgets_content_only(s: Stores) {
    let (org, app, ep) = (OrgId::generate(), AppId::generate(), EndpointId::generate());
    let m = message(&org, &app, "a.b", Some("evt-x"), &["c"]);
    s.messages.create_message(&m, &[]).await.expect("create");
    let mut a = attempt(&m, &ep, MessageStatus::Fail, 500);
    a.response = "secret details".into();
    let record = AttemptRecord {
        attempt: a.clone(),
        destination: destination(&m, &ep, MessageStatus::Fail),
    };
    s.attempts.record_attempts(&[record]).await.expect("record");

    let stranger = OrgId::generate();
    let denied = s.messages.expunge_message_content(&stranger, &app, &m.id).await;
    assert_kind(denied, StoreErrorKind::NotFound, "another organization's message");
    for _ in 0..2 {
        s.messages
            .expunge_message_content(&org, &app, &m.id)
            .await
            .expect("expunge, twice");
        s.attempts
            .expunge_attempt_content(&org, &app, &m.id, &a.id)
            .await
            .expect("expunge, twice");
    }
    let kept = s
        .messages
        .get_message(&org, &app, &m.id)
        .await
        .expect("get")
        .expect("still there");
    assert_eq!(kept.payload.as_str(), "{}");
    assert_eq!(
        (kept.event_type, kept.event_id, kept.channels),
        (m.event_type, m.event_id, m.channels)
    );
    let attempt = s
        .attempts
        .get_attempt(&org, &app, &m.id, &a.id)
        .await
        .expect("get")
        .expect("still there");
    assert_eq!(
        (attempt.response.as_str(), attempt.response_status_code),
        ("", 500)
    );
    let absent = s
        .attempts
        .expunge_attempt_content(&org, &app, &m.id, &AttemptId::generate())
        .await;
    assert_kind(absent, StoreErrorKind::NotFound, "an absent attempt");
}

pub async fn attempt_counts_by_status(s: Stores) {
    let (w, a) = world(&s).await;
    let counts = |window: TimeTypeChannel| {
        let (s, org, app, ep) = (s.clone(), w.org.clone(), w.app.clone(), w.ep1.clone());
        async move {
            s.attempts
                .attempt_counts(&org, &app, &ep, &window)
                .await
                .expect("counts")
        }
    };
    let all = counts(TimeTypeChannel::default()).await;
    assert_eq!(
        all,
        StatusCounts {
            success: 1,
            fail: 1,
            ..StatusCounts::default()
        },
        "ep1's two attempts; ep2's failure is not counted"
    );
    let later = TimeTypeChannel {
        after: Some(a[0].created_at),
        ..TimeTypeChannel::default()
    };
    assert_eq!(
        counts(later).await,
        StatusCounts {
            fail: 1,
            ..StatusCounts::default()
        },
        "the window is on the attempt's time"
    );
    let other_org = s
        .attempts
        .attempt_counts(&OrgId::generate(), &w.app, &w.ep1, &TimeTypeChannel::default())
        .await
        .expect("counts");
    assert_eq!(other_org, StatusCounts::default(), "tenant-scoped");
}
