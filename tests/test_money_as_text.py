"""Every cost leaves as a fixed-point decimal with the ledger's eight places: a free answer is
`0.00000000`, never `0E-8`, and a sum of tiny costs never `1.00000000000000E-7`."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import httpx
import pytest

from apps.catalogue.models import LlmModel, Provider
from apps.catalogue.snapshot import catalogue_changed
from apps.core import money
from apps.metering.models import UsageRecord

pytestmark = pytest.mark.django_db
FIXED = re.compile(r"^\d+\.\d{8}$")


@pytest.mark.parametrize(
    ("amount", "text"),
    [(Decimal("0E-8"), "0.00000000"), (Decimal("1.00000000000000E-7"), "0.00000010"), (Decimal("12.5"), "12.50000000"),
     (None, "0.00000000"), (0, "0.00000000"), (Decimal("0.000000004"), "0.00000000")],
)  # fmt: skip
def test_a_cost_reads_as_a_plain_decimal(amount, text):
    assert money.usd(amount) == text


@pytest.fixture(scope="module")
def free_model(live, django_db_blocker):
    with django_db_blocker.unblock():
        provider = Provider.objects.get(name="mock-openai")
        LlmModel.objects.create(name="free-mock", provider=provider, upstream_name="free-mock", price_input=0,
                                price_output=0)  # fmt: skip
        catalogue_changed()
    yield
    with django_db_blocker.unblock():
        LlmModel.objects.filter(name="free-mock").delete()
        catalogue_changed()


def test_a_free_answer_costs_plain_zeros_in_headers_bodies_and_the_usage_report(fresh, free_model):
    headers = {"Authorization": f"Bearer {fresh.key}"}
    body = {"model": "free-mock", "messages": [{"role": "user", "content": "Free, please"}]}

    plain = httpx.post(fresh.base_url + "/chat/completions", json=body, headers=headers, timeout=20)
    streamed = httpx.post(
        fresh.base_url + "/chat/completions", json={**body, "stream": True, "stream_options": {"include_usage": True}},
        headers=headers, timeout=20,
    )  # fmt: skip
    generated = httpx.post(fresh.base_url + "/generate", json={"prompt": "hi", "model": "free-mock"}, headers=headers)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and UsageRecord.objects.filter(model="free-mock").count() < 3:
        time.sleep(0.05)
    report = httpx.get(fresh.base_url + "/usage", headers=headers).json()

    usage_chunk = [line for line in streamed.text.splitlines() if '"usage"' in line][-1]
    assert plain.headers["x-catalyst-cost-usd"] == "0.00000000"
    assert '"cost_usd":"0.00000000"' in usage_chunk
    assert generated.json()["cost_usd"] == "0.00000000"
    assert FIXED.match(report["spend_usd"])
    assert all(FIXED.match(row["spend_usd"]) for row in report["by_day"] + report["by_model"] + report["by_key"])
    assert [row["spend_usd"] for row in report["by_model"] if row["model"] == "free-mock"] == ["0.00000000"]
