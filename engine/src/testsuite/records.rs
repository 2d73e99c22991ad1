//! Applications, endpoints and event types: CRUD, uniqueness, missing rows, tenant isolation, pagination.

use super::fixtures::*;
use crate::id::{AppId, EndpointId, OrgId};
use crate::store::{ListQuery, Order, Ref, StoreErrorKind, Stores};

pub async fn application_crud(s: Stores) {
    let org = OrgId::generate();
    let mut app = application(&org, Some("billing"));
    s.applications.create_application(&app).await.expect("create");
    let by_id = s
        .applications
        .get_application(&org, &Ref::Id(app.id.clone()))
        .await
        .expect("get");
    assert_eq!(by_id.as_ref(), Some(&app));
    let by_uid = s
        .applications
        .get_application(&org, &Ref::Uid(uid("billing")))
        .await
        .expect("get");
    assert_eq!(by_uid.as_ref(), Some(&app));

    app.name = "renamed".into();
    app.uid = Some(uid("invoicing"));
    s.applications.update_application(&app).await.expect("update");
    let got = s
        .applications
        .get_application(&org, &Ref::Uid(uid("invoicing")))
        .await
        .expect("get");
    assert_eq!(got.map(|a| a.name), Some("renamed".to_owned()));
    let old = s
        .applications
        .get_application(&org, &Ref::Uid(uid("billing")))
        .await
        .expect("get");
    assert_eq!(old, None, "the old uid no longer resolves");

    let listed = s
        .applications
        .list_applications(&org, &ListQuery::first(10, Order::Ascending))
        .await;
    assert_eq!(listed.expect("list"), vec![app.clone()]);

    s.applications
        .delete_application(&org, &app.id)
        .await
        .expect("delete");
    assert_eq!(
        s.applications
            .get_application(&org, &Ref::Id(app.id.clone()))
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        s.applications
            .get_application(&org, &Ref::Uid(uid("invoicing")))
            .await
            .expect("get"),
        None
    );
    // The uid is free again.
    s.applications
        .create_application(&application(&org, Some("invoicing")))
        .await
        .expect("reuse uid");
}

pub async fn application_uid_conflicts(s: Stores) {
    let org = OrgId::generate();
    let a = application(&org, Some("x"));
    s.applications.create_application(&a).await.expect("create");
    let err = s
        .applications
        .create_application(&application(&org, Some("x")))
        .await;
    assert_kind(err, StoreErrorKind::Conflict, "second app with uid x");
    assert_kind(
        s.applications.create_application(&a).await,
        StoreErrorKind::Conflict,
        "same id twice",
    );

    let mut b = application(&org, Some("y"));
    s.applications.create_application(&b).await.expect("create y");
    b.uid = Some(uid("x"));
    assert_kind(
        s.applications.update_application(&b).await,
        StoreErrorKind::Conflict,
        "update onto x",
    );
    let y = s
        .applications
        .get_application(&org, &Ref::Uid(uid("y")))
        .await
        .expect("get");
    assert_eq!(
        y.map(|app| app.id),
        Some(b.id.clone()),
        "a refused update changes nothing"
    );
    // Keeping one's own uid is not a conflict.
    let mut a2 = a.clone();
    a2.name = "still x".into();
    s.applications
        .update_application(&a2)
        .await
        .expect("update keeping uid");
}

