"""Authentication, tenant isolation, malformed input and health, as the official SDK sees them."""

import pytest
from svix import Svix, SvixOptions
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import ApplicationIn, EndpointIn, MessageIn

from helpers import hs256_token, org_token, unique


def client(server, token):
    return Svix(token, SvixOptions(server_url=server.url, retry_schedule=[]))


@pytest.mark.parametrize("token", [
    "not-a-jwt",
    hs256_token("some-other-secret-0123456789", {"sub": "org_23rb8YdGqMT0qIzpgGwdXfHirMu"}),
])
def test_bad_token_is_401(server, token):
    with pytest.raises(HttpError) as e:
        client(server, token).application.list()
    assert e.value.status_code == 401
    assert e.value.code == "authentication_failed"


def test_missing_token_is_401(server):
    response = server.raw("GET", "/api/v1/app", token="")
    assert response.status == 401
    assert response.json()["code"]


def test_other_organization_cannot_see_the_app(server, svix, app, receiver):
    svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint()[0]))
    other = client(server, org_token(server.jwt_secret, f"org_{unique('other').replace('-', '')}"))
    for call in (
        lambda: other.application.get(app.id),
        lambda: other.application.get(app.uid),
        lambda: other.endpoint.list(app.id),
        lambda: other.message.create(app.id, MessageIn(event_type="x.y", payload={})),
        lambda: other.application.delete(app.id),
    ):
        with pytest.raises(HttpError) as e:
            call()
        assert e.value.status_code == 404
        assert e.value.code == "not_found"
    assert app.id not in {a.id for a in other.application.list().data}
    # The other tenant may use the same UID for its own application.
    mine = other.application.create(ApplicationIn(name="mine", uid=app.uid))
    assert mine.id != app.id
    assert svix.application.get(app.uid).id == app.id


def test_wrong_types_are_located_422s(server, app):
    cases = [
        ("POST", "/api/v1/app", {"name": 123}, ["body", "name"]),
        ("POST", f"/api/v1/app/{app.id}/msg", {"eventType": "a.b", "payload": [1, 2]}, ["body", "payload"]),
        ("POST", f"/api/v1/app/{app.id}/endpoint", {"url": "http://127.0.0.1/x", "disabled": "yes"},
         ["body", "disabled"]),
        ("POST", f"/api/v1/app/{app.id}/endpoint", {"url": "http://127.0.0.1/x", "eventTypes": "a.b"},
         ["body", "eventTypes"]),
    ]
    for method, path, body, loc in cases:
        response = server.raw(method, path, body)
        assert response.status == 422, (path, body, response.body)
        detail = response.json()["detail"]
        assert isinstance(detail, list) and detail, response.body
        assert detail[0]["loc"] == loc, (body, detail)
        assert detail[0]["msg"] and detail[0]["type"]


def test_missing_required_field_is_a_422(server):
    # Located at the field itself, as FastAPI (and so the Svix API) does.
    response = server.raw("POST", "/api/v1/app", {"uid": unique("no-name")})
    assert response.status == 422, response.body
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "name"]
    assert problem["msg"] and problem["type"]


def test_sdk_parses_a_422(svix, app):
    with pytest.raises(HTTPValidationError) as e:
        svix.message.create(app.id, MessageIn(event_type="bad name with spaces", payload={}))
    assert e.value.status_code == 422
    assert e.value.detail[0].loc == ["body", "eventType"]


def test_unknown_app_is_404(svix):
    with pytest.raises(HttpError) as e:
        svix.application.get(unique("nobody"))
    assert e.value.status_code == 404
    assert e.value.code == "not_found"


def test_health(svix, server):
    assert svix.health.get() is None
    assert server.raw("GET", "/api/v1/health", token="").status == 204
