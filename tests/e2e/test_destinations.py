"""Destinations beyond webhook endpoints, through the official SDK: their CRUD; a FIFO endpoint that receives 2 000
messages in signed batches, in order, with nothing lost across a failing receiver and a SIGKILL; a poller read by
consumers, by iterator, by event type and from a time, and the token that reads one poller only; RabbitMQ
destinations, in order, through a broker that disappears for a while.

The session's server lets a killed process's destination be taken over after 3 s (XWEBHOOK_SINK_LEASE). The
RabbitMQ tests need the broker at 127.0.0.1:5672 (guest/guest) and fail without it.
"""

import base64
import json
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone

import httpx
import pika
import pytest
from svix import Svix, SvixOptions
from svix.api import (
    MessageCreateOptions,
    MessagePollerConsumerPollOptions,
    MessagePollerPollOptions,
)
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import (
    ApplicationIn,
    DestinationIn,
    DestinationPatch,
    EndpointIn,
    EndpointSecretRotateIn,
    FifoEndpointConfigIn,
    MessageIn,
    PollingEndpointConsumerSeekIn,
    RabbitMqConfigIn,
    S3ConfigIn,
)
from svix.webhooks import Webhook

from helpers import unique, unique_event_type, wait_until

BROKER = ("127.0.0.1", 5672)
# Long enough for a destination to catch up once its broker is back: its retries back off from a second, doubling.
DEADLINE = 45


def new_key():
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def send(svix, app_id, event_type, payload, **fields):
    """`message.create` under an idempotency key of its own, tried again while the server cannot be reached (it
    is being restarted): a retry of a create that was stored after all answers with the stored message, so each
    message is accepted once. Returns the message's id."""
    message = MessageIn(event_type=event_type, payload=payload, **fields)
    options = MessageCreateOptions(idempotency_key=uuid.uuid4().hex)

    def attempt():
        try:
            return svix.message.create(app_id, message, options).id
        except httpx.TransportError:
            return None

    return wait_until(attempt, "the server to accept a message", interval=0.1)


def sink_id_and_span(webhook_id):
    """A batch's `webhook-id` is `<destination id>_<first position>_<last position>`."""
    sink_id, first, last = webhook_id.rsplit("_", 2)
    return sink_id, first, last


def complete(request):
    """Whether the receiver read the whole body: a process killed in the middle of a send leaves it cut short."""
    return len(request.body) == int(request.headers.get("content-length", -1))


# ------------------------------------------------------------------------------------------------------------
# CRUD


