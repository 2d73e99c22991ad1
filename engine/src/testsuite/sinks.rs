//! Sinks: CRUD and UIDs per application, kept per tenant; logs in append order from one atomic append to many
//! sinks, and withdrawn entries; consumers each at their own position. Leases and pumps: `sink_leases`.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;

use super::fixtures::*;
use crate::domain::{LogEntry, Position, Sink, SinkKey, SinkState};
use crate::id::{AppId, MessageId, OrgId, SinkId};
use crate::store::{Cursor, ListQuery, Order, Ref, SinkWithState, StoreErrorKind, Stores};

pub(super) const LONG: Duration = Duration::from_secs(60);
pub(super) const SHORT: Duration = Duration::from_millis(300);

/// A new application of `org`, for sinks to belong to.
pub(super) async fn app_of(s: &Stores, org: &OrgId) -> AppId {
    let app = application(org, None);
    s.applications.create_application(&app).await.expect("create app");
    app.id
}

pub(super) async fn created(s: &Stores, org: &OrgId, app: &AppId, uid_: Option<&str>) -> Sink {
    let new = Sink {
        uid: uid_.map(uid),
        ..sink(org, app)
    };
    s.sinks.create_sink(&new).await.expect("create sink");
    new
}

pub(super) async fn get(s: &Stores, of: &Sink, key: Ref<SinkId>) -> Option<SinkWithState> {
    s.sinks
        .get_sink(&of.org_id, &of.app_id, &key)
        .await
        .expect("get sink")
}

pub(super) async fn state_of(s: &Stores, key: &SinkKey) -> SinkState {
    let found = s
        .sinks
        .get_sink(&key.org_id, &key.app_id, &Ref::Id(key.id.clone()))
        .await
        .expect("get sink");
    found.expect("the sink exists").state
}

async fn listed(s: &Stores, org: &OrgId, app: &AppId, query: ListQuery) -> Vec<SinkWithState> {
    s.sinks.list_sinks(org, app, &query).await.expect("list sinks")
}

fn ids(sinks: &[SinkWithState]) -> Vec<SinkId> {
    sinks.iter().map(|x| x.sink.id.clone()).collect()
}

/// The whole log (cases append far fewer entries than this).
async fn log(s: &Stores, key: &SinkKey) -> Vec<LogEntry> {
    s.sinks.read_log(key, None, 1_000).await.expect("read log")
}

fn msgs(entries: &[LogEntry]) -> Vec<MessageId> {
    entries.iter().map(|e| e.msg_id.clone()).collect()
}

fn strictly_increasing(entries: &[LogEntry]) -> bool {
    entries.windows(2).all(|w| w[0].position < w[1].position)
        && entries.first().is_none_or(|e| e.position > Position::START)
}

