//! Messages: eventId uniqueness, pagination, filters.

use std::collections::BTreeSet;

use super::fixtures::*;
use crate::domain::{Message, MessageStatus};
use crate::id::{AppId, EndpointId, OrgId};
use crate::store::{
    DestinationFilter, ListQuery, MessageFilter, Order, Ref, StoreErrorKind, Stores, TimeTypeChannel,
};

pub async fn message_event_id_conflicts(s: Stores) {
    let org = OrgId::generate();
    let (app1, app2) = (AppId::generate(), AppId::generate());
    let m1 = message(&org, &app1, "a.b", Some("evt-1"), &["x"]);
    s.messages.create_message(&m1, &[]).await.expect("create");
    assert_eq!(
        s.messages
            .get_message(&org, &app1, &m1.id)
            .await
            .expect("get")
            .as_ref(),
        Some(&m1)
    );
    let dup = s
        .messages
        .create_message(&message(&org, &app1, "a.b", Some("evt-1"), &[]), &[])
        .await;
    assert_kind(dup, StoreErrorKind::Conflict, "same eventId, same app");
    s.messages
        .create_message(&message(&org, &app2, "a.b", Some("evt-1"), &[]), &[])
        .await
        .expect("same eventId, other app");
    s.messages
        .create_message(&message(&org, &app1, "a.b", None, &[]), &[])
        .await
        .expect("no eventId");
    assert_eq!(
        s.messages.get_message(&org, &app2, &m1.id).await.expect("get"),
        None,
        "app-scoped"
    );
    let by_event = |app: &AppId, event: &str| {
        let key = Ref::Uid(event.parse().expect("valid uid"));
        let (s, org, app) = (s.clone(), org.clone(), app.clone());
        async move { s.messages.find_message(&org, &app, &key).await.expect("find") }
    };
    assert_eq!(
        by_event(&app1, "evt-1").await.as_ref(),
        Some(&m1),
        "found by eventId"
    );
    assert_ne!(
        by_event(&app2, "evt-1").await.map(|m| m.id),
        Some(m1.id.clone()),
        "eventIds are per app"
    );
    assert_eq!(by_event(&app1, "evt-unknown").await, None);
}

/// A multi-get answers in the order asked, with `None` for an id not stored here (unknown, or another
/// application's), and repeats a message asked for twice.
pub async fn messages_are_read_together(s: Stores) {
    let org = OrgId::generate();
    let (app, other) = (AppId::generate(), AppId::generate());
    let mine = seed(&s, &org, &app, 3).await;
    let theirs = seed(&s, &org, &other, 1).await;
    let unknown = message(&org, &app, "a.b", None, &[]);
    let asked = [
        mine[2].id.clone(),
        unknown.id.clone(),
        mine[0].id.clone(),
        theirs[0].id.clone(),
        mine[2].id.clone(),
    ];
    let got = s
        .messages
        .get_messages(&org, &app, &asked)
        .await
        .expect("get_messages");
    assert_eq!(
        got,
        vec![
            Some(mine[2].clone()),
            None,
            Some(mine[0].clone()),
            None,
            Some(mine[2].clone())
        ]
    );
    assert_eq!(
        s.messages
            .get_messages(&org, &app, &[])
            .await
            .expect("none asked"),
        vec![]
    );
}

/// A scheduled message keeps its time, to the microsecond (the API's precision), through the store and its
/// listing; an unscheduled one has none.
pub async fn message_keeps_its_scheduled_time(s: Stores) {
    let (org, app) = (OrgId::generate(), AppId::generate());
    let at = chrono::DateTime::from_timestamp_micros(chrono::Utc::now().timestamp_micros() + 3_600_000_123)
        .expect("a time");
    let scheduled = Message {
        deliver_at: Some(at),
        ..message(&org, &app, "a.b", None, &[])
    };
    let at_once = message(&org, &app, "a.b", None, &[]);
    for m in [&scheduled, &at_once] {
        s.messages.create_message(m, &[]).await.expect("create");
        let read = s.messages.get_message(&org, &app, &m.id).await.expect("get");
        assert_eq!(read.map(|r| r.deliver_at), Some(m.deliver_at));
    }
    let listed = s
        .messages
        .list_messages(
            &org,
            &app,
            &MessageFilter::default(),
            &ListQuery::first(10, Order::Ascending),
        )
        .await
        .expect("list");
    let mut times: Vec<_> = listed.iter().map(|m| (&m.id, m.deliver_at)).collect();
    let mut expected = vec![(&scheduled.id, Some(at)), (&at_once.id, None)];
    times.sort();
    expected.sort();
    assert_eq!(times, expected);
}

