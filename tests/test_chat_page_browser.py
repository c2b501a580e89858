"""The chat page in headless Chromium (Debian's, driven by Playwright): sign in, stream, stop,
reconnect after a server restart, model output that cannot run or load anything, and what a new
user needs: a narrow screen, the last conversation after a reload, the model picker, the empty
state and the keyboard shortcuts.

Each test drives the browser inside its own `asyncio.run` and checks the database after it, so
no event loop is running while Django queries.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from django.contrib.auth import get_user_model
from playwright.async_api import Locator, Page, async_playwright, expect

from apps.chat.models import Conversation, Message
from apps.tenancy import services
from apps.tenancy.models import Role, Tenant
from catalyst.testing.live import start_catalyst, stop
from tests.conftest import _database_url

pytestmark = pytest.mark.django_db

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"]
PASSWORD = "page-user-password-42"
NARROW = {"width": 400, "height": 800}
WIDE = {"width": 1366, "height": 768}


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


async def sign_in(page: Page, base_url: str, model: str | None = "gpt-mock") -> None:
    await page.goto(base_url + "/chat/")
    await expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/chat/$"))
    await page.fill("#id_username", "page-user")
    await page.fill("#id_password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(base_url + "/chat/")
    await expect(page.locator("#status")).to_have_text("connected")
    if model:
        await page.select_option("#model", model)


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


async def fully_inside(locator: Locator, viewport: dict) -> bool:
    box = await locator.bounding_box()
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    return box["x"] >= 0 and box["y"] >= 0 and right <= viewport["width"] and bottom <= viewport["height"]


async def overflows_horizontally(page: Page) -> bool:
    return await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_at_400_px_the_sidebar_folds_behind_a_toggle_and_nothing_needs_horizontal_scrolling(fresh, page_user):
    wide_line = "x = " + "'a-long-value' + " * 30 + "'end'"
    wide_table = (
        "| " + " | ".join(f"column-{n}-heading" for n in range(8)) + " |\n" + "|---" * 8 + "|\n" + "| 1 " * 8 + "|"
    )
    answer_text = f"A word that never breaks: {'w' * 120}\n\n```python\n{wide_line}\n```\n\n{wide_table}"
    fresh.mock.script("gpt-mock", [{"text": answer_text}])

    async def steps(page: Page):
        await page.set_viewport_size(NARROW)
        await sign_in(page, fresh.server.url)
        toggle = page.get_by_role("button", name="Conversations")
        sidebar = page.locator("#sidebar")
        seen = {"sidebar_at_start": await sidebar.is_visible()}
        await send(page, "Show me something wide")
        answer = page.locator(".message.assistant").last
        await expect(answer.locator(".meta")).to_be_visible(timeout=10_000)
        code = answer.locator("pre code")
        seen |= {
            "overflows": await overflows_horizontally(page),
            "code_scrolls_inside": await code.evaluate("code => code.scrollWidth > code.clientWidth"),
            "code_within_width": await code.evaluate(
                "code => code.getBoundingClientRect().left >= 0 && code.getBoundingClientRect().right <= innerWidth"
            ),
            "table_scrolls_inside": await answer.locator(".table-scroll").evaluate(
                "box => box.scrollWidth > box.clientWidth"
            ),
            "composer_inside": await fully_inside(page.locator("#composer"), NARROW),
            "send_inside": await fully_inside(page.locator("#send"), NARROW),
            "toolbar_inside": await fully_inside(page.locator(".toolbar"), NARROW),
        }
        await toggle.click()
        await expect(sidebar).to_be_visible()
        await expect(page.locator("#conversations li").first).to_contain_text("Show me something wide")
        seen |= {
            "expanded_when_open": await toggle.get_attribute("aria-expanded"),
            "sidebar_inside": await fully_inside(page.locator("#sidebar"), NARROW),
            "overflows_when_open": await overflows_horizontally(page),
        }
        await toggle.click()
        await expect(sidebar).to_be_hidden()
        seen["expanded_when_closed"] = await toggle.get_attribute("aria-expanded")
        await toggle.click()
        await page.mouse.click(390, 400)  # on the veil beside the drawer
        await expect(sidebar).to_be_hidden()
        await toggle.click()
        await page.keyboard.press("Escape")
        await expect(sidebar).to_be_hidden()
        await page.set_viewport_size(WIDE)
        await expect(toggle).to_be_hidden()
        await expect(sidebar).to_be_visible()
        seen |= {
            "sidebar_width": (await sidebar.bounding_box())["width"],
            "overflows_wide": await overflows_horizontally(page),
        }
        return seen

    seen, problems = in_browser(steps)

    assert seen == {
        "sidebar_at_start": False,
        "overflows": False,
        "code_scrolls_inside": True,
        "code_within_width": True,
        "table_scrolls_inside": True,
        "composer_inside": True,
        "send_inside": True,
        "toolbar_inside": True,
        "expanded_when_open": "true",
        "sidebar_inside": True,
        "overflows_when_open": False,
        "expanded_when_closed": "false",
        "sidebar_width": 280,
        "overflows_wide": False,
    }
    assert problems == []


def test_a_reload_reopens_the_last_conversation_with_its_messages_and_carries_on_in_it(fresh, page_user):
    async def steps(page: Page):
        await sign_in(page, fresh.server.url)
        await send(page, "Remember this conversation")
        answer = page.locator(".message.assistant").last
        await expect(answer.locator(".meta")).to_contain_text("20 out", timeout=10_000)
        before = await answer.locator(".content").inner_text()
        await page.reload()
        await expect(page.locator("#status")).to_have_text("connected")
        await expect(page.locator(".message")).to_have_count(2)
        bubbles = page.locator(".message")
        seen = {
            "id": await answer.get_attribute("data-id"),
            "before": before,
            "roles": await bubbles.evaluate_all("nodes => nodes.map(n => n.classList[1])"),
            "ids": await bubbles.evaluate_all("nodes => nodes.map(n => n.dataset.id)"),
            "user": await bubbles.first.locator(".content").inner_text(),
            "answer": await bubbles.last.locator(".content").inner_text(),
            "selected": await page.locator("#conversations li.selected").get_attribute("data-id"),
            "empty_state": await page.locator("#empty-state").is_visible(),
        }
        await send(page, "And a follow-up")
        await expect(page.locator(".message.assistant").last.locator(".meta")).to_be_visible(timeout=10_000)
        seen["follow_up"] = await page.locator(".message").last.get_attribute("data-id")
        return seen

    seen, problems = in_browser(steps)

    conversation = Conversation.objects.get(messages__client_id=seen["id"], messages__role="assistant")
    stored = Message.objects.get(client_id=seen["id"], role="assistant")
    assert seen["roles"] == ["user", "assistant"]
    assert seen["ids"] == [seen["id"], seen["id"]]
    assert seen["user"] == "Remember this conversation"
    assert seen["answer"].strip() == seen["before"].strip() == stored.content.strip()
    assert seen["selected"] == str(conversation.pk)
    assert seen["empty_state"] is False
    follow_up = Message.objects.get(client_id=seen["follow_up"], role="user")
    assert (follow_up.content, follow_up.conversation_id) == ("And a follow-up", conversation.pk)
    assert Conversation.objects.filter(messages__client_id__in=[seen["id"], seen["follow_up"]]).distinct().count() == 1
    assert problems == []


def test_a_remembered_conversation_that_is_gone_starts_afresh_without_an_error(fresh, page_user):
    gone = 987_654_321

    async def steps(page: Page):
        await sign_in(page, fresh.server.url)
        await page.evaluate(f"localStorage.setItem('catalyst.chat.conversation.live', '{gone}')")
        await page.reload()
        await expect(page.locator("#status")).to_have_text("connected")
        await expect(page.locator("#empty-state")).to_be_visible()
        return {
            "notice": await page.locator("#notice").is_visible(),
            "messages": await page.locator(".message").count(),
            "remembered": await page.evaluate("localStorage.getItem('catalyst.chat.conversation.live')"),
        }

    seen, problems = in_browser(steps)

    assert seen == {"notice": False, "messages": 0, "remembered": None}
    # The one 404 is the page checking the remembered id (Chromium logs every failed load as well).
    assert sorted(problems) == [
        f"404 {fresh.server.url}/v1/conversations/{gone}",
        "Failed to load resource: the server responded with a status of 404 (Not Found)",
    ]
    assert not Conversation.objects.filter(pk=gone).exists()


def test_the_model_picker_offers_auto_then_the_chains_then_the_chat_models(fresh, page_user):
    async def steps(page: Page):
        await sign_in(page, fresh.server.url, model=None)
        options = page.locator("#model option")
        await expect(options.first).to_have_attribute("value", "auto")
        return {
            "values": await options.evaluate_all("nodes => nodes.map(n => n.value)"),
            "labels": await options.evaluate_all("nodes => nodes.map(n => n.textContent)"),
            "groups": await page.locator("#model optgroup").evaluate_all("nodes => nodes.map(n => n.label)"),
            "selected": await page.locator("#model").input_value(),
            "chain_title": await page.locator("#model option[value=resilient]").get_attribute("title"),
        }

    seen, problems = in_browser(steps)

    chat_models = ["backup", "claude-mock", "gpt-mini-mock", "gpt-mock", "last-resort", "pricey-mock", "primary"]
    assert seen["values"] == ["auto", "resilient", *chat_models]
    assert seen["labels"] == ["auto", "resilient (chain)", *chat_models]
    assert "embed-mock" not in seen["values"]
    assert seen["groups"] == ["Fallback chains", "Models"]
    assert seen["selected"] == "auto"
    assert seen["chain_title"] == "Fallback chain: primary → backup → last-resort"
    assert problems == []


def test_the_empty_state_shows_before_the_first_message_and_after_new_conversation(fresh, page_user):
    async def steps(page: Page):
        await sign_in(page, fresh.server.url)
        empty = page.locator("#empty-state")
        await expect(empty).to_be_visible()
        seen = {"shortcuts": await empty.locator("dt").all_inner_texts()}
        await send(page, "First message")
        await expect(empty).to_be_hidden()
        await expect(page.locator(".message.assistant .meta")).to_be_visible(timeout=10_000)
        seen["hidden_after_answer"] = await empty.is_hidden()
        await page.click("#new-conversation")
        await expect(empty).to_be_visible()
        seen["messages_after_new"] = await page.locator(".message").count()
        return seen

    seen, problems = in_browser(steps)

    assert seen == {
        "shortcuts": ["Enter", "Shift+Enter", "Esc", "/ or Ctrl+K (⌘K)"],
        "hidden_after_answer": True,
        "messages_after_new": 0,
    }
    assert problems == []


def test_escape_stops_a_streaming_answer_and_its_upstream_stream(fresh, page_user):
    fresh.mock.script("gpt-mock", [{"tps": 20, "tokens": 400}])

    async def steps(page: Page):
        await sign_in(page, fresh.server.url)
        await send(page, "Talk for a long time")
        answer = page.locator(".message.assistant").last
        await expect(answer.locator(".content")).not_to_be_empty()
        await page.focus("#prompt")
        await page.keyboard.press("Escape")
        await expect(answer).to_have_class(re.compile(r"\bcancelled\b"))
        await expect(page.locator("#stop")).to_be_hidden()
        return await answer.get_attribute("data-id"), await page.get_attribute("#stop", "title")

    (client_id, stop_title), problems = in_browser(steps)

    time.sleep(0.2)
    upstream = fresh.mock.requests()[-1]
    assert upstream["outcome"] == "abandoned" and upstream["tokens_sent"] < 400
    assert Message.objects.get(client_id=client_id, role="assistant").status == "cancelled"
    assert stop_title == "Stop the answer (Esc)"
    assert problems == []


def test_slash_and_ctrl_k_focus_the_prompt_and_a_slash_typed_in_it_stays_text(fresh, page_user):
    async def steps(page: Page):
        await sign_in(page, fresh.server.url)
        prompt = page.locator("#prompt")
        await page.locator("body").click(position={"x": 5, "y": 5})
        await page.keyboard.press("/")
        await expect(prompt).to_be_focused()
        seen = {"after_slash": await prompt.input_value()}
        await page.focus("#search")
        await page.keyboard.press("Control+k")
        await expect(prompt).to_be_focused()
        await page.keyboard.type("a/b")
        seen |= {"typed": await prompt.input_value(), "search": await page.input_value("#search")}
        return seen

    seen, problems = in_browser(steps)

    assert seen == {"after_slash": "", "typed": "a/b", "search": ""}
    assert problems == []