pub async fn sink_crud(s: Stores) {
    let org = OrgId::generate();
    let app = app_of(&s, &org).await;
    let mut first = created(&s, &org, &app, Some("fifo")).await;
    let fresh = Some(SinkWithState {
        sink: first.clone(),
        state: SinkState::default(),
    });
    assert_eq!(get(&s, &first, Ref::Id(first.id.clone())).await, fresh, "by id");
    assert_eq!(get(&s, &first, Ref::Uid(uid("fifo"))).await, fresh, "by uid");

    // What an update must keep: the log, the state, the consumers.
    let key = first.key();
    let msg = MessageId::generate();
    s.sinks
        .append(&org, &app, std::slice::from_ref(&first.id), &msg)
        .await
        .expect("append");
    assert!(s.sinks.lease_sink(&key, "pump", LONG).await.expect("lease"));
    let mut state = SinkState::default();
    state.failed("503".into(), Utc::now());
    assert!(
        s.sinks
            .save_sink_state(&key, &state, "pump", LONG)
            .await
            .expect("save")
    );
    let seek = Position { ms: 7, seq: 1 };
    s.sinks
        .set_consumer_position(&key, "reader", seek)
        .await
        .expect("seek");

    first.uid = Some(uid("batched"));
    first.batch_size = 10;
    first.disabled = true;
    first.event_types = Some(BTreeSet::from([name("invoice.paid")]));
    first.updated_at = Utc::now();
    s.sinks.update_sink(&first).await.expect("update");
    let with_state = SinkWithState {
        sink: first.clone(),
        state: state.clone(),
    };
    let updated = get(&s, &first, Ref::Uid(uid("batched"))).await;
    assert_eq!(updated.as_ref(), Some(&with_state), "new settings, same state");
    let old = get(&s, &first, Ref::Uid(uid("fifo"))).await;
    assert_eq!(old, None, "the old uid no longer resolves");
    assert_eq!(msgs(&log(&s, &key).await), [msg], "an update keeps the log");
    let position = s.sinks.consumer_position(&key, "reader").await;
    assert_eq!(
        position.expect("position"),
        Some(seek),
        "an update keeps the consumers"
    );

    let mut all = vec![first.id.clone()];
    for _ in 0..4 {
        all.push(created(&s, &org, &app, None).await.id);
    }
    all.sort();
    // Another application's sinks must not leak into the listing.
    let elsewhere = app_of(&s, &org).await;
    created(&s, &org, &elsewhere, None).await;
    let asc = listed(&s, &org, &app, ListQuery::first(2, Order::Ascending)).await;
    assert_eq!(ids(&asc), all[..3], "in id order, one more than the page");
    let desc = listed(&s, &org, &app, ListQuery::first(1, Order::Descending)).await;
    assert_eq!(ids(&desc), [all[4].clone(), all[3].clone()], "newest first");
    let after = ListQuery::new(2, Some(Cursor::parse(all[2].as_str())), Order::Ascending);
    assert_eq!(
        ids(&listed(&s, &org, &app, after).await),
        all[3..],
        "after the cursor"
    );
    let before = ListQuery::new(5, Some(Cursor::parse(&format!("-{}", all[2]))), Order::Ascending);
    let before = ids(&listed(&s, &org, &app, before).await);
    assert_eq!(before, [all[1].clone(), all[0].clone()], "a backward walk");
    let everything = listed(&s, &org, &app, ListQuery::first(10, Order::Ascending)).await;
    assert!(everything.contains(&with_state), "listed with its state");
    let of_app = s.sinks.sinks_of_app(&org, &app).await.expect("sinks of app");
    let mut of_app_ids: Vec<_> = of_app.iter().map(|x| x.id.clone()).collect();
    of_app_ids.sort();
    assert_eq!(of_app_ids, all, "every sink of the application");
    assert!(of_app.contains(&first), "disabled ones included, as stored");

    s.sinks.delete_sink(&org, &app, &first.id).await.expect("delete");
    assert_eq!(get(&s, &first, Ref::Id(first.id.clone())).await, None, "by id");
    assert_eq!(get(&s, &first, Ref::Uid(uid("batched"))).await, None, "by uid");
    let everything = listed(&s, &org, &app, ListQuery::first(10, Order::Ascending)).await;
    assert!(!ids(&everything).contains(&first.id), "no longer listed");
    let again = s.sinks.delete_sink(&org, &app, &first.id).await;
    assert_kind(again, StoreErrorKind::NotFound, "delete twice");
    let upd = s.sinks.update_sink(&first).await;
    assert_kind(upd, StoreErrorKind::NotFound, "update a deleted sink");
    let upd = s.sinks.update_sink(&sink(&org, &app)).await;
    assert_kind(upd, StoreErrorKind::NotFound, "update a sink never created");
    // The uid is free again.
    created(&s, &org, &app, Some("batched")).await;
}