/// A message keeps its tags, and the listing's tag filter returns exactly the messages that carry the tag.
pub async fn message_tags_filter_the_listing(s: Stores) {
    let (org, app) = (OrgId::generate(), AppId::generate());
    let tagged = |tags: &[&str]| Message {
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        ..message(&org, &app, "a.b", None, &[])
    };
    let (a, ab, untagged) = (tagged(&["a"]), tagged(&["a", "b"]), tagged(&[]));
    for m in [&a, &ab, &untagged] {
        s.messages.create_message(m, &[]).await.expect("create");
    }
    let read = s.messages.get_message(&org, &app, &ab.id).await.expect("get");
    assert_eq!(read.map(|m| m.tags), Some(vec!["a".to_owned(), "b".to_owned()]));
    for (tag, expected) in [("a", vec![&a.id, &ab.id]), ("b", vec![&ab.id]), ("c", vec![])] {
        let filter = MessageFilter {
            tag: Some(tag.to_owned()),
            ..Default::default()
        };
        let q = ListQuery::first(10, Order::Ascending);
        let listed = s
            .messages
            .list_messages(&org, &app, &filter, &q)
            .await
            .expect("list");
        let mut got: Vec<_> = listed.iter().map(|m| &m.id).collect();
        let mut expected = expected;
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "tag {tag}");
    }
}

/// A message lands with the pending destinations planned at ingest, or, refused, without them.
pub async fn message_lands_with_its_destinations(s: Stores) {
    let (org, app) = (OrgId::generate(), AppId::generate());
    let (ep1, ep2) = (EndpointId::generate(), EndpointId::generate());
    let m = message(&org, &app, "a.b", Some("evt-1"), &["x"]);
    let pending = [&ep1, &ep2].map(|ep| destination(&m, ep, MessageStatus::Pending));
    s.messages.create_message(&m, &pending).await.expect("create");
    let all = ListQuery::first(10, Order::Ascending);
    let listed = s
        .attempts
        .list_destinations_by_message(&org, &app, &m.id, &all)
        .await
        .expect("list by message");
    let mut expected = pending.to_vec();
    expected.sort_by(|a, b| a.endpoint_id.cmp(&b.endpoint_id));
    assert_eq!(listed, expected, "both destinations, pending");
    let by_endpoint = s
        .attempts
        .list_destinations_by_endpoint(&org, &app, &ep1, &DestinationFilter::default(), &all)
        .await
        .expect("list by endpoint");
    assert_eq!(by_endpoint, vec![pending[0].clone()]);

    let refused = message(&org, &app, "a.b", Some("evt-1"), &[]);
    let its_own = destination(&refused, &ep1, MessageStatus::Pending);
    let dup = s.messages.create_message(&refused, &[its_own]).await;
    assert_kind(dup, StoreErrorKind::Conflict, "same eventId");
    let stored = s
        .attempts
        .get_destination(&org, &app, &refused.id, &ep1)
        .await
        .expect("get destination");
    assert_eq!(stored, None, "a refused message leaves no destination behind");
}

/// Creates `n` messages in the app, each in its own millisecond, alternating types and channels.
async fn seed(s: &Stores, org: &OrgId, app: &AppId, n: usize) -> Vec<Message> {
    let mut out = Vec::new();
    for i in 0..n {
        let (ty, ch): (&str, &[&str]) = if i % 2 == 0 {
            ("even.t", &["x"])
        } else {
            ("odd.t", &["y", "z"])
        };
        let m = message(org, app, ty, None, ch);
        s.messages.create_message(&m, &[]).await.expect("create");
        out.push(m);
        next_millisecond().await;
    }
    out
}

