"""Scheduled messages (`MessageIn.deliver_at`) through the official SDK: delivered at their time and not before,
across a SIGKILL and restart, pending and listed with their time until then, and refused outside the bounds.

The session's server allows a `deliverAt` from 1 s ahead (XWEBHOOK_DELIVER_AT_MIN_DELAY=1; Svix's minimum, and
the default, is a minute) to at most 24 hours ahead.
"""

from datetime import datetime, timedelta, timezone

import pytest
from svix.exceptions import HTTPValidationError
from svix.models import EndpointIn, MessageIn, MessageStatus

from helpers import unique_event_type

AHEAD = 3.0


def schedule(svix, app, seconds):
    at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    msg = svix.message.create(app.id, MessageIn(event_type=unique_event_type(), payload={"at": at.isoformat()},
                                                deliver_at=at))
    return msg, at


def test_a_scheduled_message_arrives_at_its_time_not_before(svix, app, receiver):
    url, path = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    msg, at = schedule(svix, app, AHEAD)
    assert abs((msg.deliver_at - at).total_seconds()) < 0.001
    # Pending, and read back with its time, until it is due.
    assert svix.message.get(app.id, msg.id).deliver_at == msg.deliver_at
    (destination,) = svix.message_attempt.list_attempted_destinations(app.id, msg.id).data
    assert (destination.id, destination.status) == (ep.id, MessageStatus.PENDING)
    (delivery,) = receiver.wait_for(path, 1, timeout=AHEAD + 10)
    arrived = datetime.now(timezone.utc)
    assert arrived >= at, f"delivered {(at - arrived).total_seconds():.2f}s early"
    assert delivery.headers["webhook-id"] == msg.id


def test_a_scheduled_message_survives_sigkill_and_restart(server, svix, app, receiver):
    url, path = receiver.endpoint()
    svix.endpoint.create(app.id, EndpointIn(url=url))
    msg, at = schedule(svix, app, AHEAD)
    server.kill_and_restart()
    assert datetime.now(timezone.utc) < at, "the restart took longer than the schedule: the test proves nothing"
    assert receiver.received(path) == []
    (delivery,) = receiver.wait_for(path, 1, timeout=AHEAD + 10)
    assert datetime.now(timezone.utc) >= at
    assert delivery.headers["webhook-id"] == msg.id


@pytest.mark.parametrize("seconds", [-60, 0.2, 24 * 3600 + 60])
def test_deliver_at_outside_the_bounds_is_a_located_422(svix, app, seconds):
    with pytest.raises(HTTPValidationError) as e:
        schedule(svix, app, seconds)
    assert (e.value.status_code, e.value.detail[0].loc) == (422, ["body", "deliverAt"])