pub async fn sink_uid_conflicts(s: Stores) {
    let org = OrgId::generate();
    let (app1, app2) = (app_of(&s, &org).await, app_of(&s, &org).await);
    let x = created(&s, &org, &app1, Some("x")).await;
    let dup = Sink {
        uid: Some(uid("x")),
        ..sink(&org, &app1)
    };
    assert_kind(
        s.sinks.create_sink(&dup).await,
        StoreErrorKind::Conflict,
        "same uid, same app",
    );
    assert_eq!(
        get(&s, &dup, Ref::Id(dup.id.clone())).await,
        None,
        "a refused create stores nothing"
    );

    let mut y = created(&s, &org, &app1, Some("y")).await;
    y.uid = Some(uid("x"));
    assert_kind(
        s.sinks.update_sink(&y).await,
        StoreErrorKind::Conflict,
        "update onto x",
    );
    let by_y = get(&s, &y, Ref::Uid(uid("y"))).await.map(|w| w.sink.id);
    assert_eq!(by_y, Some(y.id.clone()), "a refused update changes nothing");
    let by_x = get(&s, &x, Ref::Uid(uid("x"))).await.map(|w| w.sink.id);
    assert_eq!(by_x, Some(x.id.clone()), "x still has its uid");
    // Keeping one's own uid is not a conflict.
    let kept = Sink {
        batch_size: 5,
        ..x.clone()
    };
    s.sinks.update_sink(&kept).await.expect("update keeping uid");

    let other = created(&s, &org, &app2, Some("x")).await;
    let by_x = get(&s, &other, Ref::Uid(uid("x"))).await.map(|w| w.sink.id);
    assert_eq!(
        by_x,
        Some(other.id),
        "a uid is unique within its application only"
    );
}

pub async fn sinks_are_kept_per_tenant(s: Stores) {
    let org = OrgId::generate();
    let app = app_of(&s, &org).await;
    let mine = created(&s, &org, &app, Some("shared")).await;
    let other_org = OrgId::generate();
    let other_app = app_of(&s, &org).await;
    let q = || ListQuery::first(10, Order::Ascending);
    for (o, a, who) in [
        (&other_org, &app, "another organization"),
        (&org, &other_app, "another application"),
    ] {
        let by_id = s.sinks.get_sink(o, a, &Ref::Id(mine.id.clone())).await;
        assert_eq!(by_id.expect("get"), None, "{who}: by id");
        let by_uid = s.sinks.get_sink(o, a, &Ref::Uid(uid("shared"))).await;
        assert_eq!(by_uid.expect("get"), None, "{who}: by uid");
        assert!(listed(&s, o, a, q()).await.is_empty(), "{who}: listing");
        let of_app = s.sinks.sinks_of_app(o, a).await.expect("sinks of app");
        assert!(of_app.is_empty(), "{who}: sinks of app");
        let del = s.sinks.delete_sink(o, a, &mine.id).await;
        assert_kind(del, StoreErrorKind::NotFound, &format!("{who}: delete"));
        let hijack = Sink {
            org_id: o.clone(),
            app_id: a.clone(),
            disabled: true,
            ..mine.clone()
        };
        let upd = s.sinks.update_sink(&hijack).await;
        assert_kind(upd, StoreErrorKind::NotFound, &format!("{who}: update"));
        let msg = MessageId::generate();
        let appended = s.sinks.append(o, a, std::slice::from_ref(&mine.id), &msg).await;
        appended.expect("an append naming another tenant's sink is skipped");
    }
    let still = get(&s, &mine, Ref::Id(mine.id.clone())).await;
    assert_eq!(still.map(|w| w.sink), Some(mine.clone()), "unchanged");
    assert!(
        log(&s, &mine.key()).await.is_empty(),
        "nothing appended from elsewhere"
    );
    // Another organization may reuse the application id and the uid.
    let theirs = created(&s, &other_org, &app, Some("shared")).await;
    let by_uid = get(&s, &theirs, Ref::Uid(uid("shared"))).await.map(|w| w.sink.id);
    assert_eq!(by_uid, Some(theirs.id));
}

