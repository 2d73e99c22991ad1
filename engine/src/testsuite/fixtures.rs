//! Records and helpers the cases build on. Panics are the point here: a fixture that cannot be built is a
//! broken test.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use chrono::Utc;

use crate::domain::{
    Application, Attempt, Channel, Destination, Endpoint, EndpointSecret, EndpointUrl, EventType,
    EventTypeName, Message, MessageStatus, Metadata, Payload, SecretSet, Sink, TriggerType, Uid,
};
use crate::id::{AppId, AttemptId, EndpointId, MessageId, OrgId, SinkId};
use crate::store::{Cursor, DeliverTask, ListQuery, Order, Page, StoreErrorKind, StoreResult, Task};

pub fn uid(s: &str) -> Uid {
    s.parse().expect("valid uid")
}

pub fn name(s: &str) -> EventTypeName {
    s.parse().expect("valid event type name")
}

pub fn channels(names: &[&str]) -> Option<BTreeSet<Channel>> {
    (!names.is_empty()).then(|| names.iter().map(|c| c.parse().expect("valid channel")).collect())
}

pub fn application(org: &OrgId, uid_: Option<&str>) -> Application {
    let now = Utc::now();
    Application {
        id: AppId::generate(),
        org_id: org.clone(),
        uid: uid_.map(uid),
        name: "app".into(),
        rate_limit: None,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    }
}

pub fn endpoint(org: &OrgId, app: &AppId, uid_: Option<&str>) -> Endpoint {
    let now = Utc::now();
    Endpoint {
        id: EndpointId::generate(),
        org_id: org.clone(),
        app_id: app.clone(),
        uid: uid_.map(uid),
        url: EndpointUrl::try_from("https://example.com/hook".to_owned()).expect("valid url"),
        description: String::new(),
        disabled: false,
        event_types: None,
        channels: None,
        rate_limit: None,
        metadata: Metadata::new(),
        secrets: SecretSet::new(EndpointSecret::generate()),
        headers: BTreeMap::new(),
        created_at: now,
        updated_at: now,
    }
}

/// A polling sink of no UID that takes every message, with the defaults the API gives.
pub fn sink(org: &OrgId, app: &AppId) -> Sink {
    let now = Utc::now();
    Sink {
        id: SinkId::generate(),
        org_id: org.clone(),
        app_id: app.clone(),
        uid: None,
        type_name: "pollingEndpoint".into(),
        config: serde_json::json!({}),
        disabled: false,
        batch_size: Sink::DEFAULT_BATCH_SIZE,
        max_wait_secs: Sink::DEFAULT_MAX_WAIT_SECS,
        event_types: None,
        channels: None,
        metadata: Metadata::new(),
        secrets: SecretSet::new(EndpointSecret::generate()),
        created_at: now,
        updated_at: now,
    }
}

pub fn event_type(org: &OrgId, name_: &str) -> EventType {
    let now = Utc::now();
    EventType {
        org_id: org.clone(),
        name: name(name_),
        description: String::new(),
        archived: false,
        deprecated: false,
        schemas: None,
        feature_flags: Vec::new(),
        group_name: None,
        created_at: now,
        updated_at: now,
    }
}