def test_destinations_are_created_read_listed_changed_and_deleted(server, svix, app, receiver, event_type):
    url, path = receiver.endpoint()
    first_key = new_key()
    fifo = svix.destination.create(app.id, DestinationIn(
        type="fifoEndpoint", batch_size=10, event_types=[event_type], metadata={"team": "e2e"},
        config=FifoEndpointConfigIn(url=url, headers={"x-e2e": "yes"}, key=first_key),
    ))
    assert (fifo.type, fifo.status, fifo.current_iterator) == ("fifoEndpoint", "enabled", "0-0")
    assert (fifo.batch_size, fifo.max_wait_secs, fifo.event_types, fifo.metadata) == (10, 0, [event_type],
                                                                                      {"team": "e2e"})
    assert fifo.config.url == url and fifo.config.headers.headers == {"x-e2e": "yes"}
    assert "key" not in server.raw("GET", f"/api/v1/app/{app.id}/destination/{fifo.id}").json()["config"]
    poller = svix.destination.create(app.id, DestinationIn(type="pollingEndpoint", config={}))
    assert (poller.type, poller.batch_size, poller.config) == ("pollingEndpoint", 100, {})

    assert svix.destination.get(app.id, fifo.id).model_dump() == fifo.model_dump()
    listed = svix.destination.list(app.id)
    assert sorted(d.id for d in listed.data) == sorted([fifo.id, poller.id]) and listed.done

    disabled = svix.destination.patch(app.id, fifo.id, DestinationPatch(
        type="fifoEndpoint", batch_size=20, status="disabled"))
    assert (disabled.batch_size, disabled.status, disabled.config.url) == (20, "disabled", url)
    assert svix.destination.get(app.id, fifo.id).status == "disabled"
    enabled = svix.destination.patch(app.id, fifo.id, DestinationPatch(type="fifoEndpoint", status="enabled"))
    assert (enabled.batch_size, enabled.status, enabled.event_types) == (20, "enabled", [event_type])

    uid = unique("dest")
    created = svix.destination.upsert(app.id, uid, DestinationIn(type="pollingEndpoint", config={},
                                                                 metadata={"v": "1"}))
    assert (created.uid, created.metadata) == (uid, {"v": "1"})
    updated = svix.destination.upsert(app.id, uid, DestinationIn(type="pollingEndpoint", config={},
                                                                 metadata={"v": "2"}, batch_size=5))
    assert (updated.id, updated.metadata, updated.batch_size) == (created.id, {"v": "2"}, 5)
    assert svix.destination.get(app.id, uid).id == created.id

    # The key set at creation signs the first batch; the rotated one signs the next.
    first = send(svix, app.id, event_type, {"n": 1})
    got = receiver.wait_for(path, 1)[0]
    assert [e["id"] for e in json.loads(got.body)] == [first] and got.headers["x-e2e"] == "yes"
    Webhook(first_key).verify(got.body, got.headers)
    rotated = svix.destination.rotate_secret(app.id, fifo.id, EndpointSecretRotateIn())
    assert rotated.key.startswith("whsec_") and rotated.key != first_key
    second = send(svix, app.id, event_type, {"n": 2})
    got = receiver.wait_for(path, 2)[1]
    assert [e["id"] for e in json.loads(got.body)] == [second]
    Webhook(rotated.key).verify(got.body, got.headers)

    svix.destination.delete(app.id, poller.id)
    with pytest.raises(HttpError) as e:
        svix.destination.get(app.id, poller.id)
    assert e.value.status_code == 404
    assert [d.id for d in svix.destination.list(app.id).data].count(poller.id) == 0


def test_unknown_types_and_config_fields_are_refused_by_name(server, svix, app):
    with pytest.raises(HTTPValidationError) as e:
        svix.destination.create(app.id, DestinationIn(type="amazonS3", config=S3ConfigIn(bucket="b")))
    assert e.value.status_code == 422
    assert e.value.detail[0].loc == ["body", "type"] and "amazonS3" in e.value.detail[0].msg
    # The SDK's config models drop fields they do not know, so this one goes around it.
    refused = server.raw("POST", f"/api/v1/app/{app.id}/destination", {
        "type": "fifoEndpoint", "config": {"url": "https://example.com/hook", "batchMode": "fast"}})
    assert refused.status == 422, refused.body
    assert "batchMode" in json.dumps(refused.json()["detail"])
    assert svix.destination.list(app.id).data == []


# ------------------------------------------------------------------------------------------------------------
# FIFO endpoint: the test

BATCH = 50
MESSAGES = 2000
# How long the receiver holds the batch in flight at the kill: less than the server's send timeout (half the
# 3 s lease), so that a process that is not killed gets its answer.
HOLD = 1.0


class FailingReceiver:
    """The receiver's answers: 500 to every 7th request, 200 to the others; once `armed`, the next request is
    held for a while and then answered 200, so that the test can kill the process waiting for that answer."""

    def __init__(self):
        self.armed = threading.Event()
        self.holding = threading.Event()

    def __call__(self, n):
        if self.armed.is_set() and not self.holding.is_set():
            self.holding.set()
            time.sleep(HOLD)  # a slow receiver, on its own thread
            return 200
        return 500 if n % 7 == 0 else 200


