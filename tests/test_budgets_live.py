"""Budgets under concurrency, through the live server: never overspent, ledger equals records."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.db.models import Sum

from apps.metering import holds
from apps.metering.models import Budget, UsageRecord
from apps.tenancy import services
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

BUDGET = Decimal("0.05")
BODY = {"model": "pricey-mock", "max_tokens": 20, "messages": [{"role": "user", "content": "Say hello to the gateway"}]}


@pytest.fixture(scope="module")
def tight(live, django_db_blocker):
    """A tenant with a $0.05 monthly budget and rate limits far above the test's traffic.

    Module-scoped, so it is committed before any test's transaction begins and the server sees it."""
    with django_db_blocker.unblock():
        onboarding = services.tenant_onboard(slug="tight", name="Tight", tier="enterprise", monthly_budget_usd=BUDGET)
        tenant = onboarding.tenant
        tenant.override_requests_per_minute = 100_000
        tenant.override_concurrent_streams = 1_000
        tenant.save()
        services.tenant_saved(tenant=tenant)
    yield tenant, onboarding.issued.plaintext
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug="tight").delete()


async def _burst(url: str, key: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=count)) as client:
        return await asyncio.gather(
            *(client.post(url, json=BODY, headers={"Authorization": f"Bearer {key}"}) for _ in range(count))
        )


def test_200_concurrent_requests_never_overspend_and_the_ledger_equals_the_records(fresh, tight):
    tenant, key = tight

    responses = asyncio.run(_burst(fresh.base_url + "/chat/completions", key, 200))

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and UsageRecord.objects.filter(tenant=tenant).count() < 200:
        time.sleep(0.1)
    statuses = sorted({r.status_code for r in responses})
    served = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 402]
    budget = Budget.objects.get(tenant=tenant)
    records = UsageRecord.objects.filter(tenant=tenant)

    assert statuses == [200, 402]
    assert len(served) + len(refused) == 200
    assert 5 <= len(served) <= 12
    assert {r.json()["error"]["code"] for r in refused} == {"budget_exhausted"}
    assert {r.json()["error"]["type"] for r in refused} == {"insufficient_quota"}
    assert records.count() == 200
    assert records.filter(outcome="ok").count() == len(served)
    refusals = records.filter(outcome="budget_exhausted")
    assert refusals.count() == len(refused)
    assert refusals.aggregate(total=Sum("cost_usd"), tokens=Sum("tokens_in")) == {"total": 0, "tokens": 0}
    assert set(refusals.values_list("request_id", flat=True)) == {r.headers["x-request-id"] for r in refused}
    assert budget.spent_usd == records.aggregate(total=Sum("cost_usd"))["total"]
    assert budget.spent_usd <= BUDGET
    hot = async_to_sync(holds.state)(tenant.pk, budget.period)
    assert hot == {
        "spent": holds.units(budget.spent_usd),
        "spent_tokens": budget.spent_tokens,
        "holds": 0,
        "unflushed": 0,
    }
    assert sum(Decimal(r.headers["x-catalyst-cost-usd"]) for r in served) == budget.spent_usd


def test_the_usage_report_totals_equal_the_ledger_and_show_only_the_callers_tenant(fresh, tight):
    tenant, key = tight
    before = UsageRecord.objects.filter(tenant=tenant).count()
    asyncio.run(_burst(fresh.base_url + "/chat/completions", key, 3))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and UsageRecord.objects.filter(tenant=tenant).count() < before + 3:
        time.sleep(0.1)

    report = httpx.get(fresh.base_url + "/usage", headers={"Authorization": f"Bearer {key}"}, timeout=20).json()
    other = httpx.get(fresh.base_url + "/usage", headers={"Authorization": f"Bearer {fresh.key}"}, timeout=20).json()

    budget = Budget.objects.get(tenant=tenant)
    records = UsageRecord.objects.filter(tenant=tenant)
    assert report["tenant"] == "tight"
    assert Decimal(report["spend_usd"]) == budget.spent_usd == records.aggregate(total=Sum("cost_usd"))["total"]
    assert report["tokens"] == budget.spent_tokens
    assert Decimal(report["budget_usd"]) == BUDGET
    assert Decimal(report["remaining_usd"]) == max(BUDGET - budget.spent_usd, Decimal(0))
    assert sum(Decimal(row["spend_usd"]) for row in report["by_model"]) == budget.spent_usd
    assert [row["model"] for row in report["by_model"]] == ["pricey-mock"]
    assert sum(row["requests"] for row in report["by_day"]) == records.count()
    assert [row["key_prefix"] for row in report["by_key"]] == [key[:12]]
    assert other["tenant"] == "live"
    assert "pricey-mock" not in [row["model"] for row in other["by_model"]]
