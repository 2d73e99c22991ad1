//! The delivery path's batched writes: many attempts and their destinations in one call, all or nothing.

use chrono::Utc;
use xwebhook_engine::domain::{Attempt, Destination, MessageStatus, TriggerType};
use xwebhook_engine::id::{AppId, AttemptId, EndpointId, MessageId, OrgId};
use xwebhook_engine::store::{AttemptFilter, AttemptRecord, AttemptStore, ListQuery, Order, StoreErrorKind};

use crate::helpers::{connect, store};

fn record(
    org: &OrgId,
    app: &AppId,
    msg: &MessageId,
    ep: &EndpointId,
    status: MessageStatus,
) -> AttemptRecord {
    let attempt = Attempt {
        id: AttemptId::generate(),
        org_id: org.clone(),
        app_id: app.clone(),
        msg_id: msg.clone(),
        endpoint_id: ep.clone(),
        url: "https://example.com/hook".into(),
        status,
        response_status_code: if status == MessageStatus::Success {
            200
        } else {
            503
        },
        response: "ok".into(),
        response_duration_ms: 3,
        trigger: TriggerType::Scheduled,
        event_type: "a.b".parse().expect("name"),
        channels: Some(["x".parse().expect("channel"), "y".parse().expect("channel")].into()),
        tags: vec!["t".into()],
        created_at: Utc::now(),
    };
    let destination = Destination {
        org_id: org.clone(),
        app_id: app.clone(),
        msg_id: msg.clone(),
        endpoint_id: ep.clone(),
        status,
        next_attempt: None,
        attempts: 1,
        event_type: attempt.event_type.clone(),
        channels: attempt.channels.clone(),
        tags: attempt.tags.clone(),
        updated_at: Utc::now(),
    };
    AttemptRecord { attempt, destination }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_attempts_in_one_call() {
    let (pg, schema) = store().await;
    let (org, app, ep) = (OrgId::generate(), AppId::generate(), EndpointId::generate());
    let msgs: Vec<MessageId> = (0..500).map(|_| MessageId::generate()).collect();
    // Two attempts per destination in the same batch: a failure then a success. The last one must win.
    let mut records: Vec<AttemptRecord> = Vec::new();
    for msg in &msgs {
        records.push(record(&org, &app, msg, &ep, MessageStatus::Fail));
        records.push(record(&org, &app, msg, &ep, MessageStatus::Success));
    }
    let started = std::time::Instant::now();
    pg.record_attempts(&records).await.expect("record");
    eprintln!("recorded {} attempts in {:?}", records.len(), started.elapsed());

    let client = connect(&schema).await;
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.expect("count").get::<_, i64>(0) }
    };
    assert_eq!(count("SELECT count(*) FROM attempts").await, 1000);
    assert_eq!(
        count("SELECT count(*) FROM destinations WHERE status = 0").await,
        500
    );
    assert_eq!(count("SELECT count(*) FROM destinations").await, 500);
    let d = pg.get_destination(&org, &app, &msgs[7], &ep).await.expect("get");
    assert_eq!(
        d,
        Some(records[15].destination.clone()),
        "the batch's last write stays"
    );

    let all = ListQuery::first(250, Order::Ascending);
    let f = AttemptFilter {
        common: xwebhook_engine::store::TimeTypeChannel {
            channel: Some("y".parse().expect("channel")),
            ..Default::default()
        },
        ..Default::default()
    };
    let listed = pg
        .list_attempts_by_endpoint(&org, &app, &ep, &f, &all)
        .await
        .expect("list");
    assert_eq!(listed.len(), 251, "channels survive the batch encoding");
    let first = &records[0].attempt;
    let got = pg
        .get_attempt(&org, &app, &first.msg_id, &first.id)
        .await
        .expect("get");
    assert_eq!(got.as_ref(), Some(first), "an attempt reads back as written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_writes_nothing() {
    let (pg, schema) = store().await;
    let (org, app, ep) = (OrgId::generate(), AppId::generate(), EndpointId::generate());
    let first = record(&org, &app, &MessageId::generate(), &ep, MessageStatus::Success);
    pg.record_attempts(std::slice::from_ref(&first))
        .await
        .expect("record");
    // A new attempt and a repeated one: the repeat breaks the primary key, so neither may land.
    let fresh = record(&org, &app, &MessageId::generate(), &ep, MessageStatus::Fail);
    let err = pg.record_attempts(&[fresh.clone(), first]).await;
    assert_eq!(err.map_err(|e| e.kind), Err(StoreErrorKind::Conflict));
    let client = connect(&schema).await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM attempts", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 1);
    let d = fresh.destination;
    let got = pg.get_destination(&org, &app, &d.msg_id, &ep).await.expect("get");
    assert_eq!(got, None, "the destination upsert rolled back with the attempts");
}
