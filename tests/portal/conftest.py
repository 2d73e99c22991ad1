"""Fixtures for the browser suite: the real `xwebhook serve`, a recording receiver, and headless Chromium.

One server per session (embedded store, fresh data directory, free port); each test makes its own application,
so tests never depend on order.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
JWT_SECRET = "portal-secret-0123456789abcdef"
DEADLINE = 20.0  # seconds: how long anything awaited may take before the test fails


def wait_until(condition, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    token: str

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token or self.token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=DEADLINE) as response:
                text = response.read()
                return response.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def ok(self, method, path, body=None):
        status, data = self.call(method, path, body)
        assert 200 <= status < 300, f"{method} {path}: {status} {data}"
        return data


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    binary = os.environ.get("XWEBHOOK_BIN", str(REPO / "target" / "debug" / "xwebhook"))
    assert Path(binary).is_file(), f"no xwebhook binary at {binary}: build it or set XWEBHOOK_BIN"
    data_dir = tmp_path_factory.mktemp("xwebhook-data")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("XWEBHOOK_")},
        "XWEBHOOK_JWT_SECRET": JWT_SECRET,
        "XWEBHOOK_ALLOW_SUBNETS": "127.0.0.0/8",
        "XWEBHOOK_PORTAL_BRAND_NAME": "Acme Webhooks",
    }
    token = subprocess.run([binary, "jwt", "generate", "--data-dir", str(data_dir)], env=env, check=True,
                           capture_output=True, text=True, timeout=DEADLINE).stdout.strip()
    port = _free_port()
    log_path = data_dir.parent / "xwebhook.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "serve", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", token)

    def healthy():
        assert process.poll() is None, f"xwebhook exited:\n{log_path.read_text(errors='replace')}"
        try:
            return server.call("GET", "/api/v1/health/ping")[0] == 204
        except OSError:
            return False

    try:
        wait_until(healthy, "the server to answer")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=DEADLINE)


@dataclass
class Received:
    path: str
    headers: dict  # lower-cased names
    body: bytes


class Receiver:
    """Records every POST and answers 200 with a JSON body naming the path."""

    def __init__(self):
        self.cond = threading.Condition()
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.cond:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    receiver.cond.notify_all()
                reply = json.dumps({"received": True, "by": "portal-test-receiver"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def at(self, path):
        with self.cond:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, path, count):
        with self.cond:
            ok = self.cond.wait_for(lambda: len([r for r in self.requests if r.path == path]) >= count, DEADLINE)
        assert ok, f"{path} received fewer than {count} requests"
        return self.at(path)


@pytest.fixture(scope="session")
def receiver():
    r = Receiver()
    yield r
    r.http.shutdown()


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    assert Path(executable).is_file(), f"no Chromium at {executable}: run tests/portal/run.sh, which installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


class Watched:
    """A page whose requests and console are recorded, so a test can assert none left the origin or failed."""

    def __init__(self, page, origin):
        self.page = page
        self.origin = origin
        self.requests = []
        self.errors = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"{r.status} {r.url}"))

    def assert_clean(self):
        foreign = [u for u in self.requests if not (u.startswith(self.origin + "/") or u.startswith("data:"))]
        assert not foreign, f"requests to another origin: {foreign}"
        assert not self.errors, f"console errors: {self.errors}"


@pytest.fixture
def open_page(browser, server):
    contexts = []
    watched = []

    def open_(url, width=1200, height=800):
        context = browser.new_context(viewport={"width": width, "height": height}, color_scheme="light")
        contexts.append(context)
        w = Watched(context.new_page(), server.url)
        watched.append(w)
        w.page.goto(url)
        return w

    yield open_
    for w in watched:
        w.assert_clean()
    for c in contexts:
        c.close()


@dataclass
class Tenant:
    """An application of the test's own, with an event type and an endpoint at the receiver."""
    app_id: str
    event_type: str
    endpoint_id: str
    path: str


@pytest.fixture
def tenant(server, receiver):
    suffix = uuid.uuid4().hex[:10]
    app = server.ok("POST", "/api/v1/app", {"name": f"Customer {suffix}"})
    event_type = f"invoice.paid{suffix}"
    server.ok("POST", "/api/v1/event-type", {
        "name": event_type, "description": "An invoice was paid",
        "schemas": {"1": {"type": "object", "properties": {"amount": {"type": "integer"}},
                          "examples": [{"amount": 1200}]}}})
    path = f"/hooks/{suffix}"
    endpoint = server.ok("POST", f"/api/v1/app/{app['id']}/endpoint",
                         {"url": receiver.base + path, "description": "Billing service"})
    return Tenant(app["id"], event_type, endpoint["id"], path)


def portal_link(server, app_id, **grant):
    return server.ok("POST", f"/api/v1/auth/app-portal-access/{app_id}", grant)["url"]