pub async fn sink_log_keeps_append_order(s: Stores) {
    let org = OrgId::generate();
    let app = app_of(&s, &org).await;
    let (a, b) = (
        created(&s, &org, &app, None).await,
        created(&s, &org, &app, None).await,
    );
    let unnamed = created(&s, &org, &app, None).await;
    let both = [a.id.clone(), b.id.clone()];
    let mut sent = Vec::new();
    for _ in 0..5 {
        let msg = MessageId::generate();
        s.sinks.append(&org, &app, &both, &msg).await.expect("append");
        sent.push(msg);
    }
    let only_a = MessageId::generate();
    s.sinks
        .append(&org, &app, std::slice::from_ref(&a.id), &only_a)
        .await
        .expect("append");
    let log_a = log(&s, &a.key()).await;
    let mut expected = sent.clone();
    expected.push(only_a);
    assert_eq!(msgs(&log_a), expected, "in append order");
    assert!(strictly_increasing(&log_a), "positions grow: {log_a:?}");
    let log_b = log(&s, &b.key()).await;
    assert_eq!(msgs(&log_b), sent);
    assert!(strictly_increasing(&log_b), "positions grow: {log_b:?}");
    assert!(
        log(&s, &unnamed.key()).await.is_empty(),
        "a sink not named gets nothing"
    );

    let read = |after: Option<Position>, limit: usize| {
        let (s, key) = (s.clone(), a.key());
        async move { s.sinks.read_log(&key, after, limit).await.expect("read log") }
    };
    assert_eq!(
        read(Some(log_a[1].position), 2).await,
        log_a[2..4],
        "after is exclusive"
    );
    assert_eq!(read(None, 3).await, log_a[..3], "limit is honoured");
    let last = log_a[log_a.len() - 1].position;
    assert!(
        read(Some(last), 10).await.is_empty(),
        "nothing after the last entry"
    );

    // Concurrent appends still land one after another.
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let (s, org, app, id) = (s.clone(), org.clone(), app.clone(), a.id.clone());
            tokio::spawn(async move {
                let msg = MessageId::generate();
                s.sinks.append(&org, &app, &[id], &msg).await.expect("append");
                msg
            })
        })
        .collect();
    let mut raced = BTreeSet::new();
    for racer in racers {
        raced.insert(racer.await.expect("racer"));
    }
    let tail = read(Some(last), 100).await;
    assert!(strictly_increasing(&tail), "concurrent appends: {tail:?}");
    assert_eq!(msgs(&tail).into_iter().collect::<BTreeSet<_>>(), raced);
    assert_eq!(tail.len(), raced.len(), "each message once");

    // The backend may be shared with other cases: look at this organization's sinks only.
    let all_mine = || async {
        let all = s.sinks.all_sinks().await.expect("all sinks");
        all.into_iter()
            .filter(|k| k.org_id == org)
            .collect::<BTreeSet<_>>()
    };
    let keys = BTreeSet::from([a.key(), b.key(), unnamed.key()]);
    assert_eq!(all_mine().await, keys, "every sink, for the pumps");
    s.sinks.delete_sink(&org, &app, &b.id).await.expect("delete");
    let keys = BTreeSet::from([a.key(), unnamed.key()]);
    assert_eq!(all_mine().await, keys, "a deleted sink is gone");
    assert!(log(&s, &b.key()).await.is_empty(), "its log went with it");
    let after_delete = MessageId::generate();
    s.sinks
        .append(&org, &app, &both, &after_delete)
        .await
        .expect("a deleted sink is skipped");
    let log_a = log(&s, &a.key()).await;
    assert_eq!(log_a.last().map(|e| &e.msg_id), Some(&after_delete));
    assert!(log(&s, &b.key()).await.is_empty(), "a deleted sink gets nothing");
}

