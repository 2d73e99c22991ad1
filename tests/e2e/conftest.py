"""Fixtures for the end-to-end suite: the real `xwebhook` binary, an SDK client for it, and a webhook receiver.

The server is started once per session on a free loopback port with a fresh data directory; tests isolate
themselves by creating their own applications, event types and receiver paths, so they never depend on order.
"""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from svix import Svix, SvixOptions
from svix.models import ApplicationIn, EventTypeIn

from helpers import DEADLINE_SECONDS, raw_request, unique, unique_event_type, wait_until

REPO = Path(__file__).resolve().parents[2]
JWT_SECRET = "e2e-secret-0123456789abcdef"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    token: str
    jwt_secret: str
    log_path: Path
    # Set by the fixture: SIGKILLs the process and starts it again on the same port, data and settings.
    _kill_and_restart: object = None
    # Set by the fixture: starts another process of the same deployment; None on the embedded store.
    _start_peer: object = None

    def kill_and_restart(self):
        """`kill -9`, then the same server again; returns once it answers. Later tests use the new process."""
        self._kill_and_restart()

    def start_peer(self, data_dir):
        """A second process sharing this deployment's Redis (and Postgres), with its own port and `data_dir`: a
        `(url, stop)` pair, or None on the embedded store, whose data directory one process owns."""
        return self._start_peer(data_dir)

    def raw(self, method, path, body=None, token=None, headers=None):
        """A request outside the SDK, with the session's token unless another (or "" for none) is given."""
        return raw_request(self.url, self.token if token is None else token, method, path, body, headers)

    def log(self):
        return self.log_path.read_text(errors="replace")


def _healthy(url):
    try:
        return raw_request(url, "", "GET", "/api/v1/health/ping").status == 204
    except OSError:
        return False


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    binary = os.environ.get("XWEBHOOK_BIN", str(REPO / "target" / "debug" / "xwebhook"))
    assert Path(binary).is_file(), f"no xwebhook binary at {binary}: build it or set XWEBHOOK_BIN"
    data_dir = tmp_path_factory.mktemp("xwebhook-data")
    log_path = data_dir.parent / "xwebhook.log"
    # Only this suite's settings: nothing XWEBHOOK_* from the caller's shell leaks into the server.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("XWEBHOOK_")},
        "XWEBHOOK_JWT_SECRET": JWT_SECRET,
        "XWEBHOOK_ALLOW_SUBNETS": "127.0.0.0/8",
        "XWEBHOOK_RETRY_SCHEDULE": "1,1",
        # Svix's documented minimum for `deliverAt` is a minute; the scheduling tests wait seconds instead.
        "XWEBHOOK_DELIVER_AT_MIN_DELAY": "1",
        # Replays paced to 5 messages a second (pages of 5, a second apart), and a dead process's task taken
        # over after 3 s, so that the replay tests can stop a server between two pages of one.
        "XWEBHOOK_REPLAY_RATE": "5",
        "XWEBHOOK_BACKGROUND_TASK_LEASE": "3",
        # Deliveries a killed server had in flight are taken over when their lease lapses, after twice the
        # request timeout and 10 s: 20 s here (70 s by default). The receivers answer at once.
        "XWEBHOOK_REQUEST_TIMEOUT": "5",
        # A destination driven by a killed process is taken over after 3 s (10 s by default), so that the FIFO
        # test can kill a server in the middle of a run.
        "XWEBHOOK_SINK_LEASE": "3",
    }
    # The deployment under test: the embedded store by default, Redis when E2E_REDIS_URL names one (each session
    # under its own key prefix, so runs never see each other's data).
    redis_url = os.environ.get("E2E_REDIS_URL")
    if redis_url:
        env["XWEBHOOK_REDIS_URL"] = redis_url
        env["XWEBHOOK_REDIS_PREFIX"] = f"xwe2e:{uuid.uuid4().hex}"
    # Records in Postgres when E2E_DATABASE_URL names one, in a schema of this session's own.
    database_url = os.environ.get("E2E_DATABASE_URL")
    schema = f"xwe2e_{uuid.uuid4().hex}"
    if database_url:
        env["XWEBHOOK_DATABASE_URL"] = database_url
        env["XWEBHOOK_DATABASE_SCHEMA"] = schema
    token = subprocess.run(
        [binary, "jwt", "generate", "--data-dir", str(data_dir)],
        env=env, check=True, capture_output=True, text=True, timeout=DEADLINE_SECONDS,
    ).stdout.strip()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [binary, "serve", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}"]
    server = Server(url=url, token=token, jwt_secret=JWT_SECRET, log_path=log_path)

    def start(command=command, url=url):
        with open(log_path, "ab") as log:
            started = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(
                lambda: started.poll() is not None or _healthy(url),
                "the server to answer /api/v1/health/ping",
            )
        except AssertionError:
            started.kill()
            raise
        assert started.poll() is None, f"xwebhook exited with {started.returncode}:\n{server.log()}"
        return started

    process = start()

    def start_peer(peer_dir):
        if not redis_url:
            return None
        peer_port = _free_port()
        peer_url = f"http://127.0.0.1:{peer_port}"
        peer = start([binary, "serve", "--data-dir", str(peer_dir), "--listen", f"127.0.0.1:{peer_port}"], peer_url)

        def stop():
            peer.send_signal(signal.SIGTERM)
            assert peer.wait(timeout=DEADLINE_SECONDS) == 0, f"the peer did not stop cleanly:\n{server.log()}"

        return peer_url, stop

    server._start_peer = start_peer

    def kill_and_restart():
        nonlocal process
        process.kill()
        process.wait()
        process = start()

    server._kill_and_restart = kill_and_restart
    try:
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"xwebhook did not stop within {DEADLINE_SECONDS}s of SIGTERM:\n{server.log()}")
    if database_url and shutil.which("psql"):
        # Best effort: the schema is this session's alone, and leaving it would only cost disk.
        subprocess.run(["psql", database_url, "-qc", f"DROP SCHEMA IF EXISTS {schema} CASCADE"],
                       capture_output=True, timeout=DEADLINE_SECONDS)
    assert code == 0, f"xwebhook exited with {code} after SIGTERM:\n{server.log()}"


