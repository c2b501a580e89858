"""Operators' endpoints: /metrics after traffic, /ready with its dependencies."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import AsyncClient

from apps.core.hotstore import RedisHotStore
from apps.tenancy.tokens import issue_token
from catalyst.testing.chat import ChatClient
from tests.conftest import METRICS_TOKEN

pytestmark = pytest.mark.django_db


def scrape(fresh) -> str:
    response = httpx.get(fresh.server.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    return response.text


def value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels…}` (labels matched as a subset), or 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_need_the_token(fresh):
    assert httpx.get(fresh.server.url + "/metrics").status_code == 401
    wrong = httpx.get(fresh.server.url + "/metrics", headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_metrics_token")


def test_requests_tokens_cost_latency_and_connections_appear_after_traffic(fresh):
    before = scrape(fresh)
    body = {"model": "gpt-mock", "messages": [{"role": "user", "content": "Count me"}]}
    served = [
        httpx.post(fresh.base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {fresh.key}"})
        for _ in range(2)
    ]

    owner = get_user_model().objects.get(username="live-owner")
    token = issue_token(user_id=owner.pk, tenant_slug="live")

    async def hold_a_connection():
        client = await ChatClient.open(fresh.server.url, token)
        during = await asyncio.to_thread(scrape, fresh)
        await client.close()
        return during

    during = asyncio.run(hold_a_connection())
    after = scrape(fresh)

    ok = {"tenant": "live", "tier": "enterprise", "endpoint": "chat", "model": "gpt-mock", "outcome": "ok"}
    delta = value(after, "catalyst_requests_total", **ok) - value(before, "catalyst_requests_total", **ok)
    tokens_out = value(after, "catalyst_tokens_total", tenant="live", model="gpt-mock", direction="out") - value(
        before, "catalyst_tokens_total", tenant="live", model="gpt-mock", direction="out"
    )
    cost = value(after, "catalyst_cost_usd_total", tenant="live", model="gpt-mock") - value(
        before, "catalyst_cost_usd_total", tenant="live", model="gpt-mock"
    )
    latency = value(after, "catalyst_request_latency_seconds_count", endpoint="chat") - value(
        before, "catalyst_request_latency_seconds_count", endpoint="chat"
    )
    assert [r.status_code for r in served] == [200, 200]
    assert (delta, tokens_out, latency) == (2, 40, 2)
    assert cost == pytest.approx(sum(float(r.headers["x-catalyst-cost-usd"]) for r in served))
    assert value(during, "catalyst_websocket_connections") - value(after, "catalyst_websocket_connections") == 1
    assert value(after, "catalyst_breaker_open", model="gpt-mock") == 0
    assert 'catalyst_queue_depth{queue="audit"}' in after
    assert fresh.key not in after and "Count me" not in after


def test_ready_checks_the_database_migrations_and_redis(fresh):
    response = httpx.get(fresh.server.url + "/ready")

    assert (response.status_code, response.json()) == (
        200, {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "redis": "ok"}},
    )  # fmt: skip


def test_ready_says_which_dependency_is_down(monkeypatch, settings):
    unreachable = RedisHotStore("redis://127.0.0.1:1/0", "nowhere:")
    monkeypatch.setattr("apps.observability.views.hot_store", lambda: unreachable)

    async def ask():
        response = await AsyncClient().get("/ready")
        await sync_to_async(connections.close_all)()  # the view's connection lives on asgiref's thread
        return response

    response = asyncio.run(ask())

    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["redis"].startswith("unavailable: ")