fn ids(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.id.to_string()).collect()
}

pub async fn messages_paginate_both_ways(s: Stores) {
    let org = OrgId::generate();
    let app = AppId::generate();
    let all = seed(&s, &org, &app, 9).await;
    seed(&s, &org, &AppId::generate(), 2).await;
    let key = |m: &Message| m.id.to_string();
    let fetch = |q: ListQuery| {
        let (s, org, app) = (s.clone(), org.clone(), app.clone());
        async move {
            s.messages
                .list_messages(&org, &app, &MessageFilter::default(), &q)
                .await
        }
    };
    let mut expected = ids(&all);
    expected.reverse();
    let pages = pages_forward(4, Order::Descending, key, fetch).await;
    let seen: Vec<String> = pages.iter().flat_map(|p| p.items.iter().map(key)).collect();
    assert_eq!(seen, expected, "newest first, every message once");
    assert_eq!(pages.len(), 3);

    let start = pages[2].prev_iterator.clone().expect("prev iterator");
    let back = pages_backward(4, Order::Descending, &start, key, fetch).await;
    let back_seen: Vec<String> = back.iter().rev().flat_map(|p| p.items.iter().map(key)).collect();
    assert_eq!(back_seen, expected[..8]);

    let asc = pages_forward(5, Order::Ascending, key, fetch).await;
    let seen: Vec<String> = asc.iter().flat_map(|p| p.items.iter().map(key)).collect();
    assert_eq!(seen, ids(&all));
}

pub async fn message_filters(s: Stores) {
    let org = OrgId::generate();
    let app = AppId::generate();
    let all = seed(&s, &org, &app, 8).await;
    let list = |filter: MessageFilter, limit: usize| {
        let (s, org, app) = (s.clone(), org.clone(), app.clone());
        async move {
            let q = ListQuery::first(limit, Order::Ascending);
            let rows = s
                .messages
                .list_messages(&org, &app, &filter, &q)
                .await
                .expect("list");
            ids(&rows)
        }
    };
    let pick = |pred: &dyn Fn(usize) -> bool| -> Vec<String> {
        ids(&all
            .iter()
            .enumerate()
            .filter(|(i, _)| pred(*i))
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>())
    };

    let by_type = MessageFilter::from(TimeTypeChannel {
        event_types: Some(BTreeSet::from([name("odd.t")])),
        ..Default::default()
    });
    assert_eq!(list(by_type, 50).await, pick(&|i| i % 2 == 1), "event types");
    let by_channel = MessageFilter::from(TimeTypeChannel {
        channel: Some("x".parse().expect("channel")),
        ..Default::default()
    });
    assert_eq!(
        list(by_channel.clone(), 50).await,
        pick(&|i| i % 2 == 0),
        "channel"
    );
    // A filter must not shorten a page: limit counts matching rows.
    assert_eq!(
        list(by_channel, 2).await.len(),
        3,
        "limit + 1 matching rows are returned"
    );

    let after = MessageFilter::from(TimeTypeChannel {
        after: Some(all[2].created_at),
        ..Default::default()
    });
    assert_eq!(list(after, 50).await, pick(&|i| i > 2), "after is exclusive");
    let before = MessageFilter::from(TimeTypeChannel {
        before: Some(all[5].created_at),
        ..Default::default()
    });
    assert_eq!(list(before, 50).await, pick(&|i| i < 5), "before is exclusive");
    let window = MessageFilter::from(TimeTypeChannel {
        after: Some(all[1].created_at),
        before: Some(all[6].created_at),
        event_types: Some(BTreeSet::from([name("even.t")])),
        ..Default::default()
    });
    assert_eq!(
        list(window, 50).await,
        pick(&|i| i > 1 && i < 6 && i % 2 == 0),
        "combined"
    );
}