def test_a_fifo_endpoint_receives_everything_in_order_across_failures_and_a_kill(server, svix, app, receiver,
                                                                                 event_type, tmp_path):
    key = new_key()
    answers = FailingReceiver()
    url, path = receiver.endpoint(answer=answers)
    # Batches go out when full or a second after their first event, so that most are full.
    dest = svix.destination.create(app.id, DestinationIn(
        type="fifoEndpoint", batch_size=BATCH, max_wait_secs=1, config=FifoEndpointConfigIn(url=url, key=key)))
    started = time.monotonic()
    accepted = [send(svix, app.id, event_type, {"n": 0})]
    # Delivered while this process is the only one: it drives the destination, and holds it while it lives.
    receiver.wait_for(path, 1)
    # A second process shares the work where the deployment allows it, and may take the destination over.
    peer = server.start_peer(tmp_path / "peer")
    try:
        for n in range(1, MESSAGES):
            if n == MESSAGES // 2:
                # The kill lands while a batch is in flight (its receiver answers 200, to a process that is gone),
                # and between two creates, so that no create is left in doubt.
                answers.armed.set()
                wait_until(answers.holding.is_set, "a batch in flight")
                killed_at = time.monotonic()
                server.kill_and_restart()
                restarted_in = time.monotonic() - killed_at
            accepted.append(send(svix, app.id, event_type, {"n": n}))
        sent_in = time.monotonic() - started

        def delivered():
            ids = {e["id"] for r in receiver.received(path) if complete(r) and r.status < 300
                   for e in json.loads(r.body)}
            return ids >= set(accepted)

        wait_until(delivered, f"all {MESSAGES} messages delivered", timeout=90, interval=0.2)
        done_in = time.monotonic() - started
        report = check_fifo_batches(receiver.received(path), accepted, dest.id, key, killed_at)
        last_position = sink_id_and_span(report["last_batch"])[2]
        # The position is saved just after the batch's answer: it ends at the last batch's last event.
        final = wait_until(lambda: (d := svix.destination.get(app.id, dest.id)).current_iterator == last_position
                           and d, "the destination's position to reach the last batch")
        assert final.status == "enabled" and final.failure_reason is None and final.next_retry_at is None
        # Its last batches, newest first, as its attempts: the newest delivered, a failed one with its reason.
        attempts = server.raw("GET", f"/api/v1/app/{app.id}/destination/{dest.id}/attempt").json()["data"]
        assert 0 < len(attempts) <= 20 and attempts[0]["delivered"], attempts[:1]
        assert attempts[0]["lastIterator"] == last_position
        assert any(a["failureReason"].startswith("HTTP 500") for a in attempts if not a["delivered"]), attempts
    finally:
        if peer:
            peer[1]()
    print(f"fifo: {MESSAGES} sent in {sent_in:.1f}s (a restart of {restarted_in:.1f}s in the middle), "
          f"all delivered after {done_in:.1f}s with {2 if peer else 1} process(es): {report['batches']} batches "
          f"delivered, {report['failed']} answered 500, {report['cut_short']} cut short by the kill, "
          f"{report['resent']} event(s) sent again in {report['resent_batches']} batch(es)")
    # The batch whose answer was lost with the process is sent again, whole.
    assert report["resent_batches"] >= 1, report


def check_fifo_batches(requests, accepted, sink_id, key, killed_at):
    """Checks the receiver's requests, in arrival order, against the accepted order; returns counts for the
    report and the last batch's id."""
    index = {msg_id: n for n, msg_id in enumerate(accepted)}
    webhook = Webhook(key)
    seen = 0  # accepted[:seen] arrived in 2xx-answered batches
    last_begin = None  # where the last 2xx-answered batch began
    report = {"batches": 0, "failed": 0, "cut_short": 0, "resent": 0, "resent_batches": 0, "last_batch": None}
    for r in requests:
        if not complete(r):
            # The killed process was sending it: its answer was never read, so it counts as not delivered.
            assert r.at >= killed_at, "only a killed process leaves a request cut short"
            report["cut_short"] += 1
            continue
        webhook.verify(r.body, r.headers)
        events = json.loads(r.body)
        assert 1 <= len(events) <= BATCH
        assert sink_id_and_span(r.headers["webhook-id"])[0] == sink_id
        if r.status >= 300:
            report["failed"] += 1
            continue
        positions = [index[e["id"]] for e in events]
        begin, end = positions[0], positions[0] + len(events)
        assert positions == list(range(begin, end)), f"a batch of consecutive messages: {positions}"
        assert [e["payload"] for e in events] == [{"n": n} for n in positions]
        assert begin <= seen, f"messages {seen} to {begin - 1} were skipped"
        if begin < seen:
            # Sent again from the last saved position: the whole of the last batch delivered, whose answer was
            # lost with the process (at least once, never out of order). A driver stalled past its lease would
            # do the same without a kill, so a repeat is not tied to the kill's time.
            assert begin == last_begin, f"a repeat from {begin}, where the last batch began at {last_begin}"
            assert end >= seen, f"only messages {begin} to {end - 1} of the lost batch sent again"
            report["resent"] += seen - begin
            report["resent_batches"] += 1
        last_begin = begin
        seen = max(seen, end)
        report["batches"] += 1
        report["last_batch"] = r.headers["webhook-id"]
    assert seen == len(accepted), f"{seen} of {len(accepted)} delivered in order"
    return report


