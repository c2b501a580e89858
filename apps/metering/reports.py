"""Staff usage reports: totals by tenant, day, model and key over a date range, and their CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from django import forms
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core import money
from apps.tenancy.models import Tenant

from .models import UsageRecord

GROUPS = {"tenant": "tenant__slug", "day": "day", "model": "model", "key": "key__prefix"}
CACHED = ("HIT", "SEMANTIC", "STALE")  # answered from the cache (apps.core.outcome.CacheStatus)


class ReportFilter(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.all(), required=False, to_field_name="slug")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.now().date()  # UTC, as the records' dates are
        data["start"] = data.get("start") or today.replace(day=1)
        data["end"] = data.get("end") or today
        if data["end"] < data["start"]:
            raise forms.ValidationError("The end date is before the start date.")
        return data


def records_for(*, tenant: Tenant | None, start: dt.date, end: dt.date):
    records = UsageRecord.objects.filter(created_at__date__gte=start, created_at__date__lte=end)
    return records.filter(tenant=tenant) if tenant else records


def grouped(records, by: str) -> list[dict]:
    field = GROUPS[by]
    if by == "day":
        records = records.annotate(day=TruncDate("created_at"))
    rows = records.values(field).annotate(
        requests=Count("id"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"), spend=Sum("cost_usd")
    )
    result = [
        {
            "group": str(row[field]) if row[field] is not None else "—",
            "requests": row["requests"],
            "tokens": (row["tokens_in"] or 0) + (row["tokens_out"] or 0),
            "spend": row["spend"] or Decimal(0),
        }
        for row in rows
    ]
    return sorted(result, key=lambda r: r["group"]) if by == "day" else sorted(result, key=lambda r: -r["spend"])


def report(*, tenant: Tenant | None, start: dt.date, end: dt.date) -> dict:
    records = records_for(tenant=tenant, start=start, end=end)
    totals = records.aggregate(
        requests=Count("id"), spend=Sum("cost_usd"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"),
        cached=Count("id", filter=Q(cache_status__in=CACHED)), looked_up=Count("id", filter=~Q(cache_status="BYPASS")),
        saved=Sum("saved_usd"),
    )  # fmt: skip
    return {
        "totals": {
            "requests": totals["requests"],
            "spend": totals["spend"] or Decimal(0),
            "tokens": (totals["tokens_in"] or 0) + (totals["tokens_out"] or 0),
        },
        "cache": {  # answers served from the cache, of the requests it looked up, and what they saved
            "hits": totals["cached"],
            "hit_rate": round(totals["cached"] / totals["looked_up"], 4) if totals["looked_up"] else 0.0,
            "saved": totals["saved"] or Decimal(0),
        },
        **{f"by_{name}": grouped(records, name) for name in GROUPS},
    }


CSV_FIELDS = [
    "created_at", "request_id", "tenant", "key_prefix", "endpoint", "model", "provider", "tokens_in", "tokens_out",
    "tokens_cached", "price_input", "price_output", "price_cached_input", "cost_usd", "latency_ms", "ttft_ms",
    "cache_status", "outcome", "stream", "tokens_replayed", "saved_usd", "tokens_cache_written", "price_cache_write",
]  # fmt: skip


def csv_rows(records):
    """CSV text, one usage record a line, streamed in chunks (no whole table in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    yield buffer.getvalue()
    for record in records.select_related("tenant", "key").order_by("created_at").iterator(chunk_size=2000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([
            record.created_at.isoformat(), record.request_id, record.tenant.slug,
            record.key.prefix if record.key else "", record.endpoint, record.model, record.provider,
            record.tokens_in, record.tokens_out, record.tokens_cached, money.price(record.price_input),
            money.price(record.price_output), money.price(record.price_cached_input), money.usd(record.cost_usd),
            record.latency_ms, record.ttft_ms, record.cache_status, record.outcome, record.stream,
            record.tokens_replayed, money.usd(record.saved_usd), record.tokens_cache_written,
            money.price(record.price_cache_write),
        ])  # fmt: skip
        yield buffer.getvalue()
