"""The budget ledger: reservations against caps, settlement, alerts once per month, reconciliation."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.metering import ledger
from apps.metering.models import Alert, AlertKind, Budget, Reservation, UsageRecord

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
CAPS = ledger.Caps(usd=Decimal("1.00"), tokens=10_000)


@pytest.fixture(autouse=True)
def fresh_ids():
    ledger.forget_budget_ids()
    yield
    ledger.forget_budget_ids()


def record(world, request_id: str, cost: str, tokens_in: int = 100, tokens_out: int = 50) -> dict:
    return {
        "request_id": request_id, "tenant_id": world.acme.pk, "endpoint": "chat", "model": "m", "provider": "p",
        "tokens_in": tokens_in, "tokens_out": tokens_out, "cost_usd": Decimal(cost), "outcome": "ok",
    }  # fmt: skip


def reserve(world, request_id: str, amount: str, tokens: int = 150) -> bool:
    return ledger.reserve(
        tenant_id=world.acme.pk, request_id=request_id, amount_usd=Decimal(amount), tokens=tokens, caps=CAPS, now=NOW
    )


def test_a_reservation_is_refused_when_spent_plus_reserved_would_pass_a_cap(world):
    assert reserve(world, "a", "0.60")
    assert not reserve(world, "b", "0.50")
    assert reserve(world, "c", "0.40")
    assert not reserve(world, "d", "0.01", tokens=9_701)  # 150 + 150 reserved tokens + 9,701 > 10,000

    budget = Budget.objects.get(tenant=world.acme)
    assert (budget.reserved_usd, budget.reserved_tokens, budget.spent_usd) == (Decimal("1.00"), 300, Decimal(0))
    assert set(Reservation.objects.values_list("request_id", flat=True)) == {"a", "c"}
    assert budget.period == dt.date(2026, 11, 1)


def test_settling_moves_the_reservation_to_spent_at_the_real_cost(world):
    reserve(world, "a", "0.60")

    ledger.settle(record=record(world, "a", "0.25"), caps=CAPS, now=NOW)

    budget = Budget.objects.get(tenant=world.acme)
    assert (budget.reserved_usd, budget.reserved_tokens) == (Decimal(0), 0)
    assert (budget.spent_usd, budget.spent_tokens) == (Decimal("0.25"), 150)
    usage = UsageRecord.objects.get(request_id="a")
    assert (usage.tenant, usage.cost_usd, usage.tokens_in, usage.tokens_out) == (world.acme, Decimal("0.25"), 100, 50)
    assert not Reservation.objects.exists()
    assert reserve(world, "b", "0.75")


def test_alerts_fire_at_80_and_100_percent_once_per_month_and_mail_the_admins(
    world, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("Ops", "ops@catalyst.example")]
    with django_capture_on_commit_callbacks(execute=True):
        first = ledger.settle(record=record(world, "a", "0.50"), caps=CAPS, now=NOW)
        second = ledger.settle(record=record(world, "b", "0.35"), caps=CAPS, now=NOW)
        third = ledger.settle(record=record(world, "c", "0.05"), caps=CAPS, now=NOW)
        fourth = ledger.settle(record=record(world, "d", "0.20"), caps=CAPS, now=NOW)

    assert (first, third) == ([], [])
    assert [a.kind for a in second] == [AlertKind.BUDGET_80]
    assert [a.kind for a in fourth] == [AlertKind.BUDGET_100]
    assert Alert.objects.filter(tenant=world.acme).count() == 2
    assert len(mailoutbox) == 2
    assert "$0.85 of $1.00" in mailoutbox[0].body
    assert Alert.objects.filter(tenant=world.globex).count() == 0


def test_a_new_month_starts_a_new_budget(world):
    ledger.settle(record=record(world, "a", "0.90"), caps=CAPS, now=NOW)

    december = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    assert ledger.reserve(
        tenant_id=world.acme.pk, request_id="b", amount_usd=Decimal("0.90"), tokens=10, caps=CAPS, now=december
    )
    assert list(Budget.objects.filter(tenant=world.acme).values_list("period", "spent_usd").order_by("period")) == [
        (dt.date(2026, 11, 1), Decimal("0.90")),
        (dt.date(2026, 12, 1), Decimal(0)),
    ]


def test_reservations_left_by_a_crashed_request_are_settled_at_their_estimate(world):
    reserve(world, "crashed", "0.30")
    Reservation.objects.filter(request_id="crashed").update(created_at=timezone.now() - dt.timedelta(hours=1))
    reserve(world, "in-flight", "0.10")

    assert ledger.reconcile() == 1

    budget = Budget.objects.get(tenant=world.acme)
    assert (budget.spent_usd, budget.reserved_usd) == (Decimal("0.30"), Decimal("0.10"))
    assert UsageRecord.objects.get(request_id="crashed").outcome == "unsettled"
    assert list(Reservation.objects.values_list("request_id", flat=True)) == ["in-flight"]


def test_the_periodic_task_reconciles_through_celery(world):
    from apps.metering.tasks import reconcile_reservations

    reserve(world, "crashed", "0.30")
    Reservation.objects.filter(request_id="crashed").update(created_at=timezone.now() - dt.timedelta(hours=1))

    assert reconcile_reservations.delay().get() == 1
    assert reconcile_reservations.delay().get() == 0
