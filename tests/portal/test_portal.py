"""The App Portal in a real browser, used as a sender's customer would use it."""

import base64
import hashlib
import hmac
import os
import re
from pathlib import Path

from playwright.sync_api import expect

from conftest import DEADLINE, REPO, portal_link, wait_until

TIMEOUT = DEADLINE * 1000
SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS") == "1"


def screenshot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=str(REPO / "docs" / f"portal-{name}.png"), full_page=False)


def review(page, name):
    """Extra screenshots for a person reviewing the page's look (PORTAL_REVIEW_DIR); never committed."""
    if os.environ.get("PORTAL_REVIEW_DIR"):
        page.screenshot(path=str(Path(os.environ["PORTAL_REVIEW_DIR"]) / f"{name}.png"), full_page=True)


def send(server, tenant, payload):
    return server.ok("POST", f"/api/v1/app/{tenant.app_id}/msg", {"eventType": tenant.event_type, "payload": payload})


def test_the_link_shows_the_endpoints_and_hides_the_key(server, tenant, open_page):
    w = open_page(portal_link(server, tenant.app_id))
    page = w.page
    expect(page.get_by_role("link", name=f"/hooks")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("Billing service")).to_be_visible()
    assert "key=" not in page.url
    screenshot(page, "endpoints")


def test_add_an_endpoint_through_the_form(server, tenant, receiver, open_page):
    page = open_page(portal_link(server, tenant.app_id)).page
    page.get_by_role("button", name="Add Endpoint").click()
    url = f"{receiver.base}/added/{tenant.app_id}"
    page.get_by_label("Endpoint URL").fill(url)
    page.get_by_label("Description").fill("Added in the portal")
    page.get_by_role("checkbox", name=tenant.event_type).check()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=url)).to_be_visible(timeout=TIMEOUT)
    review(page, "added")
    endpoints = server.ok("GET", f"/api/v1/app/{tenant.app_id}/endpoint")["data"]
    added = [e for e in endpoints if e["url"] == url]
    assert added and added[0]["filterTypes"] == [tenant.event_type] and added[0]["description"] == "Added in the portal"


def test_attempts_resend_and_a_secret_that_verifies(server, tenant, receiver, open_page):
    msg = send(server, tenant, {"amount": 1200})
    [first] = receiver.wait_for(tenant.path, 1)
    page = open_page(portal_link(server, tenant.app_id)).page
    page.goto(page.url.split("#")[0] + f"#/messages/{msg['id']}")
    attempt = page.locator(".attempt").first
    expect(attempt).to_contain_text("200", timeout=TIMEOUT)
    attempt.locator("summary").click()
    expect(attempt).to_contain_text("portal-test-receiver")
    screenshot(page, "message")

    page.get_by_role("button", name="Resend").click()
    receiver.wait_for(tenant.path, 2)
    expect(page.locator(".attempt")).to_have_count(2, timeout=TIMEOUT)

    page.goto(page.url.split("#")[0] + f"#/endpoints/{tenant.endpoint_id}")
    page.get_by_role("button", name="Reveal").click()
    secret = page.locator(".secret")
    expect(secret).to_have_text(re.compile(r"^whsec_[A-Za-z0-9+/=]+$"), timeout=TIMEOUT)
    review(page, "endpoint")
    key = base64.b64decode(secret.inner_text().strip().removeprefix("whsec_"))
    h = first.headers
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + first.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in h["webhook-signature"].split(" ")


def test_a_read_only_link_shows_no_mutation_control(server, tenant, open_page):
    msg = send(server, tenant, {"amount": 1})
    page = open_page(portal_link(server, tenant.app_id, readOnly=True)).page
    expect(page.get_by_text("Billing service")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("button", name="Add Endpoint")).to_have_count(0)
    page.goto(page.url.split("#")[0] + f"#/endpoints/{tenant.endpoint_id}")
    expect(page.get_by_role("heading", name="Details")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("heading", name="Health, last 7 days")).to_be_visible()
    for name in ["Delete", "Disable", "Save", "Reveal", "Rotate", "Send Example", "Recover", "Save Headers"]:
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    page.goto(page.url.split("#")[0] + f"#/messages/{msg['id']}")
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("button", name="Resend")).to_have_count(0)
    review(page, "message-readonly")


