"""Usage reports. Every read takes the tenant; totals come from the ledger and the usage records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from apps.core import money

from .models import Budget, UsageRecord


def _rows(records, group: str, label: str) -> list[dict]:
    rows = (
        records.values(group)
        .annotate(spend=Sum("cost_usd"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"), requests=Count("id"))
        .order_by(group)
    )
    return [
        {
            label: str(row[group]) if row[group] is not None else None,
            "spend_usd": money.usd(row["spend"]),
            "tokens": (row["tokens_in"] or 0) + (row["tokens_out"] or 0),
            "requests": row["requests"],
        }
        for row in rows
    ]


def usage_report(*, tenant_id: int, period: dt.date, caps_usd: Decimal | None, caps_tokens: int | None) -> dict:
    budget = Budget.objects.filter(tenant_id=tenant_id, period=period).first()
    spent = budget.spent_usd if budget else Decimal(0)
    tokens = budget.spent_tokens if budget else 0
    next_month = (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    records = UsageRecord.objects.filter(
        tenant_id=tenant_id, created_at__date__gte=period, created_at__date__lt=next_month
    )
    return {
        "period": period.strftime("%Y-%m"),
        "spend_usd": money.usd(spent),
        "tokens": tokens,
        "budget_usd": money.usd(caps_usd) if caps_usd is not None else None,
        "remaining_usd": money.usd(max(caps_usd - spent, Decimal(0))) if caps_usd is not None else None,
        "token_budget": caps_tokens,
        "remaining_tokens": max(caps_tokens - tokens, 0) if caps_tokens is not None else None,
        "by_day": _rows(records.annotate(day=TruncDate("created_at")), "day", "date"),
        "by_model": _rows(records, "model", "model"),
        "by_key": _rows(records, "key__prefix", "key_prefix"),
    }
