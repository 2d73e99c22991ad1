"""Messages through the official SDK: sending, delivery and its signature, reading, listing with filters."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from svix.api import (
    MessageAttemptListAttemptedMessagesOptions,
    MessageAttemptListByEndpointOptions,
    MessageAttemptListByMsgOptions,
    MessageCreateOptions,
    MessageGetOptions,
    MessageListOptions,
)
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import ApplicationIn, EndpointIn, EndpointPatch, MessageIn, MessagePrecheckIn
from svix.webhooks import Webhook

from helpers import unique, wait_until

PAYLOAD = {"user": {"id": "u_1", "tags": ["a", "b"]}, "amount": 12.5, "note": "héllo"}


def test_create_delivers_a_verifiable_webhook(svix, app, receiver):
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    secret = svix.endpoint.get_secret(app.id, ep.id).key

    msg = svix.message.create(app.id, MessageIn(event_type="invoice.paid", payload=PAYLOAD, event_id=unique("evt")))
    assert msg.id.startswith("msg_")
    assert msg.event_type == "invoice.paid"

    (delivery,) = receiver.wait_for(path, 1)
    assert delivery.headers["webhook-id"] == msg.id
    assert delivery.headers["content-type"].startswith("application/json")
    assert json.loads(delivery.body) == PAYLOAD
    # The SDK's own verifier: right secret, and the signature covers id, timestamp and the exact body.
    Webhook(secret).verify(delivery.body, delivery.headers)
    with pytest.raises(Exception):
        Webhook(secret).verify(delivery.body + b" ", delivery.headers)


def test_create_answers_202(server, app):
    response = server.raw("POST", f"/api/v1/app/{app.id}/msg", {"eventType": "raw.sent", "payload": {"a": 1}})
    assert response.status == 202, response.body
    assert response.json()["id"].startswith("msg_")


def test_get_with_and_without_content(svix, app):
    msg = svix.message.create(app.id, MessageIn(event_type="get.me", payload=PAYLOAD, channels=["ch"]))
    full = svix.message.get(app.id, msg.id, MessageGetOptions(with_content=True))
    assert (full.id, full.event_type, full.payload, full.channels) == (msg.id, "get.me", PAYLOAD, ["ch"])
    # The SDK asks for no content by default; it still needs a payload object.
    bare = svix.message.get(app.id, msg.id)
    assert bare.id == msg.id and bare.payload == {}


def test_get_by_event_id(svix, app):
    # The path takes the message's id or its eventId (the message's UID), as for applications and endpoints.
    event_id = unique("evt")
    msg = svix.message.create(app.id, MessageIn(event_type="by.uid", payload={"u": 1}, event_id=event_id))
    got = svix.message.get(app.id, event_id, MessageGetOptions(with_content=True))
    assert (got.id, got.event_id, got.payload) == (msg.id, event_id, {"u": 1})
    with pytest.raises(HttpError) as e:
        svix.message.get(app.id, "no-such-event")
    assert e.value.status_code == 404


def test_get_unknown_message_is_404(svix, app):
    elsewhere = svix.application.create(ApplicationIn(name="elsewhere", uid=unique("elsewhere")))
    foreign = svix.message.create(elsewhere.id, MessageIn(event_type="x.y", payload={}))
    with pytest.raises(HttpError) as e:
        svix.message.get(app.id, foreign.id)
    assert e.value.status_code == 404


def ids(page):
    return sorted(m.id for m in page.data)


def test_list_filters_by_event_types_and_channel(svix, app):
    a1 = svix.message.create(app.id, MessageIn(event_type="kind.a", payload={}, channels=["red"]))
    b = svix.message.create(app.id, MessageIn(event_type="kind.b", payload={}))
    a2 = svix.message.create(app.id, MessageIn(event_type="kind.a", payload={}, channels=["blue"]))

    assert ids(svix.message.list(app.id)) == sorted([a1.id, b.id, a2.id])
    assert ids(svix.message.list(app.id, MessageListOptions(event_types=["kind.a"]))) == sorted([a1.id, a2.id])
    # The SDK joins several types with commas into one parameter.
    both = svix.message.list(app.id, MessageListOptions(event_types=["kind.a", "kind.b"]))
    assert ids(both) == sorted([a1.id, b.id, a2.id])
    assert ids(svix.message.list(app.id, MessageListOptions(channel="red"))) == [a1.id]
    assert ids(svix.message.list(app.id, MessageListOptions(channel="green"))) == []


def test_list_filters_by_before_and_after(svix, app):
    early = svix.message.create(app.id, MessageIn(event_type="time.early", payload={}))
    # The boundary must lie strictly between the two messages' timestamps.
    boundary = wait_until(
        lambda: (now := datetime.now(timezone.utc)) > early.timestamp + timedelta(milliseconds=20) and now,
        "the clock to move past the first message",
    )
    wait_until(lambda: datetime.now(timezone.utc) > boundary + timedelta(milliseconds=20), "the clock to move on")
    late = svix.message.create(app.id, MessageIn(event_type="time.late", payload={}))
    assert early.timestamp < boundary < late.timestamp

    assert ids(svix.message.list(app.id, MessageListOptions(before=boundary))) == [early.id]
    assert ids(svix.message.list(app.id, MessageListOptions(after=boundary))) == [late.id]
    # A naive datetime (the SDK sends it without an offset) is taken as UTC.
    naive = boundary.replace(tzinfo=None)
    assert ids(svix.message.list(app.id, MessageListOptions(after=naive))) == [late.id]


def test_list_paginates(svix, app):
    made = [svix.message.create(app.id, MessageIn(event_type="page.msg", payload={"i": i})).id for i in range(3)]
    first = svix.message.list(app.id, MessageListOptions(limit=2))
    assert len(first.data) == 2 and first.done is False
    rest = svix.message.list(app.id, MessageListOptions(limit=2, iterator=first.iterator))
    assert len(rest.data) == 1 and rest.done is True
    assert sorted(m.id for m in first.data + rest.data) == sorted(made)


def test_event_id_reuse_is_409(svix, app):
    event_id = unique("evt")
    first = svix.message.create(app.id, MessageIn(event_type="dedup.me", payload={}, event_id=event_id))
    assert first.event_id == event_id
    with pytest.raises(HttpError) as e:
        svix.message.create(app.id, MessageIn(event_type="dedup.me", payload={}, event_id=event_id))
    assert e.value.status_code == 409
    assert e.value.code == "conflict"


def test_idempotency_key_replays_the_first_answer(svix, app, receiver):
    url, path = receiver.endpoint()
    svix.endpoint.create(app.id, EndpointIn(url=url))
    options = MessageCreateOptions(idempotency_key=unique("idem"))
    first = svix.message.create(app.id, MessageIn(event_type="idem.test", payload={"n": 1}), options)
    again = svix.message.create(app.id, MessageIn(event_type="idem.test", payload={"n": 1}), options)
    assert again.id == first.id
    assert ids(svix.message.list(app.id)) == [first.id]
    receiver.wait_for(path, 1)


def test_only_matching_endpoints_receive(svix, app, event_type, receiver):
    match_url, match_path = receiver.endpoint()
    other_url, other_path = receiver.endpoint()
    disabled_url, disabled_path = receiver.endpoint()
    svix.endpoint.create(app.id, EndpointIn(url=match_url, event_types=[event_type]))
    svix.endpoint.create(app.id, EndpointIn(url=other_url, channels=["elsewhere"]))
    svix.endpoint.create(app.id, EndpointIn(url=disabled_url, disabled=True))
    msg = svix.message.create(app.id, MessageIn(event_type=event_type, payload={"x": 1}))
    (delivery,) = receiver.wait_for(match_path, 1)
    assert delivery.headers["webhook-id"] == msg.id
    # The channel-filtered endpoint's destination list stays empty: nothing was ever sent there.
    dests = wait_until(
        lambda: svix.message_attempt.list_attempted_destinations(app.id, msg.id).data,
        "the message's destinations to be recorded",
    )
    assert [d.url for d in dests] == [match_url]
    assert receiver.received(other_path) == []
    assert receiver.received(disabled_path) == []


def test_precheck_says_whether_an_enabled_endpoint_would_get_the_message(svix, app, event_type, receiver):
    def active(event, channels=None):
        return svix.message.precheck(app.id, MessagePrecheckIn(event_type=event, channels=channels)).active

    assert active(event_type) is False, "no endpoint yet"
    url, _ = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url, event_types=[event_type], channels=["billing"]))
    assert active(event_type, ["billing"]) is True
    assert active(event_type) is False, "the endpoint listens on a channel only"
    assert active(event_type, ["other"]) is False
    assert active("other.type", ["billing"]) is False
    svix.endpoint.patch(app.id, ep.id, EndpointPatch(disabled=True))
    assert active(event_type, ["billing"]) is False, "a disabled endpoint gets nothing"


def test_tags_are_kept_and_filter_the_listing(svix, app):
    tagged = {
        name: svix.message.create(app.id, MessageIn(event_type="order.placed", payload={"n": name}, tags=tags)).id
        for name, tags in [("eu", ["eu"]), ("eu-vip", ["eu", "vip", "eu"]), ("none", None)]
    }
    assert svix.message.get(app.id, tagged["eu-vip"]).tags == ["eu", "vip"]
    assert svix.message.get(app.id, tagged["none"]).tags is None
    for tag, expected in [("eu", {"eu", "eu-vip"}), ("vip", {"eu-vip"}), ("us", set())]:
        listed = {m.id for m in svix.message.list(app.id, MessageListOptions(tag=tag)).data}
        assert listed == {tagged[name] for name in expected}, tag
    with pytest.raises(HTTPValidationError) as e:
        svix.message.create(app.id, MessageIn(event_type="order.placed", payload={}, tags=[""]))
    assert e.value.detail[0].loc == ["body", "tags"]


def test_tags_filter_the_attempt_listings(svix, app, receiver):
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    eu = svix.message.create(app.id, MessageIn(event_type="order.placed", payload={}, tags=["eu"])).id
    us = svix.message.create(app.id, MessageIn(event_type="order.placed", payload={}, tags=["us"])).id
    receiver.wait_for(path, 2)
    attempts = svix.message_attempt

    def by_endpoint(tag):
        return wait_until(lambda: {a.msg_id for a in attempts.list_by_endpoint(
            app.id, ep.id, MessageAttemptListByEndpointOptions(tag=tag)).data}, f"attempts tagged {tag}")

    assert by_endpoint("eu") == {eu}
    assert by_endpoint("us") == {us}
    assert attempts.list_by_endpoint(app.id, ep.id, MessageAttemptListByEndpointOptions(tag="asia")).data == []
    assert [a.msg_id for a in attempts.list_by_msg(app.id, eu, MessageAttemptListByMsgOptions(tag="eu")).data] == [eu]
    assert attempts.list_by_msg(app.id, eu, MessageAttemptListByMsgOptions(tag="us")).data == []
    attempted = attempts.list_attempted_messages(app.id, ep.id, MessageAttemptListAttemptedMessagesOptions(tag="us"))
    assert [m.id for m in attempted.data] == [us]


def test_retention_in_hours_or_days_but_not_both(svix, app):
    kept = svix.message.create(app.id, MessageIn(event_type="order.placed", payload={"a": 1}, payload_retention_hours=12))
    assert svix.message.get(app.id, kept.id, MessageGetOptions(with_content=True)).payload == {"a": 1}
    for fields, loc in [
        (dict(payload_retention_hours=12, payload_retention_period=5), "payloadRetentionHours"),
        (dict(payload_retention_hours=0), "payloadRetentionHours"),
        (dict(payload_retention_hours=24 * 90 + 1), "payloadRetentionHours"),
        (dict(payload_retention_period=4), "payloadRetentionPeriod"),
    ]:
        with pytest.raises(HTTPValidationError) as e:
            svix.message.create(app.id, MessageIn(event_type="order.placed", payload={}, **fields))
        assert e.value.detail[0].loc == ["body", loc], fields


def test_attempts_carry_their_message_when_asked(svix, app, receiver):
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    msg = svix.message.create(app.id, MessageIn(event_type="order.placed", payload={"secret": 1}, tags=["eu"]))
    receiver.wait_for(path, 1)
    attempts = svix.message_attempt
    listed = wait_until(lambda: attempts.list_by_endpoint(
        app.id, ep.id, MessageAttemptListByEndpointOptions(with_msg=True)).data, "the attempt to be listed")
    (attempt,) = listed
    assert (attempt.msg.id, attempt.msg.event_type, attempt.msg.tags) == (msg.id, "order.placed", ["eu"])
    assert attempt.msg.payload == {}, "never the payload"
    (plain,) = attempts.list_by_endpoint(app.id, ep.id).data
    assert plain.msg is None
