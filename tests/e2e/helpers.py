"""Helpers shared by the end-to-end tests: deadlines, unique names, raw HTTP and hand-made tokens.

Everything here uses the standard library only, so the suite needs nothing beyond the pinned SDK and pytest.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

# Every wait in the suite is bounded by this; deliveries here take milliseconds, retries about a second.
DEADLINE_SECONDS = 10.0


def wait_until(condition, what, timeout=DEADLINE_SECONDS, interval=0.02):
    """Polls `condition` until it returns something truthy, which is returned; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def unique(prefix):
    """A name no other test (or earlier run against the same store) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_event_type(prefix="e2e"):
    return f"{prefix}.{uuid.uuid4().hex[:12]}.created"


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_token(secret, claims):
    """An HS256 JWT, as svix-server and xwebhook issue them (no PyJWT needed)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(signature)}"


def org_token(secret, org_id):
    now = int(time.time())
    return hs256_token(secret, {"sub": org_id, "iat": now, "nbf": now, "iss": "e2e"})


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def raw_request(base_url, token, method, path, body=None, headers=None):
    """One HTTP request outside the SDK, for what the SDK hides (status codes) or refuses to send (bad types).

    An empty `token` sends no Authorization header.
    """
    data = None
    all_headers = {"Accept": "application/json"}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE_SECONDS) as response:
            return RawResponse(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, dict(e.headers), e.read())
