"""No SDK field is ignored in silence: fields Xwebhook does not implement are refused by name (422), and the
list of the SDK's requests that the server's tests walk (tests/sdk/requests.json) is the pinned SDK's."""

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from svix.exceptions import HTTPValidationError
from svix.models import BulkReplayIn, MessageIn

REPO = Path(__file__).resolve().parents[2]


def test_the_checked_in_request_list_is_the_pinned_sdks():
    made = subprocess.run(
        [sys.executable, str(REPO / "scripts/sdk-requests"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert made == (REPO / "tests/sdk/requests.json").read_text(), (
        "the pinned SDK's requests changed: run `.venv-e2e/bin/python scripts/sdk-requests` and make each new "
        "field work or refuse it (NotSupported)"
    )


def refused(call, loc):
    with pytest.raises(HTTPValidationError) as e:
        call()
    assert e.value.status_code == 422
    assert e.value.detail[0].loc == loc
    assert "not supported by Xwebhook" in e.value.detail[0].msg


def test_unsupported_body_fields_are_refused_by_name(svix, app):
    message = dict(event_type="user.created", payload={"a": 1})
    refused(lambda: svix.message.create(app.id, MessageIn(**message, transformations_params={"x": 1})),
            ["body", "transformationsParams"])
    refused(lambda: svix.endpoint.bulk_replay(app.id, "ep_unknown", BulkReplayIn(since=datetime.now(timezone.utc),
                                                                              status_code_class=500)),
            ["body", "statusCodeClass"])
    # Nothing was stored by the refused calls.
    assert svix.message.list(app.id).data == []

