"""App-portal access, logout, and ed25519 endpoint secrets, as the official SDK sees them."""

import pytest
from svix import Svix, SvixOptions
from svix.exceptions import HttpError
from svix.models import (
    AppPortalAccessIn,
    AppPortalCapability,
    ApplicationIn,
    EndpointIn,
    EndpointSecretRotateIn,
    EndpointPatch,
    MessageIn,
)

from helpers import unique

# svix-server's own ed25519 test keypair (seed, then public key) and the public key it publishes.
SVIX_KEYPAIR = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
SVIX_PUBLIC = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="


def client(server, token):
    return Svix(token, SvixOptions(server_url=server.url, retry_schedule=[]))


def test_portal_token_sees_only_its_application_until_logout(server, svix, app, receiver):
    other = svix.application.create(ApplicationIn(name="other", uid=unique("other")))
    access = svix.authentication.app_portal_access(app.id, AppPortalAccessIn(feature_flags=["beta"]))
    assert access.token and access.url
    portal = client(server, access.token)

    portal.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0]))
    assert len(portal.endpoint.list(app.id).data) == 1
    with pytest.raises(HttpError) as e:
        portal.endpoint.list(other.id)
    assert e.value.status_code in (403, 404)

    portal.authentication.logout()
    with pytest.raises(HttpError) as e:
        portal.endpoint.list(app.id)
    assert e.value.status_code == 401
    # Another portal token of the same application is untouched.
    again = client(server, svix.authentication.app_portal_access(app.id, AppPortalAccessIn()).token)
    assert len(again.endpoint.list(app.id).data) == 1


def test_portal_capabilities_are_enforced(server, svix, app, receiver):
    ep = svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0]))
    read_only = client(server, svix.authentication.app_portal_access(app.id, AppPortalAccessIn(read_only=True)).token)
    assert read_only.endpoint.get(app.id, ep.id).url == ep.url
    for forbidden in (
        lambda: read_only.endpoint.get_secret(app.id, ep.id),
        lambda: read_only.endpoint.patch(app.id, ep.id, EndpointPatch(description="x")),
        lambda: read_only.endpoint.delete(app.id, ep.id),
    ):
        with pytest.raises(HttpError) as e:
            forbidden()
        assert e.value.status_code == 403

    caps = [AppPortalCapability.VIEW_BASE, AppPortalCapability.VIEW_ENDPOINT_SECRET]
    viewer = client(server, svix.authentication.app_portal_access(app.id, AppPortalAccessIn(capabilities=caps)).token)
    assert viewer.endpoint.get_secret(app.id, ep.id).key.startswith("whsec_")
    with pytest.raises(HttpError) as e:
        viewer.endpoint.rotate_secret(app.id, ep.id, EndpointSecretRotateIn())
    assert e.value.status_code == 403

    msg = svix.message.create(app.id, MessageIn(event_type="x.y", payload={"n": 1}))
    base = [AppPortalCapability.VIEW_BASE]
    resend_caps = base + [AppPortalCapability.CREATE_ATTEMPTS]
    viewer = client(server, svix.authentication.app_portal_access(app.id, AppPortalAccessIn(capabilities=base)).token)
    with pytest.raises(HttpError) as e:
        viewer.message_attempt.resend(app.id, msg.id, ep.id)
    assert e.value.status_code == 403
    resender = client(
        server, svix.authentication.app_portal_access(app.id, AppPortalAccessIn(capabilities=resend_caps)).token
    )
    resender.message_attempt.resend(app.id, msg.id, ep.id)

    # Whatever its capabilities, a portal token never sends messages or changes the application.
    full = client(server, svix.authentication.app_portal_access(app.id, AppPortalAccessIn()).token)
    for forbidden in (
        lambda: full.message.create(app.id, MessageIn(event_type="x.y", payload={})),
        lambda: full.application.delete(app.id),
    ):
        with pytest.raises(HttpError) as e:
            forbidden()
        assert e.value.status_code == 403
    assert svix.application.get(app.id).id == app.id


# One action per capability that needs it; each gets 403 with ViewBase alone and succeeds with the capability.
CAPABILITY_ACTIONS = {
    AppPortalCapability.VIEW_ENDPOINT_SECRET: lambda c, app, ep, msg: c.endpoint.get_secret(app.id, ep.id),
    AppPortalCapability.MANAGE_ENDPOINT_SECRET: lambda c, app, ep, msg: c.endpoint.rotate_secret(
        app.id, ep.id, EndpointSecretRotateIn()
    ),
    AppPortalCapability.MANAGE_ENDPOINT: lambda c, app, ep, msg: c.endpoint.patch(
        app.id, ep.id, EndpointPatch(description="mine")
    ),
    AppPortalCapability.CREATE_ATTEMPTS: lambda c, app, ep, msg: c.message_attempt.resend(app.id, msg.id, ep.id),
}


@pytest.mark.parametrize("capability", list(CAPABILITY_ACTIONS), ids=str)
def test_each_capability_is_needed_and_enough(server, svix, app, receiver, capability):
    ep = svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0]))
    msg = svix.message.create(app.id, MessageIn(event_type="x.y", payload={"n": 1}))
    action = CAPABILITY_ACTIONS[capability]

    def portal(caps):
        return client(server, svix.authentication.app_portal_access(app.id, AppPortalAccessIn(capabilities=caps)).token)

    with pytest.raises(HttpError) as e:
        action(portal([AppPortalCapability.VIEW_BASE]), app, ep, msg)
    assert e.value.status_code == 403
    action(portal([AppPortalCapability.VIEW_BASE, capability]), app, ep, msg)


def test_an_organization_token_cannot_log_out(svix):
    with pytest.raises(HttpError) as e:
        svix.authentication.logout()
    assert e.value.status_code == 403
    svix.application.list()


def test_ed25519_secret_publishes_its_public_key(svix, app, receiver):
    ep = svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0], secret=SVIX_KEYPAIR))
    assert svix.endpoint.get_secret(app.id, ep.id).key == SVIX_PUBLIC
    svix.endpoint.rotate_secret(app.id, ep.id, EndpointSecretRotateIn())
    assert svix.endpoint.get_secret(app.id, ep.id).key.startswith("whsec_")
