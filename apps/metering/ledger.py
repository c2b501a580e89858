"""The budget ledger: reserve before the call, settle after, reconcile what crashed in between.

A reservation is one conditional UPDATE of the month's budget row (PostgreSQL re-checks the
condition under the row lock), so no interleaving of concurrent requests can push spent plus
reserved past a limit. Settlement moves the reservation to spent at the real cost and writes
the usage record in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.utils import timezone

from apps.core.db import refresh_connections

from .models import Alert, AlertKind, Budget, Reservation, UsageRecord

ALERT_AT = Decimal("0.8")
_budget_ids: dict[tuple[int, dt.date], int] = {}


def month_start(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date().replace(day=1)


@dataclass(frozen=True, slots=True)
class Caps:
    usd: Decimal | None
    tokens: int | None

    @property
    def limited(self) -> bool:
        return self.usd is not None or self.tokens is not None


def _budget_id(tenant_id: int, period: dt.date) -> int:
    key = (tenant_id, period)
    if key not in _budget_ids:
        try:
            with transaction.atomic():
                budget, _ = Budget.objects.get_or_create(tenant_id=tenant_id, period=period)
        except IntegrityError:  # another process created it first
            budget = Budget.objects.get(tenant_id=tenant_id, period=period)
        _budget_ids[key] = budget.pk
    return _budget_ids[key]


def forget_budget_ids() -> None:
    _budget_ids.clear()


def reserve(
    *, tenant_id: int, request_id: str, amount_usd: Decimal, tokens: int, caps: Caps, now: dt.datetime | None = None
) -> bool:
    """Hold an estimate against this month's budget; False when it would pass a cap."""
    refresh_connections()
    period = month_start(now or timezone.now())
    budget_id = _budget_id(tenant_id, period)
    with transaction.atomic():
        rows = Budget.objects.filter(pk=budget_id)
        if caps.usd is not None:
            rows = rows.filter(spent_usd__lte=Value(caps.usd - amount_usd) - F("reserved_usd"))
        if caps.tokens is not None:
            rows = rows.filter(spent_tokens__lte=Value(caps.tokens - tokens) - F("reserved_tokens"))
        held = rows.update(reserved_usd=F("reserved_usd") + amount_usd, reserved_tokens=F("reserved_tokens") + tokens)
        if not held:
            return False
        Reservation.objects.create(budget_id=budget_id, request_id=request_id, amount_usd=amount_usd, tokens=tokens)
    return True


def settle(*, record: dict, caps: Caps, now: dt.datetime | None = None) -> list[Alert]:
    """Charge what the request really cost, release its reservation, write its usage record."""
    refresh_connections()
    now = now or timezone.now()
    cost, tokens = record["cost_usd"], record["tokens_in"] + record["tokens_out"]
    with transaction.atomic():
        reservation = Reservation.objects.select_for_update().filter(request_id=record["request_id"]).first()
        if reservation is not None:
            budget_id = reservation.budget_id
            released_usd, released_tokens = reservation.amount_usd, reservation.tokens
            reservation.delete()
        else:
            budget_id = _budget_id(record["tenant_id"], month_start(now))
            released_usd, released_tokens = Decimal(0), 0
        Budget.objects.filter(pk=budget_id).update(
            reserved_usd=F("reserved_usd") - released_usd,
            reserved_tokens=F("reserved_tokens") - released_tokens,
            spent_usd=F("spent_usd") + cost,
            spent_tokens=F("spent_tokens") + tokens,
        )
        UsageRecord.objects.create(created_at=now, **record)
        budget = Budget.objects.get(pk=budget_id)
        alerts = _alerts(budget, caps)
    return alerts


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
            message = f"{budget.tenant_id and budget.tenant.slug}: {detail} used in {budget.period:%Y-%m}."
            alert, created = Alert.objects.get_or_create(
                tenant_id=budget.tenant_id, kind=kind, period=budget.period, defaults={"message": message}
            )
            if created:
                raised.append(alert)
                transaction.on_commit(lambda a=alert: mail_admins(f"Catalyst budget alert: {a}", a.message))
    return raised


def reconcile(*, older_than_seconds: float | None = None, now: dt.datetime | None = None) -> int:
    """Settle reservations whose request never came back (a crashed process), at their estimate."""
    now = now or timezone.now()
    age = older_than_seconds or settings.GATEWAY_TOTAL_TIMEOUT_SECONDS + 300
    stale = Reservation.objects.filter(created_at__lt=now - dt.timedelta(seconds=age)).select_related("budget")
    settled = 0
    for reservation in stale:
        record = {
            "request_id": reservation.request_id, "tenant_id": reservation.budget.tenant_id, "endpoint": "unknown",
            "tokens_in": reservation.tokens, "tokens_out": 0, "cost_usd": reservation.amount_usd,
            "outcome": "unsettled",
        }  # fmt: skip
        settle(record=record, caps=Caps(None, None), now=now)
        settled += 1
    return settled
