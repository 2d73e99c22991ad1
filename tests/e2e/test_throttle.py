"""An application's `throttleRate`: its endpoints taken together receive that many messages per second, across
every process of the deployment (two processes sharing Redis; the embedded store's one), beside each endpoint's
own limit; and the rate's bounds."""

import pytest
from svix import Svix, SvixOptions
from svix.exceptions import HTTPValidationError
from svix.models import ApplicationIn, ApplicationPatch, EndpointIn, MessageIn

RATE = 5
ENDPOINTS = 3
# 30 deliveries: about 6 s at 5/s.
MESSAGES = 10


def test_an_application_receives_its_rate_across_its_endpoints_and_processes(server, svix, receiver, event_type,
                                                                               tmp_path):
    app = svix.application.create(ApplicationIn(name="throttled", throttle_rate=RATE))
    assert app.throttle_rate == RATE
    paths = []
    for _ in range(ENDPOINTS):
        url, path = receiver.endpoint()
        svix.endpoint.create(app.id, EndpointIn(url=url))
        paths.append(path)
    peer = server.start_peer(tmp_path / "peer")
    try:
        senders = [svix]
        if peer:
            senders.append(Svix(server.token, SvixOptions(server_url=peer[0], retry_schedule=[])))
        for i in range(MESSAGES):
            senders[i % len(senders)].message.create(app.id, MessageIn(event_type=event_type, payload={"i": i}))
        deadline = 2 * MESSAGES * ENDPOINTS / RATE
        arrivals = sorted(r.at for path in paths for r in receiver.wait_for(path, MESSAGES, timeout=deadline))
    finally:
        if peer:
            peer[1]()
    assert len(arrivals) == MESSAGES * ENDPOINTS, "each message once at each endpoint"
    # The first delivery takes the limit's one-message bucket; the rest come one interval apart.
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    print(f"{rate:.3f} deliveries a second with {2 if peer else 1} process(es)")
    assert RATE * 0.9 <= rate <= RATE * 1.1, f"{rate:.2f} deliveries a second, for a limit of {RATE}"


def test_the_rate_is_at_least_one_and_a_patch_can_remove_it(svix):
    with pytest.raises(HTTPValidationError) as e:
        svix.application.create(ApplicationIn(name="stopped", throttle_rate=0))
    assert e.value.detail[0].loc == ["body", "throttleRate"]
    app = svix.application.create(ApplicationIn(name="throttled", throttle_rate=7))
    assert svix.application.patch(app.id, ApplicationPatch(name="renamed")).throttle_rate == 7
    assert svix.application.patch(app.id, ApplicationPatch(throttle_rate=9)).throttle_rate == 9
    assert svix.application.patch(app.id, ApplicationPatch(throttle_rate=None)).throttle_rate is None