@pytest.fixture(scope="session")
def svix(server):
    # No SDK retries: a 5xx must show up as the failure it is, not be papered over.
    return Svix(server.token, SvixOptions(server_url=server.url, retry_schedule=[]))


@dataclass
class Received:
    path: str
    headers: dict  # lower-cased names
    body: bytes
    status: int  # what the receiver answered
    at: float  # time.monotonic() on arrival


class Receiver:
    """A threaded HTTP server that records every POST and answers as scripted for its path."""

    def __init__(self):
        self._cond = threading.Condition()
        self._requests = []
        self._scripts = {}
        # Per path: a function of the request's number there (1 for the first) giving the answer, and the count.
        self._answers = {}
        self._counts = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver._answer(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._cond:
                    receiver._requests.append(Received(self.path, headers, body, status, time.monotonic()))
                    receiver._cond.notify_all()
                reply = b'{"ok":true}' if status < 300 else b'{"error":"scripted"}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender is gone (a server killed while waiting for this answer)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def _answer(self, path):
        with self._cond:
            n = self._counts[path] = self._counts.get(path, 0) + 1
            answer = self._answers.get(path)
            if not answer:
                script = self._scripts.get(path)
                return script.pop(0) if script else 200
        # Outside the lock: a scripted answer may take its time (to hold a request in flight).
        return answer(n)

    def endpoint(self, statuses=(), answer=None):
        """A fresh path with its own script (answered in order, then 200), or answered by `answer(n)` for its
        n-th request (from 1); returns (url, path)."""
        path = f"/hook/{uuid.uuid4().hex}"
        with self._cond:
            self._scripts[path] = list(statuses)
            if answer:
                self._answers[path] = answer
        return self.base_url + path, path

    def received(self, path):
        with self._cond:
            return [r for r in self._requests if r.path == path]

    def wait_for(self, path, count, timeout=DEADLINE_SECONDS):
        """Waits until `path` got at least `count` requests; returns them all."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: sum(r.path == path for r in self._requests) >= count, timeout=timeout
            )
            got = [r for r in self._requests if r.path == path]
        assert ok, f"{path} got {len(got)} request(s) within {timeout}s, expected {count}"
        return got

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="session")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def app(svix):
    """A fresh application for one test."""
    return svix.application.create(ApplicationIn(name="e2e", uid=unique("app")))


@pytest.fixture
def event_type(svix):
    """A fresh event type name, created in the default organization."""
    return svix.event_type.create(EventTypeIn(name=unique_event_type(), description="e2e")).name