pub async fn endpoint_crud(s: Stores) {
    let org = OrgId::generate();
    let app = application(&org, None);
    s.applications.create_application(&app).await.expect("create app");
    let mut ep = endpoint(&org, &app.id, Some("main"));
    s.endpoints.create_endpoint(&ep).await.expect("create");
    let by_uid = s
        .endpoints
        .get_endpoint(&org, &app.id, &Ref::Uid(uid("main")))
        .await
        .expect("get");
    assert_eq!(by_uid.as_ref(), Some(&ep));

    ep.description = "changed".into();
    ep.uid = Some(uid("primary"));
    s.endpoints.update_endpoint(&ep).await.expect("update");
    let got = s
        .endpoints
        .get_endpoint(&org, &app.id, &Ref::Id(ep.id.clone()))
        .await
        .expect("get");
    assert_eq!(got.as_ref(), Some(&ep));
    let old = s
        .endpoints
        .get_endpoint(&org, &app.id, &Ref::Uid(uid("main")))
        .await
        .expect("get");
    assert_eq!(old, None);

    let other = endpoint(&org, &app.id, None);
    s.endpoints.create_endpoint(&other).await.expect("create second");
    let mut expected = vec![ep.id.clone(), other.id.clone()];
    expected.sort();
    let all = s.endpoints.endpoints_of_app(&org, &app.id).await.expect("all");
    assert_eq!(all.into_iter().map(|e| e.id).collect::<Vec<_>>(), expected);
    let desc = s
        .endpoints
        .list_endpoints(&org, &app.id, &ListQuery::first(10, Order::Descending))
        .await;
    expected.reverse();
    assert_eq!(
        desc.expect("list").into_iter().map(|e| e.id).collect::<Vec<_>>(),
        expected
    );

    s.endpoints
        .delete_endpoint(&org, &app.id, &ep.id)
        .await
        .expect("delete");
    assert_eq!(
        s.endpoints
            .get_endpoint(&org, &app.id, &Ref::Id(ep.id.clone()))
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        s.endpoints
            .get_endpoint(&org, &app.id, &Ref::Uid(uid("primary")))
            .await
            .expect("get"),
        None
    );
}

pub async fn endpoint_uid_conflicts(s: Stores) {
    let org = OrgId::generate();
    let (app1, app2) = (application(&org, None), application(&org, None));
    s.applications
        .create_application(&app1)
        .await
        .expect("create app");
    s.applications
        .create_application(&app2)
        .await
        .expect("create app");
    s.endpoints
        .create_endpoint(&endpoint(&org, &app1.id, Some("e")))
        .await
        .expect("create");
    let dup = s
        .endpoints
        .create_endpoint(&endpoint(&org, &app1.id, Some("e")))
        .await;
    assert_kind(dup, StoreErrorKind::Conflict, "same uid, same app");
    s.endpoints
        .create_endpoint(&endpoint(&org, &app2.id, Some("e")))
        .await
        .expect("same uid, other app");
    let mut f = endpoint(&org, &app1.id, Some("f"));
    s.endpoints.create_endpoint(&f).await.expect("create f");
    f.uid = Some(uid("e"));
    assert_kind(
        s.endpoints.update_endpoint(&f).await,
        StoreErrorKind::Conflict,
        "update onto e",
    );
}

pub async fn delete_application_deletes_its_endpoints(s: Stores) {
    let org = OrgId::generate();
    let app = application(&org, None);
    s.applications.create_application(&app).await.expect("create app");
    let ep = endpoint(&org, &app.id, Some("e"));
    s.endpoints.create_endpoint(&ep).await.expect("create endpoint");
    s.applications
        .delete_application(&org, &app.id)
        .await
        .expect("delete app");
    assert_eq!(
        s.endpoints
            .get_endpoint(&org, &app.id, &Ref::Id(ep.id.clone()))
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        s.endpoints
            .get_endpoint(&org, &app.id, &Ref::Uid(uid("e")))
            .await
            .expect("get"),
        None
    );
    assert!(
        s.endpoints
            .endpoints_of_app(&org, &app.id)
            .await
            .expect("all")
            .is_empty()
    );
    // The endpoint's uid went with it: the same application id may be created again and reuse it.
    s.applications
        .create_application(&app)
        .await
        .expect("recreate app");
    s.endpoints
        .create_endpoint(&endpoint(&org, &app.id, Some("e")))
        .await
        .expect("uid reusable");
}

