"""Delivery attempts through the official SDK: the listings, one attempt, retries after failures, resend.

The server runs with XWEBHOOK_RETRY_SCHEDULE=1,1: three attempts in all, one second apart.
"""

from svix.api import (
    MessageAttemptListByEndpointOptions,
    MessageAttemptListByMsgOptions,
    MessageGetOptions,
)
from svix.models import EndpointIn, MessageAttemptTriggerType, MessageIn, MessageStatus, StatusCodeClass

from helpers import wait_until


def send_to_new_endpoint(svix, app, receiver, statuses=()):
    url, path = receiver.endpoint(statuses)
    ep = svix.endpoint.create(app.id, EndpointIn(url=url))
    msg = svix.message.create(app.id, MessageIn(event_type="attempt.test", payload={"a": 1}))
    return ep, msg, path


def attempts_by_msg(svix, app, msg, count, **options):
    """The message's attempts, oldest first, once there are `count` of them."""
    page = wait_until(
        lambda: (p := svix.message_attempt.list_by_msg(app.id, msg.id, MessageAttemptListByMsgOptions(**options)))
        and len(p.data) >= count and p,
        f"{count} attempt(s) of {msg.id} to be recorded",
    )
    return sorted(page.data, key=lambda a: (a.timestamp, a.id))


def test_a_successful_delivery_is_visible_everywhere(svix, app, receiver):
    ep, msg, path = send_to_new_endpoint(svix, app, receiver)
    receiver.wait_for(path, 1)

    (attempt,) = attempts_by_msg(svix, app, msg, 1)
    assert (attempt.msg_id, attempt.endpoint_id, attempt.url) == (msg.id, ep.id, ep.url)
    assert (attempt.status, attempt.status_text) == (MessageStatus.SUCCESS, "success")
    assert attempt.response_status_code == 200
    assert attempt.trigger_type == MessageAttemptTriggerType.SCHEDULED
    assert attempt.response_duration_ms >= 0

    # Listings leave the response body out by default (with_content=false); one attempt carries it.
    one = svix.message_attempt.get(app.id, msg.id, attempt.id)
    assert one.model_dump(exclude={"response"}) == attempt.model_dump(exclude={"response"})
    assert one.response == '{"ok":true}'

    by_endpoint = svix.message_attempt.list_by_endpoint(app.id, ep.id)
    assert [a.id for a in by_endpoint.data] == [attempt.id]

    # The destination's status may be written just after the attempt: wait for it rather than race it.
    (dest,) = wait_until(
        lambda: (d := svix.message_attempt.list_attempted_destinations(app.id, msg.id).data)
        and d[0].status == MessageStatus.SUCCESS and d,
        "the destination to be marked success",
    )
    assert (dest.id, dest.url, dest.status_text) == (ep.id, ep.url, "success")

    (sent,) = wait_until(
        lambda: (m := svix.message_attempt.list_attempted_messages(app.id, ep.id).data)
        and m[0].status == MessageStatus.SUCCESS and m,
        "the endpoint's message to be marked success",
    )
    assert (sent.id, sent.event_type, sent.status_text) == (msg.id, "attempt.test", "success")


def test_response_body_is_recorded_with_content(svix, app, receiver):
    _, msg, path = send_to_new_endpoint(svix, app, receiver)
    receiver.wait_for(path, 1)
    (attempt,) = attempts_by_msg(svix, app, msg, 1, with_content=True)
    assert attempt.response == '{"ok":true}'


def test_failing_endpoint_is_retried_until_success(svix, app, receiver):
    ep, msg, path = send_to_new_endpoint(svix, app, receiver, statuses=[500, 500])
    deliveries = receiver.wait_for(path, 3)
    assert [d.status for d in deliveries] == [500, 500, 200]
    # Every try carries the same message id, so the receiver can deduplicate.
    assert {d.headers["webhook-id"] for d in deliveries} == {msg.id}

    attempts = attempts_by_msg(svix, app, msg, 3)
    assert len(attempts) == 3
    assert [a.status for a in attempts] == [2, 2, 0]
    assert [a.status_text for a in attempts] == ["fail", "fail", "success"]
    assert [a.response_status_code for a in attempts] == [500, 500, 200]
    assert all(a.trigger_type == MessageAttemptTriggerType.SCHEDULED for a in attempts)

    dest = wait_until(
        lambda: (d := svix.message_attempt.list_attempted_destinations(app.id, msg.id).data)
        and d[0].status == MessageStatus.SUCCESS and d[0],
        "the destination to end in success",
    )
    assert dest.id == ep.id

    failed = svix.message_attempt.list_by_endpoint(
        app.id, ep.id, MessageAttemptListByEndpointOptions(status=MessageStatus.FAIL)
    )
    assert sorted(a.id for a in failed.data) == sorted(a.id for a in attempts[:2])
    server_errors = svix.message_attempt.list_by_msg(
        app.id, msg.id, MessageAttemptListByMsgOptions(status_code_class=StatusCodeClass.CODE5XX)
    )
    assert sorted(a.id for a in server_errors.data) == sorted(a.id for a in attempts[:2])
    # No retry is left after the success.
    assert len(receiver.received(path)) == 3


def test_resend_makes_a_manual_attempt(svix, app, receiver):
    ep, msg, path = send_to_new_endpoint(svix, app, receiver)
    receiver.wait_for(path, 1)
    attempts_by_msg(svix, app, msg, 1)

    svix.message_attempt.resend(app.id, msg.id, ep.id)
    second = receiver.wait_for(path, 2)[1]
    assert second.headers["webhook-id"] == msg.id

    attempts = attempts_by_msg(svix, app, msg, 2)
    assert [a.trigger_type for a in attempts] == [MessageAttemptTriggerType.SCHEDULED, MessageAttemptTriggerType.MANUAL]
    assert [a.status for a in attempts] == [MessageStatus.SUCCESS, MessageStatus.SUCCESS]
    # Resending does not alter the message.
    assert svix.message.get(app.id, msg.id, MessageGetOptions(with_content=True)).payload == {"a": 1}
