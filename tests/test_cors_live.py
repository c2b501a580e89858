"""CORS: a browser app on an origin its tenant allows calls Catalyst with a key meant for it; a
page elsewhere, or another tenant's key, gets no CORS headers; OPTIONS and TRACE say what is allowed."""

from __future__ import annotations

import asyncio
import http.server
import threading

import httpx
import pytest
from playwright.async_api import async_playwright

from apps.tenancy import services
from apps.tenancy.models import Tenant
from catalyst.testing.live import free_port

pytestmark = pytest.mark.django_db
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"]
CHAT = {"model": "gpt-mock", "messages": [{"role": "user", "content": "Hello from a browser"}]}


@pytest.fixture(scope="module")
def page_origin():
    """A static server standing in for the browser app's own site."""
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="module")
def allowing(live, django_db_blocker, page_origin):
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="live")
        tenant.allowed_origins = [page_origin, "https://app.example.com"]
        tenant.save()
        services.tenant_saved(tenant=tenant)
    yield
    with django_db_blocker.unblock():
        tenant.allowed_origins = []
        tenant.save()
        services.tenant_saved(tenant=tenant)


def test_a_preflight_is_answered_for_an_allowed_origin_only(fresh, allowing):
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}

    allowed = httpx.options(fresh.base_url + "/chat/completions", headers={"Origin": "https://app.example.com", **ask})
    elsewhere = httpx.options(fresh.base_url + "/chat/completions", headers={"Origin": "https://evil.example", **ask})

    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert allowed.headers["access-control-allow-headers"] == "authorization, content-type"
    assert elsewhere.status_code == 204
    assert "access-control-allow-origin" not in elsewhere.headers
    assert elsewhere.headers["allow"] == "POST, OPTIONS"


def test_the_answer_carries_cors_headers_only_for_the_callers_own_tenants_origins(fresh, allowing):
    origin = {"Origin": "https://app.example.com"}

    mine = httpx.post(
        fresh.base_url + "/chat/completions", json=CHAT, headers={**origin, "Authorization": f"Bearer {fresh.key}"}
    )
    theirs = httpx.post(
        fresh.base_url + "/chat/completions",
        json=CHAT,
        headers={**origin, "Authorization": f"Bearer {fresh.other_key}"},
    )
    bad_key = httpx.post(
        fresh.base_url + "/chat/completions", json=CHAT, headers={**origin, "Authorization": "Bearer x"}
    )

    assert mine.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "X-Catalyst-Cost-USD" in mine.headers["access-control-expose-headers"]
    assert theirs.status_code == 200
    assert "access-control-allow-origin" not in theirs.headers  # that tenant allows no origin
    assert (bad_key.status_code, bad_key.headers["access-control-allow-origin"]) == (401, "https://app.example.com")


def test_options_and_trace_always_say_which_methods_are_allowed(fresh):
    options = httpx.options(fresh.base_url + "/models")
    trace = httpx.request("TRACE", fresh.base_url + "/models", headers={"Authorization": f"Bearer {fresh.key}"})

    assert (options.status_code, options.headers["allow"]) == (204, "GET, OPTIONS")
    assert (trace.status_code, trace.headers["allow"]) == (405, "GET, OPTIONS")
    assert trace.json()["error"]["code"] == "method_not_allowed"


def test_a_browser_app_on_an_allowed_origin_calls_catalyst_with_its_key(fresh, allowing, page_origin):
    async def fetch_from_the_page():
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = await browser.new_page()
            await page.goto(page_origin + "/")
            result = await page.evaluate(
                """async ([url, key, body]) => {
                    const response = await fetch(url, {method: "POST", body: JSON.stringify(body),
                        headers: {"Authorization": `Bearer ${key}`, "Content-Type": "application/json"}});
                    const json = await response.json();
                    return {status: response.status, model: response.headers.get("x-catalyst-model"),
                            content: json.choices[0].message.content};
                }""",
                [fresh.base_url + "/chat/completions", fresh.key, CHAT],
            )
            await browser.close()
            return result

    result = asyncio.run(fetch_from_the_page())

    assert (result["status"], result["model"]) == (200, "gpt-mock")
    assert result["content"]
