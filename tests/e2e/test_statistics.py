"""The statistics family through the official SDK: background tasks that count what happened, per application
of the organization (a tenant of its own, so that exactly its applications are counted)."""

from datetime import datetime, timedelta, timezone

import pytest
from svix import Svix, SvixOptions
from svix.exceptions import HTTPValidationError
from svix.models import AppUsageStatsIn, ApplicationIn, EndpointIn, EventTypeIn, MessageIn

from helpers import org_token, unique, wait_until


def finished(client, task_id):
    return wait_until(lambda: (t := client.background_task.get(task_id)).status == "finished" and t,
                      f"task {task_id} to finish")


def test_statistics_equal_what_happened(server, receiver):
    own = Svix(org_token(server.jwt_secret, f"org_{unique('st').replace('-', '')}"),
               SvixOptions(server_url=server.url, retry_schedule=[]))
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    for name in ("order.placed", "order.paid"):
        own.event_type.create(EventTypeIn(name=name, description="e2e"))
    busy = own.application.create(ApplicationIn(name="busy", uid=unique("busy")))
    quiet = own.application.create(ApplicationIn(name="quiet"))
    url, path = receiver.endpoint()
    own.endpoint.create(busy.id, EndpointIn(url=url, event_types=["order.placed", "order.paid"]))
    own.endpoint.create(busy.id, EndpointIn(url=url))
    own.endpoint.create(quiet.id, EndpointIn(url=url, event_types=["order.paid"]))
    for _ in range(3):
        own.message.create(busy.id, MessageIn(event_type="order.placed", payload={}))
    receiver.wait_for(path, 6)
    until = datetime.now(timezone.utc) + timedelta(seconds=1)

    task = own.statistics.aggregate_app_stats(AppUsageStatsIn(since=since, until=until))
    assert (task.task, task.unresolved_app_ids) == ("application.stats", [])
    stats = {s["appId"]: s for s in finished(own, task.id).data["appStats"]}
    assert stats[busy.id] == {"appId": busy.id, "appUid": busy.uid, "messageDestinations": 6}
    assert stats[quiet.id]["messageDestinations"] == 0
    # Named applications only, by id or UID; an unknown one is reported.
    named = own.statistics.aggregate_app_stats(AppUsageStatsIn(since=since, until=until,
                                                               app_ids=[busy.uid, "app_unknown"]))
    assert named.unresolved_app_ids == ["app_unknown"]
    assert [s["appId"] for s in finished(own, named.id).data["appStats"]] == [busy.id]
    with pytest.raises(HTTPValidationError) as e:
        own.statistics.aggregate_app_stats(AppUsageStatsIn(since=since, until=until, app_ids=["app_unknown"]))
    assert e.value.detail[0].loc == ["body", "appIds"]

    aggregate = own.statistics.aggregate_event_types()
    assert aggregate.task == "event-type.aggregate"
    by_app = {a["appId"]: a for a in finished(own, aggregate.id).data["event_types"]}
    assert by_app[busy.id] == {"appId": busy.id, "explicitlySubscribedEventTypes": ["order.paid", "order.placed"],
                               "hasCatchAllEndpoint": True}
    assert by_app[quiet.id] == {"appId": quiet.id, "explicitlySubscribedEventTypes": ["order.paid"],
                                "hasCatchAllEndpoint": False}
