//! Writing destinations without an attempt: the state is overwritten and the status filters follow it.

use crate::domain::MessageStatus;
use crate::id::{AppId, EndpointId, OrgId};
use crate::store::{DestinationFilter, ListQuery, Order, Stores, TimeTypeChannel};
use crate::testsuite::fixtures::{destination, message};

pub async fn put_destinations_overwrites_state(s: Stores) {
    let (org, app, ep) = (OrgId::generate(), AppId::generate(), EndpointId::generate());
    let msg = message(&org, &app, "a.b", None, &[]);
    let mut d = destination(&msg, &ep, MessageStatus::Sending);
    d.next_attempt = Some(chrono::Utc::now());
    s.attempts
        .create_destinations(std::slice::from_ref(&d))
        .await
        .expect("create");

    d.status = MessageStatus::Fail;
    d.next_attempt = None;
    s.attempts
        .put_destinations(std::slice::from_ref(&d))
        .await
        .expect("put");
    let stored = s
        .attempts
        .get_destination(&org, &app, &msg.id, &ep)
        .await
        .expect("get");
    let stored = stored.expect("the destination exists");
    assert_eq!((stored.status, stored.next_attempt), (MessageStatus::Fail, None));

    let failed = DestinationFilter {
        status: Some(MessageStatus::Fail),
        ..DestinationFilter::default()
    };
    let q = ListQuery::first(10, Order::Ascending);
    let listed = s
        .attempts
        .list_destinations_by_endpoint(&org, &app, &ep, &failed, &q)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1, "the status filter sees the new state");
    let counts = s
        .attempts
        .destination_counts(&org, &app, &ep, &TimeTypeChannel::default())
        .await
        .expect("counts");
    assert_eq!((counts.fail, counts.sending), (1, 0));

    s.attempts
        .put_destinations(&[])
        .await
        .expect("nothing to write is fine");
}