# ------------------------------------------------------------------------------------------------------------
# Polling endpoint


def consume(svix, app_id, dest_id, consumer, limit):
    """Everything left for `consumer`, a page of `limit` at a time, until the poller says it is done."""
    ids = []
    for _ in range(100):
        page = svix.message.poller.consumer_poll(app_id, dest_id, consumer,
                                                 MessagePollerConsumerPollOptions(limit=limit))
        assert len(page.data) <= limit
        ids += [m.id for m in page.data]
        if page.done:
            return ids
    raise AssertionError(f"consumer {consumer} was never done")


def test_a_poller_is_read_by_consumers_by_iterator_by_event_type_and_from_a_time(svix, app):
    kinds = [unique_event_type(), unique_event_type()]
    sent_before = send(svix, app.id, kinds[0], {"n": -1})
    dest = svix.destination.create(app.id, DestinationIn(type="pollingEndpoint", config={}))
    # Every third message is of the second kind; odd ones are on channel c1, even ones on c0.
    def message(n):
        return send(svix, app.id, kinds[1 if n % 3 == 0 else 0], {"n": n}, channels=[f"c{n % 2}"])

    first_half = [message(n) for n in range(15)]
    # A time strictly after every message of the first half (positions count milliseconds), and strictly before
    # every message of the second.
    seek_ms = int(time.time() * 1000) + 1
    wait_until(lambda: time.time() * 1000 >= seek_ms, "the clock to pass the seek time", interval=0.001)
    second_half = [message(n) for n in range(15, 30)]
    sent = first_half + second_half
    assert sent_before not in sent

    # Two consumers, each at its own position: every message once, in order, from where the poller began.
    for consumer in ("alpha", "beta"):
        assert consume(svix, app.id, dest.id, consumer, limit=7) == sent
        assert consume(svix, app.id, dest.id, consumer, limit=7) == [], "nothing twice"

    # The caller's own iterator.
    paged, iterator = [], None
    for _ in range(100):
        page = svix.message.poller.poll(app.id, dest.id, MessagePollerPollOptions(limit=7, iterator=iterator))
        paged += page.data
        iterator = page.iterator
        if page.done:
            break
    assert [m.id for m in paged] == sent
    assert [m.payload for m in paged] == [{"n": n} for n in range(30)]
    assert all(m.event_type in kinds and m.timestamp.tzinfo for m in paged)

    by_type = svix.message.poller.poll(app.id, dest.id, MessagePollerPollOptions(limit=100, event_type=kinds[1]))
    assert [m.id for m in by_type.data] == [sent[n] for n in range(30) if n % 3 == 0] and by_type.done
    by_channel = svix.message.poller.poll(app.id, dest.id, MessagePollerPollOptions(limit=100, channel="c1"))
    assert [m.id for m in by_channel.data] == sent[1::2]

    seek_at = datetime.fromtimestamp(seek_ms / 1000, timezone.utc)
    svix.message.poller.consumer_seek(app.id, dest.id, "gamma", PollingEndpointConsumerSeekIn(after=seek_at))
    page = svix.message.poller.consumer_poll(app.id, dest.id, "gamma", MessagePollerConsumerPollOptions(limit=100))
    assert [m.id for m in page.data] == second_half
    # A seek moves a consumer back as well as forward.
    svix.message.poller.consumer_seek(app.id, dest.id, "alpha", PollingEndpointConsumerSeekIn(after=seek_at))
    assert consume(svix, app.id, dest.id, "alpha", limit=7) == second_half


