"""A streamed answer whose body the server never began to send (the client left between the
headers and the first event): its upstream is closed and its request settled all the same.
Before, the relay generator that ends a request never started, so nothing ended it: the budget
hold, the stream lease and the usage record waited for their expiry.

The API handler runs in this process, against the live world's data and the mock LLM, so the
disconnect can be put exactly at the response's start, a window no client can aim at."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync

from apps.api.handler import ApiASGIHandler
from apps.core import background
from apps.metering import holds
from apps.metering.models import Budget
from apps.tenancy import services
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def budgeted(live, django_db_blocker):
    """A tenant with a budget, so every request holds part of it until it settles."""
    with django_db_blocker.unblock():
        onboarding = services.tenant_onboard(
            slug="abandoned", name="Abandoned", tier="enterprise", monthly_budget_usd=Decimal("10")
        )
    yield onboarding.tenant, onboarding.issued.plaintext
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug="abandoned").delete()


async def _leave_at_the_headers(key: str, mock) -> tuple[list[dict], dict, float]:
    """POST a streamed chat request and disconnect as the response's headers are sent; what was
    sent, the upstream's record once it ended (while this loop, and so its connection, still
    runs) and when the handler returned."""
    body = json.dumps({"model": "gpt-mock", "stream": True, "messages": [{"role": "user", "content": "Hello"}]})
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions", "query_string": b"", "root_path": "",
        "headers": [(b"authorization", f"Bearer {key}".encode()), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    started = asyncio.Event()
    asked = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal asked
        asked += 1
        if asked == 1:
            return {"type": "http.request", "body": body.encode(), "more_body": False}
        await started.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.start":
            started.set()
            await asyncio.sleep(1)  # the disconnect arrives (and cancels the sending) meanwhile

    await ApiASGIHandler()(scope, receive, send)
    returned = time.time()
    await background.drain()
    deadline = time.monotonic() + 2
    while (upstream := (await asyncio.to_thread(mock.requests))[-1])["outcome"] != "abandoned":
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)
    return sent, upstream, returned


def test_a_stream_left_before_its_first_event_closes_the_upstream_and_settles_its_hold(fresh, budgeted):
    tenant, key = budgeted
    fresh.mock.script("gpt-mock", [{"tps": 20, "tokens": 400}])

    sent, upstream, returned = async_to_sync(_leave_at_the_headers)(key, fresh.mock)

    assert [(m["type"], m.get("status")) for m in sent] == [("http.response.start", 200)]  # no event was sent
    assert len(fresh.mock.requests()) == 1
    assert upstream["outcome"] == "abandoned"
    assert upstream["ended_at"] - returned < 0.1
    assert upstream["tokens_sent"] < 400
    period = Budget.objects.get(tenant=tenant).period
    assert async_to_sync(holds.state)(tenant.pk, period)["holds"] == 0