/// `append` says where it wrote, once per sink; `withdraw` takes exactly those entries out, in their own
/// tenant only, and withdrawing again, or from a deleted sink, is harmless.
pub async fn sink_log_entries_are_withdrawn(s: Stores) {
    let org = OrgId::generate();
    let app = app_of(&s, &org).await;
    let (a, b) = (
        created(&s, &org, &app, None).await,
        created(&s, &org, &app, None).await,
    );
    let both = [a.id.clone(), b.id.clone()];
    let kept = MessageId::generate();
    s.sinks.append(&org, &app, &both, &kept).await.expect("append");
    let refused = MessageId::generate();
    let named_twice = [a.id.clone(), b.id.clone(), a.id.clone()];
    let appended = s
        .sinks
        .append(&org, &app, &named_twice, &refused)
        .await
        .expect("append");
    let sinks: Vec<&SinkId> = appended.iter().map(|e| &e.sink).collect();
    assert_eq!(sinks, [&a.id, &b.id], "one entry per sink, in the order named");
    let last_of_a = log(&s, &a.key()).await.pop().map(|e| (e.msg_id, e.position));
    assert_eq!(
        last_of_a,
        Some((refused.clone(), appended[0].position)),
        "where append said"
    );

    let (other_org, other_app) = (OrgId::generate(), AppId::generate());
    s.sinks
        .withdraw(&other_org, &app, &appended)
        .await
        .expect("other org");
    s.sinks
        .withdraw(&org, &other_app, &appended)
        .await
        .expect("other app");
    let untouched = [kept.clone(), refused.clone()];
    assert_eq!(
        msgs(&log(&s, &a.key()).await),
        untouched,
        "another tenant withdraws nothing"
    );

    s.sinks.withdraw(&org, &app, &appended).await.expect("withdraw");
    for sink in [&a, &b] {
        assert_eq!(msgs(&log(&s, &sink.key()).await), std::slice::from_ref(&kept));
    }
    s.sinks
        .withdraw(&org, &app, &appended)
        .await
        .expect("withdrawn twice");
    s.sinks.delete_sink(&org, &app, &b.id).await.expect("delete");
    s.sinks
        .withdraw(&org, &app, &appended)
        .await
        .expect("from a deleted sink");
    assert!(
        log(&s, &b.key()).await.is_empty(),
        "a deleted sink's log stays gone"
    );

    let next = MessageId::generate();
    s.sinks
        .append(&org, &app, std::slice::from_ref(&a.id), &next)
        .await
        .expect("append");
    let log_a = log(&s, &a.key()).await;
    assert_eq!(msgs(&log_a), [kept, next]);
    assert!(strictly_increasing(&log_a), "positions still grow: {log_a:?}");
}

pub async fn sink_consumers_keep_their_own_positions(s: Stores) {
    let org = OrgId::generate();
    let app = app_of(&s, &org).await;
    let (x, y) = (
        created(&s, &org, &app, None).await,
        created(&s, &org, &app, None).await,
    );
    let (x_key, y_key) = (x.key(), y.key());
    let at = |key: &SinkKey, consumer: &'static str| {
        let (s, key) = (s.clone(), key.clone());
        async move { s.sinks.consumer_position(&key, consumer).await.expect("position") }
    };
    let seek = |key: &SinkKey, consumer: &'static str, position: Position| {
        let (s, key) = (s.clone(), key.clone());
        async move {
            s.sinks
                .set_consumer_position(&key, consumer, position)
                .await
                .expect("seek")
        }
    };
    let (p1, p2, p3) = (
        Position { ms: 10, seq: 0 },
        Position { ms: 20, seq: 4 },
        Position { ms: 5, seq: 9 },
    );
    assert_eq!(at(&x_key, "one").await, None, "before its first read");
    seek(&x_key, "one", p1).await;
    assert_eq!(at(&x_key, "two").await, None, "another consumer has not moved");
    seek(&x_key, "two", p2).await;
    assert_eq!(at(&x_key, "one").await, Some(p1));
    assert_eq!(at(&x_key, "two").await, Some(p2));
    seek(&x_key, "one", p3).await;
    assert_eq!(at(&x_key, "one").await, Some(p3), "a consumer may seek back");
    assert_eq!(at(&x_key, "two").await, Some(p2));

    assert_eq!(
        at(&y_key, "one").await,
        None,
        "another sink's consumer of that name is separate"
    );
    seek(&y_key, "one", p2).await;
    assert_eq!(at(&x_key, "one").await, Some(p3));

    s.sinks.delete_sink(&org, &app, &x.id).await.expect("delete");
    assert_eq!(
        at(&x_key, "one").await,
        None,
        "deleting the sink forgets its consumers"
    );
    assert_eq!(at(&x_key, "two").await, None);
    assert_eq!(at(&y_key, "one").await, Some(p2), "other sinks keep theirs");
}
