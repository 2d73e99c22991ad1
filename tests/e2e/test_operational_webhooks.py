"""Operational webhook endpoints through the official SDK (`svix.operational_webhook.endpoint`): a tenant
registers its own, with no set-up by the operator, and hears about its endpoints as signed webhooks; no other
organization sees them."""

import json

import pytest
from svix import Svix, SvixOptions
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import (
    ApplicationIn,
    EndpointIn,
    OperationalWebhookEndpointHeadersIn,
    OperationalWebhookEndpointIn,
    OperationalWebhookEndpointSecretIn,
    OperationalWebhookEndpointUpsertIn,
)
from svix.webhooks import Webhook

from helpers import org_token, unique


def tenant(server):
    org = f"org_{unique('ops').replace('-', '')}"
    return Svix(org_token(server.jwt_secret, org), SvixOptions(server_url=server.url, retry_schedule=[]))


def test_a_tenant_hears_about_its_endpoints_on_its_own_operational_endpoint(server, receiver):
    own = tenant(server)
    ops = own.operational_webhook.endpoint
    url, path = receiver.endpoint()
    listening = ops.create(OperationalWebhookEndpointIn(url=url, event_types=["endpoint.created"],
                                                        metadata={"team": "ops"}))
    assert (listening.url, listening.event_types, listening.metadata) == (url, ["endpoint.created"], {"team": "ops"})
    secret = ops.get_secret(listening.id).key

    app = own.application.create(ApplicationIn(name="customer"))
    first = own.endpoint.create(app.id, EndpointIn(url="https://example.com/first"))
    own.endpoint.delete(app.id, first.id)  # endpoint.deleted: not subscribed
    second = own.endpoint.create(app.id, EndpointIn(url="https://example.com/second"))

    deliveries = receiver.wait_for(path, 2)
    bodies = [json.loads(d.body) for d in deliveries]
    assert [(b["type"], b["data"]["endpointId"]) for b in bodies] == [
        ("endpoint.created", first.id), ("endpoint.created", second.id)]
    assert all(b["data"]["appId"] == app.id for b in bodies)
    for delivery in deliveries:
        Webhook(secret).verify(delivery.body, delivery.headers)


def test_operational_endpoints_are_managed_like_endpoints_and_private(server, receiver):
    own, other = tenant(server), tenant(server)
    ops = own.operational_webhook.endpoint
    assert ops.list().data == []
    url, _ = receiver.endpoint()
    created = ops.create(OperationalWebhookEndpointIn(url=url, uid=unique("ops"), throttle_rate=3))
    assert [e.id for e in ops.list().data] == [created.id]
    assert ops.get(created.uid) == created

    updated = ops.upsert(created.id, OperationalWebhookEndpointUpsertIn(url=url, description="on call",
                                                                       disabled=True))
    assert (updated.description, updated.disabled, updated.throttle_rate) == ("on call", True, None)
    ops.set_headers(created.id, OperationalWebhookEndpointHeadersIn(headers={"x-team": "ops"}))
    assert ops.get_headers(created.id).headers == {"x-team": "ops"}
    before = ops.get_secret(created.id).key
    ops.rotate_secret(created.id, OperationalWebhookEndpointSecretIn())
    assert ops.get_secret(created.id).key != before

    # Another organization has operational endpoints of its own, and none of these.
    assert other.operational_webhook.endpoint.list().data == []
    with pytest.raises(HttpError) as e:
        other.operational_webhook.endpoint.get(created.id)
    assert e.value.status_code == 404

    with pytest.raises(HTTPValidationError) as e:
        ops.create(OperationalWebhookEndpointIn(url=url, event_types=["invoice.paid"]))
    assert e.value.detail[0].loc == ["body", "eventTypes"]
    ops.delete(created.id)
    assert ops.list().data == []
