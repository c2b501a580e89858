"""The budget ledger of record, in the database: usage records and each month's spend.

Requests reserve against counters in the hot store (holds.py) and queue their usage records
there durably; `write_batch` moves a batch of records into the database exactly once (records
already present are skipped), adds their cost to the month's budget row, and raises alerts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.db.models import F

from apps.core.db import insert_rows, refresh_connections

from .models import Alert, AlertKind, Budget, UsageRecord

ALERT_AT = Decimal("0.8")
RECORD_FIELDS = {f.attname for f in UsageRecord._meta.concrete_fields} - {"id"}
# What a queued record may leave out (the model's own defaults, as the ORM would apply them).
RECORD_DEFAULTS = {
    f.attname: f.get_default() for f in UsageRecord._meta.concrete_fields if not f.primary_key and f.has_default()
} | {"team_id": None, "key_id": None, "user_id": None, "ttft_ms": None}


def month_start(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date().replace(day=1)


@dataclass(frozen=True, slots=True)
class Caps:
    usd: Decimal | None
    tokens: int | None

    @property
    def limited(self) -> bool:
        return self.usd is not None or self.tokens is not None


def budget_for(tenant_id: int, period: dt.date) -> Budget:
    refresh_connections()
    try:
        with transaction.atomic():
            return Budget.objects.get_or_create(tenant_id=tenant_id, period=period)[0]
    except IntegrityError:  # another process created it first
        return Budget.objects.get(tenant_id=tenant_id, period=period)


def write_batch(records: list[dict]) -> int:
    """Insert the records not yet stored and add their spend to the budgets, in one transaction.

    Each record carries the caps in force for its request (`caps_usd`, `caps_tokens`) for alerts.
    Returns how many records were new.
    """
    refresh_connections()
    unique = {r["request_id"]: r for r in records}
    with transaction.atomic():
        stored = set(UsageRecord.objects.filter(request_id__in=unique).values_list("request_id", flat=True))
        fresh = [r for rid, r in unique.items() if rid not in stored]
        insert_rows(
            UsageRecord, [{**RECORD_DEFAULTS, **{k: v for k, v in r.items() if k in RECORD_FIELDS}} for r in fresh]
        )
        spend: dict[tuple[int, dt.date], list] = defaultdict(lambda: [Decimal(0), 0, None])
        for r in fresh:
            entry = spend[(r["tenant_id"], month_start(r["created_at"]))]
            entry[0] += r["cost_usd"]
            entry[1] += r["tokens_in"] + r["tokens_out"]
            entry[2] = Caps(r.get("caps_usd"), r.get("caps_tokens"))
        for (tenant_id, period), (cost, tokens, caps) in spend.items():
            budget = budget_for(tenant_id, period)
            Budget.objects.filter(pk=budget.pk).update(
                spent_usd=F("spent_usd") + cost, spent_tokens=F("spent_tokens") + tokens
            )
            budget.refresh_from_db()
            _alerts(budget, caps)
    return len(fresh)


def _alerts(budget: Budget, caps: Caps) -> list[Alert]:
    """Raise the 80 % and 100 % alerts once per tenant and month, and email the admins."""
    used = []
    if caps.usd:
        used.append((budget.spent_usd / caps.usd, f"${budget.spent_usd:.2f} of ${caps.usd:.2f}"))
    if caps.tokens:
        used.append((Decimal(budget.spent_tokens) / caps.tokens, f"{budget.spent_tokens:,} of {caps.tokens:,} tokens"))
    raised = []
    for share, detail in used:
        for kind, threshold in ((AlertKind.BUDGET_80, ALERT_AT), (AlertKind.BUDGET_100, Decimal(1))):
            if share < threshold:
                continue
            message = f"{budget.tenant.slug}: {detail} used in {budget.period:%Y-%m}."
            alert, created = Alert.objects.get_or_create(
                tenant_id=budget.tenant_id, kind=kind, period=budget.period, defaults={"message": message}
            )
            if created:
                raised.append(alert)
                transaction.on_commit(lambda a=alert: mail_admins(f"Catalyst budget alert: {a}", a.message))
    return raised
