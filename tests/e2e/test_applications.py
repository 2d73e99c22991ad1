"""Applications through the official SDK: CRUD, UIDs, pagination both ways, upsert and get-or-create."""

import pytest
from svix import Svix, SvixOptions
from svix.api import ApplicationListOptions
from svix.exceptions import HttpError
from svix.models import ApplicationIn, ApplicationPatch, EndpointIn

from helpers import org_token, unique


def test_create_and_get_by_id_and_uid(svix):
    uid = unique("app")
    app = svix.application.create(
        ApplicationIn(name="Create Me", uid=uid, metadata={"team": "e2e"})
    )
    assert app.id.startswith("app_")
    assert (app.name, app.uid, app.throttle_rate, app.metadata) == ("Create Me", uid, None, {"team": "e2e"})
    assert app.created_at == app.updated_at

    by_id = svix.application.get(app.id)
    by_uid = svix.application.get(uid)
    assert by_id == app
    assert by_uid == app


def test_create_answers_201(server):
    response = server.raw("POST", "/api/v1/app", {"name": "raw", "uid": unique("raw")})
    assert response.status == 201, response.body
    assert response.json()["id"].startswith("app_")


def test_list_paginates_forward_and_backward(server):
    # A tenant of its own, so that exactly these five applications are listed.
    own = Svix(org_token(server.jwt_secret, f"org_{unique('pg').replace('-', '')}"),
               SvixOptions(server_url=server.url, retry_schedule=[]))
    ids = sorted(own.application.create(ApplicationIn(name=f"page {i}")).id for i in range(5))

    first = own.application.list(ApplicationListOptions(limit=2))
    assert [a.id for a in first.data] == ids[0:2]
    assert first.done is False and first.iterator

    second = own.application.list(ApplicationListOptions(limit=2, iterator=first.iterator))
    assert [a.id for a in second.data] == ids[2:4]
    assert second.done is False and second.iterator

    third = own.application.list(ApplicationListOptions(limit=2, iterator=second.iterator))
    assert [a.id for a in third.data] == ids[4:5]
    assert third.done is True

    assert third.prev_iterator, "a page after the first must offer a way back"
    back = own.application.list(ApplicationListOptions(limit=2, iterator=third.prev_iterator))
    assert [a.id for a in back.data] == ids[2:4]
    assert second.prev_iterator
    back_to_first = own.application.list(ApplicationListOptions(limit=2, iterator=second.prev_iterator))
    assert [a.id for a in back_to_first.data] == ids[0:2]


def test_upsert_creates_then_updates(svix, server):
    uid = unique("upsert")
    created = svix.application.upsert(uid, ApplicationIn(name="first", metadata={"v": "1"}))
    assert created.uid == uid and created.name == "first"
    assert svix.application.get(uid).id == created.id

    updated = svix.application.upsert(uid, ApplicationIn(name="second", metadata={"v": "2"}))
    assert updated.id == created.id
    assert (updated.name, updated.metadata) == ("second", {"v": "2"})
    assert updated.updated_at >= created.updated_at
    assert svix.application.get(created.id).name == "second"

    # The SDK hides the status; the contract says 201 for a creation and 200 for an update.
    raw_uid = unique("upsert-raw")
    assert server.raw("PUT", f"/api/v1/app/{raw_uid}", {"name": "a"}).status == 201
    assert server.raw("PUT", f"/api/v1/app/{raw_uid}", {"name": "b"}).status == 200


def test_patch_changes_only_given_fields_and_null_clears_uid(svix):
    uid = unique("patch")
    app = svix.application.create(ApplicationIn(name="before", uid=uid, metadata={"k": "v"}))

    renamed = svix.application.patch(app.id, ApplicationPatch(name="after"))
    assert (renamed.name, renamed.uid, renamed.metadata) == ("after", uid, {"k": "v"})

    cleared = svix.application.patch(app.id, ApplicationPatch(uid=None))
    assert cleared.uid is None
    assert svix.application.get(app.id).uid is None
    with pytest.raises(HttpError) as e:
        svix.application.get(uid)
    assert e.value.status_code == 404


def test_get_or_create_returns_the_same_app_twice(svix, server):
    uid = unique("goc")
    first = svix.application.get_or_create(ApplicationIn(name="goc", uid=uid))
    second = svix.application.get_or_create(ApplicationIn(name="ignored", uid=uid))
    assert second.id == first.id
    assert second.name == "goc"

    raw_uid = unique("goc-raw")
    body = {"name": "x", "uid": raw_uid}
    assert server.raw("POST", "/api/v1/app?get_if_exists=true", body).status == 201
    assert server.raw("POST", "/api/v1/app?get_if_exists=true", body).status == 200


def test_delete_then_get_is_404(svix):
    app = svix.application.create(ApplicationIn(name="doomed", uid=unique("del")))
    svix.application.delete(app.id)
    with pytest.raises(HttpError) as e:
        svix.application.get(app.id)
    assert e.value.status_code == 404
    assert e.value.code == "not_found"
    with pytest.raises(HttpError) as e:
        svix.application.get(app.uid)
    assert e.value.status_code == 404


def test_duplicate_uid_is_409(svix):
    uid = unique("dup")
    svix.application.create(ApplicationIn(name="one", uid=uid))
    with pytest.raises(HttpError) as e:
        svix.application.create(ApplicationIn(name="two", uid=uid))
    assert e.value.status_code == 409
    assert e.value.code == "conflict"


def test_list_leaves_out_applications_by_their_endpoints(server):
    own = Svix(org_token(server.jwt_secret, f"org_{unique('ex').replace('-', '')}"),
               SvixOptions(server_url=server.url, retry_schedule=[]))
    bare = own.application.create(ApplicationIn(name="no endpoints")).id
    off = own.application.create(ApplicationIn(name="only disabled endpoints")).id
    own.endpoint.create(off, EndpointIn(url="https://example.com/off", disabled=True))
    live = own.application.create(ApplicationIn(name="an enabled endpoint")).id
    own.endpoint.create(live, EndpointIn(url="https://example.com/off", disabled=True))
    own.endpoint.create(live, EndpointIn(url="https://example.com/on"))

    def listed(**filters):
        # One application a page, so that the filtered walk crosses pages.
        ids, iterator = [], None
        while True:
            page = own.application.list(ApplicationListOptions(limit=1, iterator=iterator, **filters))
            ids += [a.id for a in page.data]
            if page.done:
                return sorted(ids)
            iterator = page.iterator

    assert listed() == sorted([bare, off, live])
    assert listed(exclude_apps_with_no_endpoints=True) == sorted([off, live])
    assert listed(exclude_apps_with_disabled_endpoints=True) == sorted([bare, live])
    assert listed(exclude_apps_with_no_endpoints=True, exclude_apps_with_disabled_endpoints=True) == [live]
    # Xwebhook has no Svix Play endpoints, so no application has only those.
    assert listed(exclude_apps_with_svix_play_endpoints=True) == sorted([bare, off, live])
