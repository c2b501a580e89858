"""The chat page in headless Chromium (Debian's, driven by Playwright): sign in, stream, stop,
reconnect after a server restart, and model output that cannot run or load anything."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect, sync_playwright

from apps.chat.models import Message
from apps.tenancy import services
from apps.tenancy.models import Role, Tenant
from catalyst.testing.live import start_catalyst, stop
from tests.conftest import _database_url

pytestmark = pytest.mark.django_db

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"]
PASSWORD = "page-user-password-42"


@pytest.fixture(scope="module")
def page_user(live, django_db_blocker):
    """A person with a password, a member of the live tenant (no staff rights)."""
    with django_db_blocker.unblock():
        user = get_user_model().objects.create_user("page-user", "page@catalyst.test", PASSWORD)
        services.membership_add(tenant=Tenant.objects.get(slug="live"), user=user, role=Role.MEMBER)
    yield user
    with django_db_blocker.unblock():
        get_user_model().objects.filter(username="page-user").delete()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.problems = []  # console errors and CSP violations the page reported
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    context.close()


def sign_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/chat/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/chat/$"))
    page.fill("#id_username", "page-user")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/chat/")
    expect(page.locator("#status")).to_have_text("connected")


def send(page: Page, text: str) -> None:
    page.fill("#prompt", text)
    page.click("#send")


def test_sign_in_send_and_watch_the_answer_stream_with_its_tokens_and_cost(fresh, page_user, page):
    fresh.mock.script("gpt-mock", [{"tps": 40, "tokens": 40}])
    sign_in(page, fresh.server.url)
    page.select_option("#model", "gpt-mock")

    send(page, "Hello from the browser")

    answer = page.locator(".message.assistant").last
    expect(answer).to_have_class(re.compile(r"\bstreaming\b"))
    partial = answer.locator(".content").inner_text()
    expect(answer.locator(".meta")).to_contain_text("40 out", timeout=10_000)
    stored = Message.objects.get(role="assistant", user_id=page_user.pk, client_id=answer.get_attribute("data-id"))
    assert len(partial.split()) < 40  # it was seen mid-stream
    assert answer.locator(".content").inner_text().strip() == stored.content.strip()
    assert f"${stored.cost_usd}".rstrip("0") in answer.locator(".meta").inner_text()
    expect(page.locator("#conversations li")).to_have_count(1)
    expect(page.locator("#conversations li").first).to_contain_text("Hello from the browser")
    assert page.problems == []


def test_stop_cancels_the_answer_and_the_upstream_stream(fresh, page_user, page):
    fresh.mock.script("gpt-mock", [{"tps": 20, "tokens": 400}])
    sign_in(page, fresh.server.url)
    page.select_option("#model", "gpt-mock")
    send(page, "Talk for a long time")
    answer = page.locator(".message.assistant").last
    expect(answer.locator(".content")).not_to_be_empty()

    page.click("#stop")

    expect(answer).to_have_class(re.compile(r"\bcancelled\b"))
    expect(page.locator("#stop")).to_be_hidden()
    time.sleep(0.2)
    upstream = fresh.mock.requests()[-1]
    assert upstream["outcome"] == "abandoned" and upstream["tokens_sent"] < 400
    stored = Message.objects.get(client_id=answer.get_attribute("data-id"), role="assistant")
    assert stored.status == "cancelled"
    assert page.problems == []


def test_an_xss_payload_in_a_model_answer_renders_inert(fresh, page_user, page):
    payload = (
        'Look: <script>window.pwned = 1</script> <img src="/exfil?secret=1" onerror="window.pwned = 2">\n\n'
        '![chart](/exfil?leak=2) [click](javascript:window.pwned=3) <iframe src="/exfil"></iframe>\n\n'
        "```js\nconsole.log('<b>code</b>')\n```"
    )
    fresh.mock.script("gpt-mock", [{"text": payload}])
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, fresh.server.url)
    page.select_option("#model", "gpt-mock")

    send(page, "Show me something dangerous")

    answer = page.locator(".message.assistant").last
    expect(answer.locator(".meta")).to_be_visible(timeout=10_000)
    content = answer.locator(".content")
    assert content.locator("script, img, iframe").count() == 0
    assert content.locator("[onerror]").count() == 0
    assert content.locator("a[href^='javascript']").count() == 0
    assert content.locator("pre code").inner_text().strip() == "console.log('<b>code</b>')"
    assert "<script>window.pwned = 1</script>" in content.inner_text()  # shown as text
    assert page.evaluate("window.pwned") is None
    assert not [url for url in requested if "/exfil" in url]


def test_the_page_reconnects_after_a_server_restart_and_sends_what_was_typed_meanwhile(
    fresh, page_user, page, django_db_blocker, tmp_path_factory
):
    with django_db_blocker.unblock():
        url = _database_url()
    log = tmp_path_factory.mktemp("restart") / "server.log"
    server = start_catalyst(url, log)
    port = int(server.url.rsplit(":", 1)[1])
    try:
        sign_in(page, server.url)
        page.select_option("#model", "gpt-mock")
        stop(server.process)
        expect(page.locator("#status")).to_contain_text("reconnecting in")

        send(page, "Sent while the server was down")
        expect(page.locator(".message.user").last).to_contain_text("Sent while the server was down")
        server = start_catalyst(url, log, port=port)

        answer = page.locator(".message.assistant").last
        expect(page.locator("#status")).to_have_text("connected", timeout=20_000)
        expect(answer.locator(".meta")).to_contain_text("20 out", timeout=10_000)
        stored = Message.objects.get(client_id=answer.get_attribute("data-id"), role="user")
        assert stored.content == "Sent while the server was down"
    finally:
        stop(server.process)
