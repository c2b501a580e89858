"""Usage records, the monthly budget ledger, open reservations and alerts (SPEC C4).

Money lives here, in the database (invariant 3): every request's usage record, and each month's
spend. In-flight reservations are holds in the hot store (holds.py), seeded from these rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from apps.tenancy.models import ApiKey, Tenant

MONEY = {"max_digits": 16, "decimal_places": 8}
PRICE = {"max_digits": 12, "decimal_places": 6}


class Budget(models.Model):
    """One tenant's spend for one calendar month. Limits come from the tenant, not this row."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="budgets")
    period = models.DateField(help_text="First day of the month (UTC).")
    spent_usd = models.DecimalField(default=Decimal(0), **MONEY)
    spent_tokens = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-period", "tenant__slug"]
        constraints = [models.UniqueConstraint(fields=["tenant", "period"], name="one_budget_per_tenant_month")]

    def __str__(self) -> str:
        return f"{self.tenant.slug} {self.period:%Y-%m}"


class UsageRecord(models.Model):
    """Every request, streamed or not, finished, cancelled or failed, with the prices it paid."""

    request_id = models.CharField(max_length=128, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="usage_records")
    team_id = models.BigIntegerField(null=True, blank=True)
    key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="usage_records")
    user_id = models.BigIntegerField(null=True, blank=True)
    endpoint = models.CharField(max_length=32)
    model = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=63, blank=True)
    tokens_in = models.IntegerField(default=0)
    tokens_out = models.IntegerField(default=0)
    tokens_cached = models.IntegerField(default=0)
    tokens_cache_written = models.IntegerField(default=0, help_text="Input written to the provider's prompt cache.")
    price_input = models.DecimalField(default=Decimal(0), **PRICE)
    price_output = models.DecimalField(default=Decimal(0), **PRICE)
    price_cached_input = models.DecimalField(default=Decimal(0), **PRICE)
    price_cache_write = models.DecimalField(default=Decimal(0), **PRICE)
    cost_usd = models.DecimalField(default=Decimal(0), **MONEY)
    latency_ms = models.FloatField(default=0)
    ttft_ms = models.FloatField(null=True, blank=True)
    cache_status = models.CharField(max_length=16, default="MISS")
    tokens_replayed = models.IntegerField(default=0, help_text="A cached answer: the tokens it replayed, not charged.")
    saved_usd = models.DecimalField(default=Decimal(0), help_text="A cached answer: what it would have cost.", **MONEY)
    outcome = models.CharField(max_length=32)
    stream = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="usage_tenant_time")]

    def __str__(self) -> str:
        return self.request_id


class AlertKind(models.TextChoices):
    BUDGET_80 = "budget_80", "Budget 80 % used"
    BUDGET_100 = "budget_100", "Budget exhausted"
    ANOMALY = "cost_anomaly", "Cost anomaly"


class Alert(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    period = models.DateField()
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "period"], name="one_alert_per_kind_and_period")
        ]

    def __str__(self) -> str:
        return f"{self.tenant.slug}: {self.get_kind_display()} ({self.period:%Y-%m})"
