"""Event types through the official SDK: create, read, list with and without archived, upsert, patch, delete."""

import pytest
from svix import Svix, SvixOptions
from svix.api import EventTypeDeleteOptions, EventTypeListOptions
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import AppPortalAccessIn, EndpointIn, EventTypeIn, EventTypePatch, EventTypeUpsertIn

from helpers import org_token, unique, unique_event_type

SCHEMA = {"1": {"type": "object", "properties": {"id": {"type": "string"}}}}


@pytest.fixture
def own_org(server):
    """A client for a tenant of its own: event types are organization-wide, so listings must not see others'."""
    org = f"org_{unique('et').replace('-', '')}"
    return Svix(org_token(server.jwt_secret, org), SvixOptions(server_url=server.url, retry_schedule=[]))


def names(page):
    return [t.name for t in page.data]


def test_create_and_get(svix):
    name = unique_event_type()
    created = svix.event_type.create(EventTypeIn(name=name, description="A thing", schemas=SCHEMA))
    assert (created.name, created.description, created.deprecated) == (name, "A thing", False)
    assert not created.archived

    got = svix.event_type.get(name)
    assert (got.name, got.description, got.schemas) == (name, "A thing", SCHEMA)


def test_create_twice_is_409(svix):
    name = unique_event_type()
    svix.event_type.create(EventTypeIn(name=name, description="once"))
    with pytest.raises(HttpError) as e:
        svix.event_type.create(EventTypeIn(name=name, description="twice"))
    assert e.value.status_code == 409


def test_list_and_archive_hides_unless_include_archived(own_org):
    keep, drop = "a.kept", "b.dropped"
    for name in (keep, drop):
        own_org.event_type.create(EventTypeIn(name=name, description=name))
    assert names(own_org.event_type.list()) == [keep, drop]

    own_org.event_type.delete(drop)
    assert names(own_org.event_type.list()) == [keep]
    listed = own_org.event_type.list(EventTypeListOptions(include_archived=True))
    assert names(listed) == [keep, drop]
    assert [t.archived for t in listed.data] == [False, True]
    assert own_org.event_type.get(drop).archived is True


def test_list_paginates(own_org):
    for i in range(3):
        own_org.event_type.create(EventTypeIn(name=f"page.{i}", description="p"))
    first = own_org.event_type.list(EventTypeListOptions(limit=2))
    assert names(first) == ["page.0", "page.1"] and first.done is False
    rest = own_org.event_type.list(EventTypeListOptions(limit=2, iterator=first.iterator))
    assert names(rest) == ["page.2"] and rest.done is True


def test_upsert_creates_then_updates(svix):
    name = unique_event_type()
    created = svix.event_type.upsert(name, EventTypeUpsertIn(description="v1"))
    assert (created.name, created.description) == (name, "v1")
    updated = svix.event_type.upsert(name, EventTypeUpsertIn(description="v2", deprecated=True))
    assert (updated.description, updated.deprecated) == ("v2", True)
    assert updated.created_at == created.created_at
    assert svix.event_type.get(name).description == "v2"


def test_patch_changes_only_given_fields(svix):
    name = unique_event_type()
    svix.event_type.create(EventTypeIn(name=name, description="orig", schemas=SCHEMA))
    patched = svix.event_type.patch(name, EventTypePatch(deprecated=True))
    assert (patched.description, patched.deprecated, patched.schemas) == ("orig", True, SCHEMA)
    patched = svix.event_type.patch(name, EventTypePatch(description="new"))
    assert (patched.description, patched.deprecated) == ("new", True)


def test_delete_with_expunge_removes_for_good(own_org):
    own_org.event_type.create(EventTypeIn(name="gone.for.good", description="x"))
    own_org.event_type.delete("gone.for.good", EventTypeDeleteOptions(expunge=True))
    with pytest.raises(HttpError) as e:
        own_org.event_type.get("gone.for.good")
    assert e.value.status_code == 404
    assert names(own_org.event_type.list(EventTypeListOptions(include_archived=True))) == []
    # The name is free again.
    again = own_org.event_type.create(EventTypeIn(name="gone.for.good", description="back"))
    assert again.description == "back" and not again.archived



def test_feature_flags_and_group_name_are_kept(svix):
    name = unique_event_type()
    created = svix.event_type.create(
        EventTypeIn(name=name, description="flagged", feature_flags=["beta", "gamma"], group_name="billing")
    )
    assert (created.feature_flags, created.feature_flag, created.group_name) == (["beta", "gamma"], "beta", "billing")
    patched = svix.event_type.patch(name, EventTypePatch(feature_flags=["delta"], group_name=None))
    assert (patched.feature_flags, patched.group_name) == (["delta"], None)
    assert svix.event_type.get(name).feature_flags == ["delta"]
    with pytest.raises(HTTPValidationError) as e:
        svix.event_type.patch(name, EventTypePatch(feature_flags=["not a flag"]))
    assert (e.value.status_code, e.value.detail[0].loc) == (422, ["body", "featureFlags"])


def test_a_flagged_event_type_is_seen_only_by_portal_tokens_with_its_flag(server, svix, app):
    flagged, plain = unique_event_type(), unique_event_type()
    svix.event_type.create(EventTypeIn(name=flagged, description="beta only", feature_flags=["beta"]))
    svix.event_type.create(EventTypeIn(name=plain, description="for all"))

    def portal(flags):
        token = svix.authentication.app_portal_access(app.id, AppPortalAccessIn(feature_flags=flags)).token
        return Svix(token, SvixOptions(server_url=server.url, retry_schedule=[]))

    def listed(client):
        names = set()
        options = EventTypeListOptions(limit=250)
        while True:
            page = client.event_type.list(options)
            names |= {t.name for t in page.data}
            if page.done:
                return names
            options = EventTypeListOptions(limit=250, iterator=page.iterator)

    beta, nothing = portal(["beta"]), portal([])
    assert {flagged, plain} <= listed(beta)
    assert plain in listed(nothing) and flagged not in listed(nothing)
    assert beta.event_type.get(flagged).name == flagged
    with pytest.raises(HttpError) as e:
        nothing.event_type.get(flagged)
    assert e.value.status_code == 404
    with pytest.raises(HTTPValidationError) as e:
        nothing.endpoint.create(app.id, EndpointIn(url="https://example.com/hook", event_types=[flagged]))
    assert e.value.detail[0].loc == ["body", "eventTypes"]
    assert flagged in listed(svix)
