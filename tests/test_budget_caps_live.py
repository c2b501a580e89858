"""A budget bounds what requests can cost, not what they were expected to cost: concurrent long
answers with no max_tokens never spend more than the budget, on Redis and on the embedded
in-process hot store. The cap the hold covers is the max_tokens sent upstream."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
import pytest
from django.db.models import Sum
from django.utils import timezone

from apps.catalogue.models import LlmModel, Provider
from apps.catalogue.snapshot import catalogue_changed
from apps.metering.ledger import month_start
from apps.metering.models import Budget, UsageRecord
from apps.tenancy import services
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

BUDGET = Decimal("0.10")
# $1 per million input tokens, $8 per million output tokens; the mock would write 2,000 tokens, the
# model writes at most 1,024 ($0.0082).
UPSTREAM = "long@tokens=2000"
LONG = {"model": "long-mock", "messages": [{"role": "user", "content": "Tell me everything about budgets"}]}


@pytest.fixture(scope="module")
def long_model(live, django_db_blocker):
    with django_db_blocker.unblock():
        mock = Provider.objects.get(name="mock-openai")
        provider = Provider.objects.create(
            name="mock-patient", kind=mock.kind, base_url=mock.base_url, timeout_seconds=20
        )
        LlmModel.objects.create(
            name="long-mock", provider=provider, upstream_name=UPSTREAM, max_output_tokens=1024,
            price_input=Decimal(1), price_output=Decimal(8),
        )  # fmt: skip
        catalogue_changed()
    yield
    with django_db_blocker.unblock():
        LlmModel.objects.filter(name="long-mock").delete()
        Provider.objects.filter(name="mock-patient").delete()
        catalogue_changed()


def _tenant(slug: str) -> tuple[Tenant, str]:
    onboarding = services.tenant_onboard(slug=slug, name=slug, tier="enterprise", monthly_budget_usd=BUDGET)
    tenant = onboarding.tenant
    tenant.override_requests_per_minute = 100_000
    tenant.override_concurrent_streams = 1_000
    tenant.save()
    services.tenant_saved(tenant=tenant)
    return tenant, onboarding.issued.plaintext


CASES = ("json-redis", "json-memory", "sse-redis", "sse-memory", "shrink")


@pytest.fixture(scope="module")
def tenants(live, django_db_blocker):
    """One tenant per test, committed before any test's transaction so the servers see it."""
    with django_db_blocker.unblock():
        made = {case: _tenant(f"capped-{case}") for case in CASES}
        # $0.003 of the shrinking tenant's budget is left this month.
        Budget.objects.create(tenant=made["shrink"][0], period=month_start(timezone.now()), spent_usd=Decimal("0.097"))
    yield made
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug__in=[f"capped-{case}" for case in CASES]).delete()


@pytest.fixture
def capped(tenants, request):
    return tenants[request.node.callspec.id if hasattr(request.node, "callspec") else "shrink"]


async def _burst(url: str, key: str, count: int, stream: bool) -> list[httpx.Response]:
    body = {**LONG, "stream": stream}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=count)) as client:
        return await asyncio.gather(
            *(client.post(url, json=body, headers={"Authorization": f"Bearer {key}"}) for _ in range(count))
        )


def _settled(tenant: Tenant, count: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and UsageRecord.objects.filter(tenant=tenant).count() < count:
        time.sleep(0.1)


@pytest.mark.parametrize("hot_store", ["redis", "memory"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_concurrent_long_answers_never_spend_more_than_the_budget(
    fresh, long_model, embedded_server, capped, hot_store, stream
):
    tenant, key = capped
    server = fresh.server if hot_store == "redis" else embedded_server

    responses = asyncio.run(_burst(server.url + "/v1/chat/completions", key, 25, stream))

    _settled(tenant, 25)
    served = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 402]
    records = UsageRecord.objects.filter(tenant=tenant)
    spent = records.aggregate(total=Sum("cost_usd"))["total"]
    planned = sorted(request["planned_tokens"] for request in fresh.mock.requests(UPSTREAM))
    # The prompt is 15 tokens (estimated): each full hold is $0.000015 + 1,024 x $0.000008 = $0.008207.
    # Twelve fit in $0.10; later ones get what is left then (at least 16 tokens), or 402.
    assert spent <= BUDGET
    assert len(served) + len(refused) == 25
    assert len(planned) == len(served) >= 13
    assert planned.count(1024) >= 12
    assert all(16 <= tokens <= 1024 for tokens in planned)  # each cap the hold paid for went upstream
    assert records.count() == 25
    assert Budget.objects.get(tenant=tenant).spent_usd == spent
    assert records.filter(outcome="ok").aggregate(out=Sum("tokens_out"))["out"] == sum(planned)


def test_the_cap_sent_upstream_shrinks_to_what_the_remaining_budget_allows(fresh, long_model, capped):
    tenant, key = capped

    response = httpx.post(
        fresh.base_url + "/chat/completions", json=LONG, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    again = httpx.post(
        fresh.base_url + "/chat/completions", json=LONG, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )

    # $0.003 left: the prompt holds 15 tokens at $1/M, so ($0.003 - $0.000015) / $0.000008 = 373 follow.
    [upstream] = fresh.mock.requests(UPSTREAM)
    assert response.status_code == 200
    assert upstream["planned_tokens"] == 373
    assert response.json()["choices"][0]["finish_reason"] == "length"
    assert response.json()["usage"]["completion_tokens"] == 373
    assert again.status_code == 402
    _settled(tenant, 2)
    assert Budget.objects.get(tenant=tenant).spent_usd <= BUDGET
