"""A day over three times the trailing average raises one alert per tenant and day."""

import datetime as dt
from decimal import Decimal

from apps.metering.models import Alert, AlertKind, UsageRecord
from apps.metering.tasks import flag_cost_anomalies

DAY = dt.date(2026, 11, 22)


def spend(tenant, day: dt.date, amount: str, n: int) -> None:
    moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    for i in range(n):
        UsageRecord.objects.create(
            request_id=f"{tenant.slug}-{day}-{i}", tenant=tenant, endpoint="chat", outcome="ok",
            cost_usd=Decimal(amount), created_at=moment,
        )  # fmt: skip


def test_a_spike_over_three_times_the_trailing_average_is_flagged_once(
    world, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("Ops", "ops@catalyst.example")]
    for back in range(1, 8):
        spend(world.acme, DAY - dt.timedelta(days=back), "1.00", 1)  # $1/day trailing
        spend(world.globex, DAY - dt.timedelta(days=back), "1.00", 1)
    spend(world.acme, DAY, "1.00", 4)  # $4: over 3x
    spend(world.globex, DAY, "1.00", 3)  # $3: exactly 3x, not over

    with django_capture_on_commit_callbacks(execute=True):
        assert flag_cost_anomalies.delay(DAY.isoformat()).get() == 1
        assert flag_cost_anomalies.delay(DAY.isoformat()).get() == 0

    [alert] = Alert.objects.all()
    assert (alert.tenant, alert.kind, alert.period) == (world.acme, AlertKind.ANOMALY, DAY)
    assert alert.message == "Spend on 2026-11-22 was $4.0000, 4.0x the 7-day average."
    assert len(mailoutbox) == 1


def test_a_tenant_without_history_is_not_flagged(world):
    spend(world.acme, DAY, "50.00", 1)

    assert flag_cost_anomalies.delay(DAY.isoformat()).get() == 0
    assert not Alert.objects.exists()