def test_a_poller_token_reads_its_poller_and_nothing_else(server, svix, app):
    mine = svix.destination.create(app.id, DestinationIn(type="pollingEndpoint", config={}))
    sibling = svix.destination.create(app.id, DestinationIn(type="pollingEndpoint", config={}))
    other_app = svix.application.create(ApplicationIn(name="e2e", uid=unique("app")))
    theirs = svix.destination.create(other_app.id, DestinationIn(type="pollingEndpoint", config={}))
    issued = server.raw("POST", f"/api/v1/auth/app/{app.id}/poller/{mine.id}/token")
    assert issued.status == 200, issued.body
    token = issued.json()
    assert token["token"] and token["id"] and token["scopes"]
    scoped = Svix(token["token"], SvixOptions(server_url=server.url, retry_schedule=[]))
    event_type = unique_event_type()
    msg_id = send(svix, app.id, event_type, {"n": 1})

    assert [m.id for m in scoped.message.poller.poll(app.id, mine.id).data] == [msg_id]
    assert [m.id for m in scoped.message.poller.consumer_poll(app.id, mine.id, "c").data] == [msg_id]
    refused = {
        "another poller of the app": lambda: scoped.message.poller.poll(app.id, sibling.id),
        "another app's poller": lambda: scoped.message.poller.poll(other_app.id, theirs.id),
        "another app's poller, by consumer": lambda: scoped.message.poller.consumer_poll(other_app.id, theirs.id, "c"),
        "the app's endpoints": lambda: scoped.endpoint.list(app.id),
        "its own destination's settings": lambda: scoped.destination.get(app.id, mine.id),
        "sending a message": lambda: scoped.message.create(app.id, MessageIn(event_type=event_type, payload={})),
    }
    for what, call in refused.items():
        with pytest.raises(HttpError) as e:
            call()
        assert e.value.status_code == 403, what
    assert server.raw("POST", f"/api/v1/auth/app/{app.id}/poller/{mine.id}/token",
                      token=token["token"]).status == 403


# ------------------------------------------------------------------------------------------------------------
# RabbitMQ


def broker_uri(port=BROKER[1]):
    return f"amqp://guest:guest@127.0.0.1:{port}/%2F"


class Queue:
    """A fresh exclusive queue on the broker (gone when the test's connection closes), read with basic.get."""

    def __init__(self):
        parameters = pika.ConnectionParameters(*BROKER, credentials=pika.PlainCredentials("guest", "guest"))
        try:
            self._connection = pika.BlockingConnection(parameters)
        except pika.exceptions.AMQPConnectionError as e:
            raise AssertionError(f"no RabbitMQ broker at {BROKER[0]}:{BROKER[1]} (guest/guest): start one") from e
        self._channel = self._connection.channel()
        self.name = unique("xwebhook-e2e")
        self._channel.queue_declare(self.name, exclusive=True)
        # (properties, event) for every message read so far, in the queue's order.
        self.messages = []

    def read(self):
        """Takes what the queue holds; returns every message read so far."""
        while True:
            method, properties, body = self._channel.basic_get(self.name, auto_ack=True)
            if method is None:
                return self.messages
            self.messages.append((properties, json.loads(body)))

    def first_seen(self):
        """The ids read, in order of first appearance, and how many were repeats."""
        ids, seen = [], set()
        for _, event in self.read():
            if event["id"] not in seen:
                seen.add(event["id"])
                ids.append(event["id"])
        return ids, len(self.messages) - len(ids)

    def close(self):
        self._connection.close()


@pytest.fixture
def queues():
    made = []

    def make():
        made.append(Queue())
        return made[-1]

    yield make
    for q in made:
        q.close()


def rabbit(uri, queue):
    return DestinationIn(type="rabbitMq", config=RabbitMqConfigIn(uri=uri, routing_key=queue.name, mandatory=True))


