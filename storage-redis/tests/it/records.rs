//! What only the Redis record stores must do: keep every key under the prefix, give each application's
//! traffic its own hash tag (its own cluster slot), report undecodable rows as corrupt, write batches per
//! application, and keep scanning past rows a filter rejects.

use std::collections::BTreeSet;
use std::time::Duration;

use xwebhook_engine::domain::{Application, Destination, Endpoint, Message, MessageStatus};
use xwebhook_engine::id::{AppId, AttemptId, EndpointId, MessageId, OrgId};
use xwebhook_engine::store::{
    ApplicationStore, AttemptFilter, AttemptRecord, AttemptStore, EndpointStore, IdempotencyCache, ListQuery,
    MessageFilter, MessageStore, Order, Ref, StoreErrorKind, TimeTypeChannel,
};

use xwebhook_engine::testsuite::fixtures::{self, application};

use crate::support::{keys_matching, raw, store};

fn endpoint(app: &Application) -> Endpoint {
    fixtures::endpoint(&app.org_id, &app.id, Some("main"))
}

/// A message with an event id, so that its `eventId` key is written too.
fn message(org: &OrgId, app: &AppId, event_type: &str) -> Message {
    fixtures::message(org, app, event_type, Some("evt-1"), &[])
}

/// A successful-looking attempt (code 200) with its destination, one attempt in.
fn record(msg: &Message, ep: &EndpointId, status: MessageStatus) -> AttemptRecord {
    AttemptRecord {
        attempt: fixtures::attempt(msg, ep, status, 200),
        destination: Destination {
            attempts: 1,
            ..fixtures::destination(msg, ep, status)
        },
    }
}

/// The `{…}` hash tag of a key, which decides its cluster slot.
fn tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open..].find('}')? + open;
    Some(&key[open..=close])
}

#[tokio::test]
async fn keys_carry_the_prefix_and_applications_have_their_own_tags() {
    let (s, guard) = store().await;
    let org = OrgId::generate();
    let mut app_tags = Vec::new();
    for _ in 0..2 {
        let app = application(&org, None);
        s.create_application(&app).await.expect("create app");
        let ep = endpoint(&app);
        s.create_endpoint(&ep).await.expect("create endpoint");
        let msg = message(&org, &app.id, "a.b");
        s.create_message(&msg, &[]).await.expect("create message");
        s.record_attempts(&[record(&msg, &ep.id, MessageStatus::Success)])
            .await
            .expect("record");
        app_tags.push((app.id, format!("{{{}:{org}/{}}}", guard.prefix, msg.app_id)));
    }
    s.begin(&format!("{org}:POST:/x"), Duration::from_secs(5))
        .await
        .expect("idempotency");

    // Every key that mentions the organization, anywhere in the database, is under this store's prefix.
    let mut conn = raw();
    let keys = keys_matching(&mut conn, &format!("*{org}*"));
    assert!(keys.len() > 10, "the rows were written: {keys:?}");
    for k in &keys {
        assert!(
            k.starts_with(&format!("{}:", guard.prefix)),
            "{k} lacks the prefix"
        );
    }
    // Org rows share the organization's tag; each application's traffic has a tag of its own.
    let org_tag = format!("{{{}:{org}}}", guard.prefix);
    let tags: BTreeSet<&str> = keys.iter().filter_map(|k| tag(k)).collect();
    let expected: BTreeSet<&str> = [org_tag.as_str(), app_tags[0].1.as_str(), app_tags[1].1.as_str()].into();
    assert_eq!(tags, expected);
    assert_ne!(app_tags[0].1, app_tags[1].1);
    for (app, app_tag) in &app_tags {
        let of_app: Vec<&String> = keys.iter().filter(|k| tag(k) == Some(app_tag)).collect();
        assert!(
            of_app.len() >= 6,
            "message, eventId, attempt and destination keys of {app}"
        );
    }
}