pub async fn event_type_crud(s: Stores) {
    let org = OrgId::generate();
    let mut b = event_type(&org, "b.thing");
    let a = event_type(&org, "a.thing");
    s.event_types.create_event_type(&b).await.expect("create b");
    s.event_types.create_event_type(&a).await.expect("create a");
    let dup = s
        .event_types
        .create_event_type(&event_type(&org, "a.thing"))
        .await;
    assert_kind(dup, StoreErrorKind::Conflict, "same name");
    assert_eq!(
        s.event_types
            .get_event_type(&org, &a.name)
            .await
            .expect("get")
            .as_ref(),
        Some(&a)
    );

    b.archived = true;
    s.event_types.update_event_type(&b).await.expect("archive");
    let q = ListQuery::first(10, Order::Ascending);
    let names =
        |v: Vec<crate::domain::EventType>| v.into_iter().map(|e| e.name.to_string()).collect::<Vec<_>>();
    let live = s
        .event_types
        .list_event_types(&org, &q, false)
        .await
        .expect("list");
    assert_eq!(names(live), ["a.thing"]);
    let all = s
        .event_types
        .list_event_types(&org, &q, true)
        .await
        .expect("list");
    assert_eq!(
        names(all),
        ["a.thing", "b.thing"],
        "ordered by name, archived included when asked"
    );
    let dup_archived = s
        .event_types
        .create_event_type(&event_type(&org, "b.thing"))
        .await;
    assert_kind(
        dup_archived,
        StoreErrorKind::Conflict,
        "archived names stay taken",
    );

    s.event_types
        .delete_event_type(&org, &b.name)
        .await
        .expect("delete");
    assert_eq!(
        s.event_types.get_event_type(&org, &b.name).await.expect("get"),
        None
    );
}

pub async fn missing_rows_are_not_found(s: Stores) {
    let org = OrgId::generate();
    let app = application(&org, None);
    assert_kind(
        s.applications.update_application(&app).await,
        StoreErrorKind::NotFound,
        "update app",
    );
    let del = s.applications.delete_application(&org, &app.id).await;
    assert_kind(del, StoreErrorKind::NotFound, "delete app");
    let ep = endpoint(&org, &app.id, None);
    assert_kind(
        s.endpoints.update_endpoint(&ep).await,
        StoreErrorKind::NotFound,
        "update endpoint",
    );
    let del = s.endpoints.delete_endpoint(&org, &app.id, &ep.id).await;
    assert_kind(del, StoreErrorKind::NotFound, "delete endpoint");
    let et = event_type(&org, "nope");
    assert_kind(
        s.event_types.update_event_type(&et).await,
        StoreErrorKind::NotFound,
        "update event type",
    );
    let del = s.event_types.delete_event_type(&org, &et.name).await;
    assert_kind(del, StoreErrorKind::NotFound, "delete event type");
    let get = s
        .endpoints
        .get_endpoint(&org, &app.id, &Ref::Id(EndpointId::generate()))
        .await;
    assert_eq!(get.expect("get"), None);
}

pub async fn applications_paginate_both_ways(s: Stores) {
    let org = OrgId::generate();
    let mut ids: Vec<AppId> = Vec::new();
    for _ in 0..7 {
        let app = application(&org, None);
        s.applications.create_application(&app).await.expect("create");
        ids.push(app.id);
    }
    // Another tenant's rows must not leak into the pages.
    s.applications
        .create_application(&application(&OrgId::generate(), None))
        .await
        .expect("noise");
    ids.sort();
    let key = |a: &crate::domain::Application| a.id.to_string();
    let fetch = |q: ListQuery| {
        let (s, org) = (s.clone(), org.clone());
        async move { s.applications.list_applications(&org, &q).await }
    };
    for order in [Order::Ascending, Order::Descending] {
        let mut expected: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        if order == Order::Descending {
            expected.reverse();
        }
        let pages = pages_forward(3, order, key, fetch).await;
        let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
        assert_eq!(sizes, [3, 3, 1], "{order:?}");
        let seen: Vec<String> = pages.iter().flat_map(|p| p.items.iter().map(key)).collect();
        assert_eq!(seen, expected, "{order:?} forward");

        let last_prev = pages
            .last()
            .and_then(|p| p.prev_iterator.clone())
            .expect("prev iterator");
        let back = pages_backward(3, order, &last_prev, key, fetch).await;
        let mut back_seen: Vec<String> = Vec::new();
        for page in back.iter().rev() {
            back_seen.extend(page.items.iter().map(key));
        }
        assert_eq!(back_seen, expected[..6], "{order:?} backward");
        assert!(
            back.last().is_some_and(|p| p.done),
            "backward walk ends at the start"
        );
    }
}