def test_a_rabbitmq_destination_publishes_every_message_in_order(svix, app, event_type, queues):
    queue = queues()
    dest = svix.destination.create(app.id, rabbit(broker_uri(), queue))
    assert dest.config.uri == "amqp://guest:****@127.0.0.1:5672/%2F"
    assert (dest.config.routing_key, dest.config.mandatory) == (queue.name, True)
    sent = [send(svix, app.id, event_type, {"n": n}) for n in range(50)]
    got = wait_until(lambda: len(queue.read()) >= 50 and queue.messages, "50 messages in the queue", timeout=DEADLINE)
    assert [event["id"] for _, event in got] == sent, "each once, in order"
    assert [event["payload"] for _, event in got] == [{"n": n} for n in range(50)]
    assert all(event["eventType"] == event_type for _, event in got)
    assert [p.message_id for p, _ in got] == sent
    assert {(p.content_type, p.type, p.delivery_mode) for p, _ in got} == {("application/json", event_type, 2)}
    wait_until(lambda: (d := svix.destination.get(app.id, dest.id)).current_iterator != "0-0"
               and d.status == "enabled", "the destination's position to move")


class Proxy:
    """A TCP proxy to the broker on a port of its own, which can be cut (the listener and every connection
    closed) and restored on the same port."""

    def __init__(self, upstream):
        self._upstream = upstream
        self._lock = threading.Lock()
        self._listener = None
        self._sockets = set()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.restore()

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self):
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        for s in ([listener] if listener else []) + list(sockets):
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked on it
            except OSError:
                pass
            s.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_a_broker_that_disappears_loses_nothing_and_delays_only_its_destination(svix, app, event_type, receiver,
                                                                                queues):
    behind_proxy, direct = queues(), queues()
    proxy = Proxy(BROKER)
    try:
        cut = svix.destination.create(app.id, rabbit(broker_uri(proxy.port), behind_proxy))
        healthy = svix.destination.create(app.id, rabbit(broker_uri(), direct))
        url, path = receiver.endpoint()
        svix.endpoint.create(app.id, EndpointIn(url=url))
        before = [send(svix, app.id, event_type, {"n": n}) for n in range(10)]
        wait_until(lambda: behind_proxy.first_seen()[0] == before, "the first 10 through the proxy")
        wait_until(lambda: direct.first_seen()[0] == before, "the first 10 at the broker's other destination")
        receiver.wait_for(path, 10)
        proxy.cut()
        during, sent_at = [], {}
        for n in range(10, 20):
            at = time.monotonic()
            during.append(send(svix, app.id, event_type, {"n": n}))
            sent_at[during[-1]] = at
        # The webhook endpoint and the other broker destination go on as if nothing happened.
        arrivals = receiver.wait_for(path, 20)
        assert sorted(r.headers["webhook-id"] for r in arrivals) == sorted(before + during)
        lag = max(r.at - sent_at[r.headers["webhook-id"]] for r in arrivals if r.headers["webhook-id"] in sent_at)
        assert lag < 2, f"a webhook waited {lag:.1f}s during the outage"
        wait_until(lambda: direct.first_seen()[0] == before + during, "all 20 at the broker's other destination")
        retrying = wait_until(lambda: (d := svix.destination.get(app.id, cut.id)).status == "retrying" and d,
                              "the cut destination to be retrying")
        assert retrying.failure_reason and retrying.next_retry_at, retrying
        assert svix.destination.get(app.id, healthy.id).status == "enabled"
        assert behind_proxy.first_seen()[0] == before, "nothing got through the cut proxy"
        outage = time.monotonic()
        proxy.restore()
        wait_until(lambda: behind_proxy.first_seen()[0] == before + during, "all 20 through the restored proxy",
                   timeout=DEADLINE)
        recovered_in = time.monotonic() - outage
        wait_until(lambda: svix.destination.get(app.id, cut.id).status == "enabled", "the destination enabled again")
        after = svix.destination.get(app.id, cut.id)
        assert after.failure_reason is None and after.next_retry_at is None
    finally:
        proxy.cut()
    print(f"rabbitMq: retrying ({retrying.failure_reason}); caught up {recovered_in:.1f}s after the broker came "
          f"back, {behind_proxy.first_seen()[1]} repeat(s); webhooks at most {lag:.2f}s late during the outage")