def test_an_expired_link_says_so(server, tenant, open_page):
    link = portal_link(server, tenant.app_id)
    server.ok("POST", f"/api/v1/auth/app/{tenant.app_id}/expire-all", {})
    w = open_page(link)
    expect(w.page.get_by_role("heading", name="This link has expired")).to_be_visible(timeout=TIMEOUT)
    # The browser logs the refused request (401) itself; that one is expected.
    w.errors[:] = [e for e in w.errors if "401" not in e]


def test_catalog_messages_and_phone_width(server, tenant, open_page):
    send(server, tenant, {"amount": 7})
    w = open_page(portal_link(server, tenant.app_id).replace("/app-portal#", "/app-portal?theme=dark#"), width=375)
    page = w.page
    page.get_by_role("link", name="Event Catalog").click()
    expect(page.get_by_role("heading", name=tenant.event_type)).to_be_visible(timeout=TIMEOUT)
    example = page.locator(f'[id="type-{tenant.event_type}"] details[open] pre')
    expect(example).to_contain_text('"amount": 1200')
    review(page, "catalog-dark-phone")
    page.get_by_role("link", name="Messages").click()
    expect(page.get_by_role("link", name=tenant.event_type)).to_be_visible(timeout=TIMEOUT)
    review(page, "messages-dark-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"


def test_manage_an_endpoint_from_its_page(server, tenant, receiver, open_page):
    page = open_page(portal_link(server, tenant.app_id)).page
    # Keyboard only: the endpoint's link is reachable with Tab and opens with Enter.
    link = page.get_by_role("link", name=tenant.path)
    expect(link).to_be_visible(timeout=TIMEOUT)
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").endswith(tenant.path):
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Signing secret")).to_be_visible(timeout=TIMEOUT)

    page.get_by_role("button", name="Send Example").click()
    [example] = receiver.wait_for(tenant.path, 1)
    assert b"1200" in example.body, "the example comes from the schema's examples"

    page.get_by_label("Headers sent with every webhook").fill("X-Customer: 42")
    page.get_by_role("button", name="Save Headers").click()
    expect(page.get_by_text("Headers saved.")).to_be_visible(timeout=TIMEOUT)
    path = f"/api/v1/app/{tenant.app_id}/endpoint/{tenant.endpoint_id}"
    headers = server.ok("GET", f"{path}/headers")["headers"]
    assert {k.lower(): v for k, v in headers.items()} == {"x-customer": "42"}

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("button", name="Enable")).to_be_visible(timeout=TIMEOUT)
    assert server.ok("GET", path)["disabled"] is True

    page.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Confirm Delete").click()
    expect(page.get_by_role("heading", name="Endpoints")).to_be_visible(timeout=TIMEOUT)
    wait_until(lambda: server.call("GET", path)[0] == 404, "the endpoint to be deleted")


def test_messages_filter_by_event_type_and_status_and_page(server, tenant, receiver, open_page):
    other = tenant.event_type + ".other"
    server.ok("POST", "/api/v1/event-type", {"name": other, "description": "Another event"})
    ids = [send(server, tenant, {"n": n})["id"] for n in range(21)]
    server.ok("POST", f"/api/v1/app/{tenant.app_id}/msg", {"eventType": other, "payload": {"n": "other"}})
    receiver.wait_for(tenant.path, 22)
    page = open_page(portal_link(server, tenant.app_id)).page
    page.get_by_role("link", name="Messages").click()
    rows = page.locator("table.list tbody tr")
    # 22 messages: a page of 20, newest first, then the two oldest.
    expect(rows).to_have_count(20, timeout=TIMEOUT)
    expect(rows.first).to_contain_text(other)
    page.get_by_role("button", name="Older").click()
    expect(rows).to_have_count(2, timeout=TIMEOUT)
    expect(page.get_by_text(ids[0])).to_be_visible()
    page.get_by_role("button", name="Newer").click()
    expect(rows).to_have_count(20, timeout=TIMEOUT)

    page.get_by_label("Event type").select_option(other)
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1, timeout=TIMEOUT)
    expect(rows.first).to_contain_text(other)

    # Delivered, every one of them: "Failed" lists none, "Succeeded" the one of this type.
    page.get_by_label("Status").select_option(label="Failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No messages match.")).to_be_visible(timeout=TIMEOUT)
    page.get_by_label("Status").select_option(label="Succeeded")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1, timeout=TIMEOUT)
    expect(rows.first).to_contain_text("Succeeded")