#[tokio::test]
async fn undecodable_rows_are_corrupt_and_can_still_be_deleted() {
    let (s, guard) = store().await;
    let org = OrgId::generate();
    let mut app = application(&org, None);
    app.uid = Some("billing".parse().expect("uid"));
    s.create_application(&app).await.expect("create");
    let apps = format!("{p}:{{{p}:{org}}}:apps", p = guard.prefix);
    redis::cmd("HSET")
        .arg(&apps)
        .arg(app.id.as_str())
        .arg("{not json")
        .query::<()>(&mut raw())
        .expect("overwrite the row");
    let got = s.get_application(&org, &Ref::Id(app.id.clone())).await;
    assert_eq!(got.map_err(|e| e.kind).err(), Some(StoreErrorKind::Corrupt));
    let listed = s
        .list_applications(&org, &ListQuery::first(10, Order::Ascending))
        .await;
    assert_eq!(listed.map_err(|e| e.kind).err(), Some(StoreErrorKind::Corrupt));

    // The broken row can be removed, and its uid is free again.
    s.delete_application(&org, &app.id)
        .await
        .expect("delete a corrupt row");
    let mut again = application(&org, None);
    again.uid = app.uid.clone();
    s.create_application(&again).await.expect("the uid is free");
}

#[tokio::test]
async fn a_batch_spanning_applications_is_written_per_application() {
    let (s, _guard) = store().await;
    let org = OrgId::generate();
    let (a, b) = (AppId::generate(), AppId::generate());
    let ep = EndpointId::generate();
    let msgs = [message(&org, &a, "a.b"), message(&org, &b, "a.b")];
    let batch: Vec<AttemptRecord> = (0..100)
        .map(|i| record(&msgs[i % 2], &ep, MessageStatus::Fail))
        .collect();
    s.record_attempts(&batch).await.expect("record");
    let all = AttemptFilter::default();
    for m in &msgs {
        let q = ListQuery::first(250, Order::Ascending);
        let listed = s
            .list_attempts_by_message(&org, &m.app_id, &m.id, &all, &q)
            .await
            .expect("list");
        let mut expected: Vec<&AttemptId> = batch
            .iter()
            .map(|r| &r.attempt)
            .filter(|a| a.msg_id == m.id)
            .map(|a| &a.id)
            .collect();
        expected.sort();
        assert_eq!(listed.iter().map(|a| &a.id).collect::<Vec<_>>(), expected);
        let d = s.get_destination(&org, &m.app_id, &m.id, &ep).await.expect("get");
        assert_eq!(d.map(|d| d.status), Some(MessageStatus::Fail));
    }
}

#[tokio::test]
async fn a_sparse_filter_reads_past_the_first_chunks() {
    let (s, _guard) = store().await;
    let org = OrgId::generate();
    let app = AppId::generate();
    let mut rare = Vec::new();
    for i in 0..300 {
        let mut m = message(&org, &app, if i % 60 == 59 { "rare.t" } else { "common.t" });
        m.event_id = None;
        s.create_message(&m, &[]).await.expect("create");
        if i % 60 == 59 {
            rare.push(m.id);
        }
    }
    rare.sort();
    let filter = MessageFilter::from(TimeTypeChannel {
        event_types: Some(["rare.t".parse().expect("name")].into()),
        ..Default::default()
    });
    let q = ListQuery::first(2, Order::Ascending);
    let got = s.list_messages(&org, &app, &filter, &q).await.expect("list");
    assert_eq!(
        got.into_iter().map(|m| m.id).collect::<Vec<_>>(),
        rare[..3],
        "limit + 1 matching rows"
    );
    let q = ListQuery::first(50, Order::Descending);
    let got = s.list_messages(&org, &app, &filter, &q).await.expect("list");
    let newest_first: Vec<MessageId> = rare.iter().rev().cloned().collect();
    assert_eq!(got.into_iter().map(|m| m.id).collect::<Vec<_>>(), newest_first);
}
