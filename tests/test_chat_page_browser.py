"""The chat page in headless Chromium (Debian's, driven by Playwright): sign in, stream, stop,
reconnect after a server restart, and model output that cannot run or load anything.

Each test drives the browser inside its own `asyncio.run` and checks the database after it, so
no event loop is running while Django queries.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from django.contrib.auth import get_user_model
from playwright.async_api import Page, async_playwright, expect

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


def in_browser(steps):
    """Run `steps(page)` in a fresh headless Chromium; return its result and what went wrong on the
    page (console errors, uncaught exceptions, responses of 400 and above)."""

    async def run():
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = await browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
            try:
                return await steps(page), problems
            finally:
                await browser.close()

    return asyncio.run(run())


async def sign_in(page: Page, base_url: str) -> None:
    await page.goto(base_url + "/chat/")
    await expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/chat/$"))
    await page.fill("#id_username", "page-user")
    await page.fill("#id_password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(base_url + "/chat/")
    await expect(page.locator("#status")).to_have_text("connected")
    await page.select_option("#model", "gpt-mock")


async def send(page: Page, text: str) -> None:
    await page.fill("#prompt", text)
    await page.click("#send")


def test_sign_in_send_and_watch_the_answer_stream_with_its_tokens_and_cost(fresh, page_user):
    fresh.mock.script("gpt-mock", [{"tps": 40, "tokens": 40}])

    async def steps(page: Page):
        await sign_in(page, fresh.server.url)
        await send(page, "Hello from the browser")
        answer = page.locator(".message.assistant").last
        await expect(answer).to_have_class(re.compile(r"\bstreaming\b"))
        partial = await answer.locator(".content").inner_text()
        await expect(answer.locator(".meta")).to_contain_text("40 out", timeout=10_000)
        await expect(page.locator("#conversations li")).to_have_count(1)
        return {
            "id": await answer.get_attribute("data-id"),
            "partial": partial,
            "text": await answer.locator(".content").inner_text(),
            "meta": await answer.locator(".meta").inner_text(),
            "listed": await page.locator("#conversations li").first.inner_text(),
        }

    seen, problems = in_browser(steps)

    stored = Message.objects.get(role="assistant", user_id=page_user.pk, client_id=seen["id"])
    assert len(seen["partial"].split()) < 40  # it was seen mid-stream
    assert seen["text"].strip() == stored.content.strip()
    assert len(stored.content.split()) == 40
    assert f"${stored.cost_usd}".rstrip("0") in seen["meta"]
    assert "Hello from the browser" in seen["listed"]
    assert problems == []


def test_stop_cancels_the_answer_and_the_upstream_stream(fresh, page_user):
    fresh.mock.script("gpt-mock", [{"tps": 20, "tokens": 400}])

    async def steps(page: Page):
        await sign_in(page, fresh.server.url)
        await send(page, "Talk for a long time")
        answer = page.locator(".message.assistant").last
        await expect(answer.locator(".content")).not_to_be_empty()
        await page.click("#stop")
        await expect(answer).to_have_class(re.compile(r"\bcancelled\b"))
        await expect(page.locator("#stop")).to_be_hidden()
        return await answer.get_attribute("data-id")

    client_id, problems = in_browser(steps)

    time.sleep(0.2)
    upstream = fresh.mock.requests()[-1]
    assert upstream["outcome"] == "abandoned" and upstream["tokens_sent"] < 400
    assert Message.objects.get(client_id=client_id, role="assistant").status == "cancelled"
    assert problems == []


def test_an_xss_payload_in_a_model_answer_renders_inert(fresh, page_user):
    payload = (
        'Look: <script>window.pwned = 1</script> <img src="/exfil?secret=1" onerror="window.pwned = 2">\n\n'
        '![chart](/exfil?leak=2) [click](javascript:window.pwned=3) <iframe src="/exfil"></iframe>\n\n'
        "```js\nconsole.log('<b>code</b>')\n```"
    )
    fresh.mock.script("gpt-mock", [{"text": payload}])

    async def steps(page: Page):
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        await sign_in(page, fresh.server.url)
        await send(page, "Show me something dangerous")
        answer = page.locator(".message.assistant").last
        await expect(answer.locator(".meta")).to_be_visible(timeout=10_000)
        content = answer.locator(".content")
        return {
            "dangerous": await content.locator("script, img, iframe, [onerror], a[href^='javascript']").count(),
            "code": await content.locator("pre code").inner_text(),
            "text": await content.inner_text(),
            "pwned": await page.evaluate("window.pwned"),
            "exfiltrated": [url for url in requested if "/exfil" in url],
        }

    seen, problems = in_browser(steps)

    assert seen["dangerous"] == 0
    assert seen["code"].strip() == "console.log('<b>code</b>')"
    assert "<script>window.pwned = 1</script>" in seen["text"]  # shown as text, never run
    assert seen["pwned"] is None
    assert seen["exfiltrated"] == []
    assert problems == []


def test_the_page_reconnects_after_a_server_restart_and_sends_what_was_typed_meanwhile(
    fresh, page_user, django_db_blocker, tmp_path_factory
):
    with django_db_blocker.unblock():
        url = _database_url()
    log = tmp_path_factory.mktemp("restart") / "server.log"
    servers = [start_catalyst(url, log)]
    port = int(servers[0].url.rsplit(":", 1)[1])

    async def steps(page: Page):
        await sign_in(page, servers[0].url)
        stop(servers[0].process)
        await expect(page.locator("#status")).to_contain_text("reconnecting in")
        await send(page, "Sent while the server was down")
        await expect(page.locator(".message.user").last).to_contain_text("Sent while the server was down")
        servers.append(start_catalyst(url, log, port=port))
        await expect(page.locator("#status")).to_have_text("connected", timeout=20_000)
        answer = page.locator(".message.assistant").last
        await expect(answer.locator(".meta")).to_contain_text("20 out", timeout=10_000)
        return await answer.get_attribute("data-id")

    try:
        client_id, _ = in_browser(steps)
    finally:
        for server in servers:
            stop(server.process)

    assert Message.objects.get(client_id=client_id, role="user").content == "Sent while the server was down"
    assert Message.objects.get(client_id=client_id, role="assistant").status == "complete"
