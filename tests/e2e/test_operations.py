"""The contract's remaining operations through the official SDK: event-type upsert (PUT), endpoint stats,
attempt stats, send-example (a ping, and a custom payload), recover, and expunging message and attempt content.

The server runs with XWEBHOOK_RETRY_SCHEDULE=1,1: three attempts in all, one second apart.
"""

import json
from datetime import datetime, timedelta, timezone

import pytest
from svix import Svix, SvixOptions
from svix.api import EndpointGetAttemptStatsOptions, MessageAttemptListByMsgOptions
from svix.exceptions import HttpError
from svix.api import MessageGetOptions
from svix.models import (
    AppPortalAccessIn,
    BulkExpungeContentsIn,
    EndpointIn,
    EventExampleIn,
    EventTypeIn,
    EventTypeUpsertIn,
    MessageIn,
    MessageStatus,
    RecoverIn,
)

from helpers import unique_event_type, wait_until


def test_event_type_upsert_creates_then_replaces(svix):
    name = unique_event_type("upsert")
    created = svix.event_type.upsert(name, EventTypeUpsertIn(description="first"))
    assert (created.name, created.description) == (name, "first")
    replaced = svix.event_type.upsert(name, EventTypeUpsertIn(description="second"))
    assert (replaced.name, replaced.description, replaced.deprecated) == (name, "second", False)
    assert svix.event_type.get(name).description == "second"


def test_stats_count_destinations_by_status(svix, app, receiver):
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    for _ in range(2):
        svix.message.create(app.id, MessageIn(event_type="stats.test", payload={}))
    receiver.wait_for(path, 2)
    stats = wait_until(
        lambda: (s := svix.endpoint.get_stats(app.id, ep.id)) and s.success == 2 and s,
        "both deliveries counted as successes",
    )
    assert (stats.fail, stats.pending, stats.sending) == (0, 0, 0)


def test_attempt_stats_count_what_happened(svix, app, receiver):
    # The first delivery fails once and succeeds on its retry a second later; the second succeeds at once.
    url, path = receiver.endpoint([500])
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    for _ in range(2):
        svix.message.create(app.id, MessageIn(event_type="stats.test", payload={}))
    receiver.wait_for(path, 3)
    stats = wait_until(
        lambda: (s := svix.endpoint.get_attempt_stats(app.id, ep.id)) and s.success == 2 and s,
        "three attempts counted",
    )
    assert (stats.success, stats.fail, stats.canceled) == (2, 1, 0)
    # Windows are whole hours: one that ended before this hour counts nothing.
    two_hours_ago = datetime.now(timezone.utc) - timedelta(hours=2)
    earlier = svix.endpoint.get_attempt_stats(app.id, ep.id, EndpointGetAttemptStatsOptions(until=two_hours_ago))
    assert (earlier.success, earlier.fail) == (0, 0)


def test_send_example_delivers_a_ping(svix, app, receiver):
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    msg = svix.endpoint.send_example(app.id, ep.id, EventExampleIn(event_type="svix.ping"))
    assert msg.event_type == "svix.ping"
    (delivery,) = receiver.wait_for(path, 1)
    assert delivery.headers["webhook-id"] == msg.id


def test_send_example_sends_the_organizations_own_payload(server, svix, app, receiver):
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    custom = {"order": {"id": "o_1", "total": 12.5}}
    msg = svix.endpoint.send_example(app.id, ep.id, EventExampleIn(event_type="order.placed", payload=custom))
    assert msg.payload == custom
    (delivery,) = receiver.wait_for(path, 1)
    assert json.loads(delivery.body) == custom
    # A customer in the portal could otherwise have the sender sign whatever it likes.
    portal = Svix(svix.authentication.app_portal_access(app.id, AppPortalAccessIn()).token,
                  SvixOptions(server_url=server.url, retry_schedule=[]))
    with pytest.raises(HttpError) as e:
        portal.endpoint.send_example(app.id, ep.id, EventExampleIn(event_type="order.placed", payload=custom))
    assert e.value.status_code == 403


