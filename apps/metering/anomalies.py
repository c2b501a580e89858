"""Cost anomalies: a day whose spend is over three times the trailing daily average."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate

from .models import Alert, AlertKind, UsageRecord

FACTOR = Decimal(3)
TRAILING_DAYS = 7


def daily_spend(tenant_id: int, first: dt.date, last: dt.date) -> dict[dt.date, Decimal]:
    rows = (
        UsageRecord.objects.filter(tenant_id=tenant_id, created_at__date__gte=first, created_at__date__lte=last)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(spend=Sum("cost_usd"))
    )
    return {row["day"]: row["spend"] or Decimal(0) for row in rows}


def flag_anomalies(day: dt.date) -> list[Alert]:
    """Compare `day` with the average of the days before it (days without traffic count as zero)."""
    first = day - dt.timedelta(days=TRAILING_DAYS)
    tenant_ids = UsageRecord.objects.filter(created_at__date=day).values_list("tenant_id", flat=True).distinct()
    raised = []
    for tenant_id in tenant_ids:
        spend = daily_spend(tenant_id, first, day)
        today = spend.get(day, Decimal(0))
        average = sum((v for d, v in spend.items() if d < day), Decimal(0)) / TRAILING_DAYS
        if average <= 0 or today <= FACTOR * average:
            continue
        message = f"Spend on {day:%Y-%m-%d} was ${today:.4f}, {today / average:.1f}x the {TRAILING_DAYS}-day average."
        with transaction.atomic():
            alert, created = Alert.objects.get_or_create(
                tenant_id=tenant_id, kind=AlertKind.ANOMALY, period=day, defaults={"message": message}
            )
            if created:
                raised.append(alert)
                transaction.on_commit(lambda a=alert: mail_admins(f"Catalyst cost anomaly: {a}", a.message))
    return raised
