//! Tenant isolation: an organization can neither see nor change another's rows, and may reuse its ids, UIDs
//! and names.

use super::fixtures::*;
use crate::domain::{Application, Endpoint, Message};
use crate::id::OrgId;
use crate::store::{ListQuery, Order, Ref, StoreErrorKind, Stores};

/// Organization A's rows: an application (uid `shared`), an endpoint, an event type `only.a`, a message.
struct TenantA {
    org: OrgId,
    app: Application,
    ep: Endpoint,
    msg: Message,
}

async fn seed_a(s: &Stores) -> TenantA {
    let org = OrgId::generate();
    let app = application(&org, Some("shared"));
    s.applications
        .create_application(&app)
        .await
        .expect("create in a");
    let ep = endpoint(&org, &app.id, Some("ep"));
    s.endpoints.create_endpoint(&ep).await.expect("endpoint in a");
    let et = event_type(&org, "only.a");
    s.event_types
        .create_event_type(&et)
        .await
        .expect("event type in a");
    let msg = message(&org, &app.id, "only.a", Some("evt"), &[]);
    s.messages.create_message(&msg, &[]).await.expect("message in a");
    TenantA { org, app, ep, msg }
}

pub async fn tenants_cannot_see_each_other(s: Stores) {
    let a = seed_a(&s).await;
    let b = OrgId::generate();
    let app = s
        .applications
        .get_application(&b, &Ref::Id(a.app.id.clone()))
        .await;
    assert_eq!(app.expect("get"), None, "by id");
    let app = s.applications.get_application(&b, &Ref::Uid(uid("shared"))).await;
    assert_eq!(app.expect("get"), None, "by uid");
    let q = ListQuery::first(10, Order::Ascending);
    let listed = s.applications.list_applications(&b, &q).await.expect("list");
    assert!(listed.is_empty(), "listing");
    let ep = s
        .endpoints
        .get_endpoint(&b, &a.app.id, &Ref::Id(a.ep.id.clone()))
        .await;
    assert_eq!(ep.expect("get"), None, "endpoint");
    let eps = s.endpoints.endpoints_of_app(&b, &a.app.id).await.expect("all");
    assert!(eps.is_empty(), "endpoints of app");
    let et = s.event_types.get_event_type(&b, &name("only.a")).await;
    assert_eq!(et.expect("get"), None, "event type");
    let msg = s.messages.get_message(&b, &a.app.id, &a.msg.id).await;
    assert_eq!(msg.expect("get"), None, "message");
    let f = Default::default();
    let msgs = s
        .messages
        .list_messages(&b, &a.app.id, &f, &q)
        .await
        .expect("list");
    assert!(msgs.is_empty(), "message listing");
}

pub async fn tenants_cannot_change_each_other(s: Stores) {
    let a = seed_a(&s).await;
    let b = OrgId::generate();
    let mut hijack = a.app.clone();
    hijack.org_id = b.clone();
    let upd = s.applications.update_application(&hijack).await;
    assert_kind(upd, StoreErrorKind::NotFound, "update a's app");
    let del = s.applications.delete_application(&b, &a.app.id).await;
    assert_kind(del, StoreErrorKind::NotFound, "delete a's app");
    let del = s.endpoints.delete_endpoint(&b, &a.app.id, &a.ep.id).await;
    assert_kind(del, StoreErrorKind::NotFound, "delete a's endpoint");
    let del = s.event_types.delete_event_type(&b, &name("only.a")).await;
    assert_kind(del, StoreErrorKind::NotFound, "delete a's event type");

    // The same ids, uids and names are free in B.
    s.applications
        .create_application(&hijack)
        .await
        .expect("same id and uid in b");
    let mut ep_b = a.ep.clone();
    ep_b.org_id = b.clone();
    s.endpoints
        .create_endpoint(&ep_b)
        .await
        .expect("same endpoint id and uid in b");
    let et_b = event_type(&b, "only.a");
    s.event_types
        .create_event_type(&et_b)
        .await
        .expect("same name in b");
    let mut msg_b = a.msg.clone();
    msg_b.org_id = b.clone();
    s.messages
        .create_message(&msg_b, &[])
        .await
        .expect("same message id and eventId in b");
    s.applications
        .delete_application(&b, &a.app.id)
        .await
        .expect("b deletes its own");

    let kept = s
        .applications
        .get_application(&a.org, &Ref::Uid(uid("shared")))
        .await;
    assert_eq!(
        kept.expect("get"),
        Some(a.app.clone()),
        "a's application is untouched"
    );
    let kept = s
        .endpoints
        .get_endpoint(&a.org, &a.app.id, &Ref::Uid(uid("ep")))
        .await;
    assert_eq!(
        kept.expect("get"),
        Some(a.ep),
        "a's endpoint survived b's delete of the same app id"
    );
}
