"""Staff usage reports in the admin: totals equal the ledger, CSV export, charts served locally."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders

from apps.metering import ledger
from apps.metering.models import Budget, UsageRecord

DAY = dt.date(2026, 11, 23)  # the records' day; reports are asked for it explicitly, whatever today is


@pytest.fixture
def usage(world):
    now = dt.datetime.combine(DAY, dt.time(12), tzinfo=dt.UTC)
    records = [
        {
            "request_id": f"r{i}",
            "tenant_id": tenant.pk,
            "endpoint": "chat",
            "model": model,
            "provider": "p",
            "tokens_in": 100,
            "tokens_out": 10 * (i + 1),
            "cost_usd": Decimal(cost),
            "outcome": "ok",
            "created_at": now,
        }
        for i, (tenant, model, cost) in enumerate(
            [(world.acme, "gpt-4o", "0.30"), (world.acme, "gpt-4o-mini", "0.05"), (world.globex, "gpt-4o", "1.00")]
        )
    ]
    assert ledger.write_batch(records) == 3
    return world


def test_the_report_totals_equal_the_ledger_per_tenant(usage, staff_client):
    today = DAY

    page = staff_client.get("/admin/metering/usagerecord/report/", {"tenant": "acme", "start": today, "end": today})

    assert page.status_code == 200
    report = page.context["report"]
    budget = Budget.objects.get(tenant=usage.acme)
    assert report["totals"] == {"requests": 2, "spend": budget.spent_usd, "tokens": budget.spent_tokens}
    assert [(row["group"], row["spend"]) for row in report["by_model"]] == [
        ("gpt-4o", Decimal("0.30")),
        ("gpt-4o-mini", Decimal("0.05")),
    ]
    assert [row["group"] for row in report["by_tenant"]] == ["acme"]
    assert page.context["chart"]["model_spend"] == [0.3, 0.05]
    assert "vendor/chartjs/chart-4.6.1.umd.min.js" in page.content.decode()
    assert finders.find("vendor/chartjs/chart-4.6.1.umd.min.js")


def test_the_csv_export_has_one_row_per_record_with_its_prices(usage, staff_client):
    today = DAY

    response = staff_client.get("/admin/metering/usagerecord/report.csv", {"start": today, "end": today})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"] == "text/csv"
    assert {row["request_id"] for row in rows} == {"r0", "r1", "r2"}
    assert sum(Decimal(row["cost_usd"]) for row in rows) == Decimal("1.35")
    assert {row["tenant"] for row in rows} == {"acme", "globex"}


def test_a_backwards_date_range_is_refused(usage, staff_client):
    today = DAY
    response = staff_client.get(
        "/admin/metering/usagerecord/report.csv", {"start": today, "end": today - dt.timedelta(days=1)}
    )

    assert response.status_code == 400
    assert UsageRecord.objects.count() == 3


def test_the_report_shows_the_cache_hit_rate_and_what_it_saved(world, staff_client):
    now = dt.datetime.combine(DAY, dt.time(12), tzinfo=dt.UTC)
    base = {
        "tenant_id": world.acme.pk,
        "endpoint": "chat",
        "model": "gpt-4o",
        "provider": "p",
        "outcome": "ok",
        "created_at": now,
    }
    records = [
        {**base, "request_id": "miss", "tokens_in": 100, "tokens_out": 50, "cost_usd": Decimal("0.20"),
         "cache_status": "MISS"},
        {**base, "request_id": "hit1", "tokens_in": 0, "tokens_out": 0, "cost_usd": Decimal(0), "cache_status": "HIT",
         "tokens_replayed": 150, "saved_usd": Decimal("0.20")},
        {**base, "request_id": "hit2", "tokens_in": 0, "tokens_out": 0, "cost_usd": Decimal(0),
         "cache_status": "STALE", "tokens_replayed": 150, "saved_usd": Decimal("0.20")},
        {**base, "request_id": "off", "tokens_in": 10, "tokens_out": 5, "cost_usd": Decimal("0.01"),
         "cache_status": "BYPASS"},
    ]  # fmt: skip
    ledger.write_batch(records)

    page = staff_client.get("/admin/metering/usagerecord/report/", {"tenant": "acme", "start": DAY, "end": DAY})
    export = staff_client.get("/admin/metering/usagerecord/report.csv", {"tenant": "acme", "start": DAY, "end": DAY})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))

    assert page.context["report"]["cache"] == {"hits": 2, "hit_rate": 0.6667, "saved": Decimal("0.40")}
    assert page.context["report"]["totals"]["spend"] == Decimal("0.21")  # hits cost nothing
    assert "a hit rate of <strong>67 %</strong>" in page.content.decode()
    assert {row["request_id"]: (row["tokens_replayed"], row["saved_usd"]) for row in rows} == {
        "miss": ("0", "0.00000000"), "hit1": ("150", "0.20000000"), "hit2": ("150", "0.20000000"),
        "off": ("0", "0.00000000"),
    }  # fmt: skip
