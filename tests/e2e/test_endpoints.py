"""Endpoints through the official SDK: CRUD, secrets and their rotation, custom headers, validation."""

import json

import pytest
from svix.api import EndpointListOptions
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import (
    EndpointHeadersIn,
    EndpointHeadersPatchIn,
    EndpointIn,
    EndpointPatch,
    EndpointSecretRotateIn,
    EndpointUpsertIn,
    MessageIn,
)
from svix.webhooks import Webhook

from helpers import unique

# A valid `whsec_` secret: base64 of 24 bytes.
FIXED_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_create_with_all_fields_then_get_by_id_and_uid(svix, app, event_type, receiver):
    url, _ = receiver.endpoint()
    uid = unique("ep")
    created = svix.endpoint.create(app.id, EndpointIn(
        url=url, description="main", uid=uid, throttle_rate=12, event_types=[event_type],
        channels=["blue", "green"], metadata={"owner": "e2e"},
    ))
    assert created.id.startswith("ep_")
    assert (created.url, created.description, created.uid, created.throttle_rate) == (url, "main", uid, 12)
    assert created.event_types == [event_type]
    assert sorted(created.channels) == ["blue", "green"]
    assert created.metadata == {"owner": "e2e"}
    assert not created.disabled

    assert svix.endpoint.get(app.id, created.id) == created
    assert svix.endpoint.get(app.uid, uid) == created


def test_list_endpoints(svix, app, receiver):
    made = {svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0])).id for _ in range(3)}
    listed = svix.endpoint.list(app.id)
    assert {e.id for e in listed.data} == made and listed.done is True
    first = svix.endpoint.list(app.id, EndpointListOptions(limit=2))
    rest = svix.endpoint.list(app.id, EndpointListOptions(limit=2, iterator=first.iterator))
    assert len(first.data) == 2 and first.done is False
    assert {e.id for e in first.data + rest.data} == made and rest.done is True


def test_upsert_creates_then_updates(svix, app, receiver):
    uid = unique("ep-upsert")
    url1, url2 = receiver.endpoint()[0], receiver.endpoint()[0]
    created = svix.endpoint.upsert(app.id, uid, EndpointUpsertIn(url=url1, description="one"))
    assert (created.uid, created.url, created.description) == (uid, url1, "one")
    updated = svix.endpoint.upsert(app.id, uid, EndpointUpsertIn(url=url2, description="two"))
    assert updated.id == created.id
    assert (updated.url, updated.description) == (url2, "two")
    assert svix.endpoint.get(app.id, created.id).url == url2


def test_patch_changes_only_given_fields(svix, app, event_type, receiver):
    url, _ = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(
        url=url, description="before", event_types=[event_type], channels=["c"], metadata={"a": "b"},
    ))
    patched = svix.endpoint.patch(app.id, ep.id, EndpointPatch(description="after", disabled=True))
    assert (patched.description, patched.disabled, patched.url) == ("after", True, url)
    assert (patched.event_types, patched.channels, patched.metadata) == ([event_type], ["c"], {"a": "b"})

    # An explicit null lifts the filter: the endpoint then gets every event type.
    cleared = svix.endpoint.patch(app.id, ep.id, EndpointPatch(event_types=None))
    assert cleared.event_types is None
    assert cleared.channels == ["c"]


def test_delete_then_get_is_404(svix, app, receiver):
    ep = svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0]))
    svix.endpoint.delete(app.id, ep.id)
    with pytest.raises(HttpError) as e:
        svix.endpoint.get(app.id, ep.id)
    assert e.value.status_code == 404
    assert svix.endpoint.list(app.id).data == []


def test_get_secret_returns_the_given_or_a_generated_secret(svix, app, receiver):
    given = svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0], secret=FIXED_SECRET))
    assert svix.endpoint.get_secret(app.id, given.id).key == FIXED_SECRET
    generated = svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0]))
    key = svix.endpoint.get_secret(app.id, generated.id).key
    assert key.startswith("whsec_") and key != FIXED_SECRET
    Webhook(key)  # the SDK must be able to use it


def test_rotate_secret_signs_with_old_and_new(svix, app, receiver):
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    old = svix.endpoint.get_secret(app.id, ep.id).key

    rotated = svix.endpoint.rotate_secret(app.id, ep.id, EndpointSecretRotateIn())
    new = rotated.key
    assert new.startswith("whsec_") and new != old
    assert svix.endpoint.get_secret(app.id, ep.id).key == new

    msg = svix.message.create(app.id, MessageIn(event_type="rotation.test", payload={"n": 1}))
    (delivery,) = receiver.wait_for(path, 1)
    signatures = delivery.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2, signatures
    assert all(s.startswith("v1,") for s in signatures)
    assert delivery.headers["webhook-id"] == msg.id
    Webhook(new).verify(delivery.body, delivery.headers)
    Webhook(old).verify(delivery.body, delivery.headers)


def test_rotate_to_a_given_key(svix, app, receiver):
    ep = svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0]))
    out = svix.endpoint.rotate_secret(app.id, ep.id, EndpointSecretRotateIn(key=FIXED_SECRET))
    assert out.key == FIXED_SECRET
    assert svix.endpoint.get_secret(app.id, ep.id).key == FIXED_SECRET


def test_headers_set_get_patch_and_delivered(svix, app, receiver):
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    svix.endpoint.set_headers(app.id, ep.id, EndpointHeadersIn(
        headers={"X-Custom": "one", "Authorization": "Bearer s3cret"},
    ))
    shown = svix.endpoint.get_headers(app.id, ep.id)
    assert {k.lower(): v for k, v in shown.headers.items()} == {"x-custom": "one"}
    assert [s.lower() for s in shown.sensitive] == ["authorization"]

    svix.endpoint.patch_headers(app.id, ep.id, EndpointHeadersPatchIn(
        headers={"X-Other": "two"}, delete_headers=["X-Custom"],
    ))
    shown = svix.endpoint.get_headers(app.id, ep.id)
    assert {k.lower(): v for k, v in shown.headers.items()} == {"x-other": "two"}
    assert [s.lower() for s in shown.sensitive] == ["authorization"]

    svix.message.create(app.id, MessageIn(event_type="headers.test", payload={"h": True}))
    (delivery,) = receiver.wait_for(path, 1)
    assert delivery.headers["x-other"] == "two"
    assert delivery.headers["authorization"] == "Bearer s3cret"
    assert "x-custom" not in delivery.headers
    assert json.loads(delivery.body) == {"h": True}


def test_unknown_event_type_is_a_located_422(svix, app, receiver):
    with pytest.raises(HTTPValidationError) as e:
        svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0], event_types=["no.such.type"]))
    assert e.value.status_code == 422
    (problem,) = e.value.detail
    assert problem.loc[0] == "body" and problem.loc[1] in ("eventTypes", "filterTypes"), problem.loc
    assert "no.such.type" in problem.msg


def test_invalid_url_is_a_located_422(svix, app):
    with pytest.raises(HTTPValidationError) as e:
        svix.endpoint.create(app.id, EndpointIn(url="not a url"))
    assert e.value.status_code == 422
    assert e.value.detail[0].loc == ["body", "url"]