def test_recover_resends_what_failed(svix, app, receiver):
    # Three failures exhaust the schedule; then the endpoint answers 200 again.
    url, path = receiver.endpoint([500, 500, 500])
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    svix.message.create(app.id, MessageIn(event_type=unique_event_type(), payload={}))
    receiver.wait_for(path, 3)
    wait_until(
        lambda: svix.endpoint.get_stats(app.id, ep.id).fail == 1,
        "the delivery to be marked failed",
    )
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    task = svix.endpoint.recover(app.id, ep.id, RecoverIn(since=since))
    assert (task.id[:6], task.task) == ("qtask_", "endpoint.recover")
    done = wait_until(lambda: (t := svix.background_task.get(task.id)).status == "finished" and t, "the recovery")
    assert done.data == {"recovered": 1}
    receiver.wait_for(path, 4)
    wait_until(
        lambda: svix.endpoint.get_stats(app.id, ep.id).success == 1,
        "the recovered delivery to be marked success",
    )


def test_expunge_message_and_attempt_content(svix, app, receiver):
    url, path = receiver.endpoint()
    svix.endpoint.create(app.id, EndpointIn(url=url))
    msg = svix.message.create(app.id, MessageIn(event_type="expunge.test", payload={"secret": "s3cret"}))
    receiver.wait_for(path, 1)
    (attempt,) = wait_until(
        lambda: svix.message_attempt.list_by_msg(app.id, msg.id, MessageAttemptListByMsgOptions()).data,
        "the attempt to be recorded",
    )
    assert attempt.status == MessageStatus.SUCCESS

    svix.message.expunge_content(app.id, msg.id)
    assert "s3cret" not in str(svix.message.get(app.id, msg.id).payload)

    svix.message_attempt.expunge_content(app.id, msg.id, attempt.id)
    assert not svix.message_attempt.get(app.id, msg.id, attempt.id).response


def test_send_example_picks_the_example_by_index(svix, app, receiver):
    name = unique_event_type()
    schemas = {"1": {"type": "object", "examples": [{"n": 0}, {"n": 1}]}}
    svix.event_type.create(EventTypeIn(name=name, description="examples", schemas=schemas))
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    first = svix.endpoint.send_example(app.id, ep.id, EventExampleIn(event_type=name))
    second = svix.endpoint.send_example(app.id, ep.id, EventExampleIn(event_type=name, example_index=1))
    assert (first.payload, second.payload) == ({"n": 0}, {"n": 1})
    assert sorted(json.loads(d.body)["n"] for d in receiver.wait_for(path, 2)) == [0, 1]


def test_bulk_expunge_and_expunge_all_forget_payloads(svix, app):
    secret = {"card": "4242"}
    by_id = svix.message.create(app.id, MessageIn(event_type="expunge.test", payload=secret)).id
    event_id = unique_event_type("evt").replace(".", "-")
    svix.message.create(app.id, MessageIn(event_type="expunge.test", payload=secret, event_id=event_id))
    kept = svix.message.create(app.id, MessageIn(event_type="expunge.test", payload=secret)).id

    def payload(msg_id):
        return svix.message.get(app.id, msg_id, MessageGetOptions(with_content=True)).payload

    out = svix.message.bulk_expunge_content(app.id, BulkExpungeContentsIn(ids=[by_id, event_id, "msg_unknown"]))
    assert {k: str(v) for k, v in out.results.items()} == {
        by_id: "expunged", event_id: "expunged", "msg_unknown": "not-found"}
    assert (payload(by_id), payload(event_id), payload(kept)) == ({}, {}, secret)

    task = svix.message.expunge_all_contents(app.id)
    assert task.task == "application.purge_content"
    done = wait_until(lambda: (t := svix.background_task.get(task.id)).status == "finished" and t, "the purge")
    assert done.data == {"messagesPurged": 3}
    assert payload(kept) == {}