/// A message created now; its `created_at` is its id's time, as the API stamps them.
pub fn message(org: &OrgId, app: &AppId, type_: &str, event_id: Option<&str>, chans: &[&str]) -> Message {
    let id = MessageId::generate();
    let raw = serde_json::value::RawValue::from_string(r#"{"k":1}"#.to_owned()).expect("valid json");
    Message {
        created_at: id.timestamp(),
        id,
        org_id: org.clone(),
        app_id: app.clone(),
        event_type: name(type_),
        event_id: event_id.map(uid),
        channels: channels(chans),
        payload: Payload::from_raw(raw).expect("an object"),
        retention_days: 90,
        retention_hours: None,
        deliver_at: None,
        tags: Vec::new(),
    }
}

pub fn attempt(msg: &Message, ep: &EndpointId, status: MessageStatus, code: i16) -> Attempt {
    Attempt {
        id: AttemptId::generate(),
        org_id: msg.org_id.clone(),
        app_id: msg.app_id.clone(),
        msg_id: msg.id.clone(),
        endpoint_id: ep.clone(),
        url: "https://example.com/hook".into(),
        status,
        response_status_code: code,
        response: String::new(),
        response_duration_ms: 5,
        trigger: TriggerType::Scheduled,
        event_type: msg.event_type.clone(),
        channels: msg.channels.clone(),
        tags: msg.tags.clone(),
        created_at: Utc::now(),
    }
}

pub fn destination(msg: &Message, ep: &EndpointId, status: MessageStatus) -> Destination {
    Destination {
        org_id: msg.org_id.clone(),
        app_id: msg.app_id.clone(),
        msg_id: msg.id.clone(),
        endpoint_id: ep.clone(),
        status,
        next_attempt: None,
        attempts: 0,
        event_type: msg.event_type.clone(),
        channels: msg.channels.clone(),
        tags: msg.tags.clone(),
        updated_at: Utc::now(),
    }
}

/// A task naming a fresh message, so tasks can be told apart by `msg_id`.
pub fn task(org: &OrgId) -> Task {
    Task::fan_out(org.clone(), AppId::generate(), MessageId::generate(), None)
}

/// A scheduled delivery of a fresh message to a fresh endpoint, `attempt` earlier attempts in.
pub fn delivery_task(attempt: u16) -> Task {
    delivery_task_to(&EndpointId::generate(), attempt)
}

/// A scheduled delivery of a fresh message to `endpoint_id`, `attempt` earlier attempts in.
pub fn delivery_task_to(endpoint_id: &EndpointId, attempt: u16) -> Task {
    let deliver = DeliverTask {
        endpoint_id: endpoint_id.clone(),
        attempt,
        trigger: TriggerType::Scheduled,
        replay: None,
    };
    Task::deliver(
        OrgId::generate(),
        AppId::generate(),
        MessageId::generate(),
        deliver,
        None,
    )
}

/// Ids of distinct times: ULIDs made within one millisecond are not ordered among themselves.
pub async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

pub fn assert_kind<T: std::fmt::Debug>(result: StoreResult<T>, kind: StoreErrorKind, what: &str) {
    match result {
        Err(e) => assert_eq!(e.kind, kind, "{what}: {e}"),
        Ok(v) => panic!("{what}: expected {kind:?}, got Ok({v:?})"),
    }
}

/// Every page of a listing, following `iterator` from the start until `done`.
pub async fn pages_forward<T, F, Fut>(
    limit: usize,
    order: Order,
    key: fn(&T) -> String,
    fetch: F,
) -> Vec<Page<T>>
where
    F: Fn(ListQuery) -> Fut,
    Fut: Future<Output = StoreResult<Vec<T>>>,
{
    walk_pages(ListQuery::first(limit, order), key, fetch, |p| p.iterator.clone()).await
}

/// Every page before `start` (a `-key` iterator), following `prev_iterator` until `done`.
pub async fn pages_backward<T, F, Fut>(
    limit: usize,
    order: Order,
    start: &str,
    key: fn(&T) -> String,
    fetch: F,
) -> Vec<Page<T>>
where
    F: Fn(ListQuery) -> Fut,
    Fut: Future<Output = StoreResult<Vec<T>>>,
{
    let query = ListQuery::new(limit, Some(Cursor::parse(start)), order);
    walk_pages(query, key, fetch, |p| p.prev_iterator.clone()).await
}

async fn walk_pages<T, F, Fut>(
    mut query: ListQuery,
    key: fn(&T) -> String,
    fetch: F,
    next: impl Fn(&Page<T>) -> Option<String>,
) -> Vec<Page<T>>
where
    F: Fn(ListQuery) -> Fut,
    Fut: Future<Output = StoreResult<Vec<T>>>,
{
    let mut pages = Vec::new();
    loop {
        let rows = fetch(query.clone()).await.expect("listing");
        let page = Page::from_walk(rows, &query, key);
        let done = page.done;
        let cursor = next(&page);
        pages.push(page);
        assert!(pages.len() <= 1000, "pagination does not end");
        match cursor {
            Some(c) if !done => query = ListQuery::new(query.limit, Some(Cursor::parse(&c)), query.order),
            _ => return pages,
        }
    }
}
