"""Budget holds (hot store, Redis and memory) and the ledger of record (database): caps hold,
usage is queued durably and written exactly once, alerts fire once a month."""

import asyncio
import datetime as dt
from decimal import Decimal

from asgiref.sync import async_to_sync

from apps.metering import holds, ledger, recorder
from apps.metering.models import Alert, AlertKind, Budget, UsageRecord

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
CAPS = ledger.Caps(usd=Decimal("1.00"), tokens=10_000)


def ask(request_id: str, prompt_usd: str, prompt_tokens: int, per_token: str = "0", output: int = 0, least: int = 0):
    return holds.Ask(request_id, prompt_tokens, Decimal(prompt_usd), Decimal(per_token), output, least)


def reserve(world, request_id: str, amount: str, tokens: int = 150, at: dt.datetime = NOW, caps=CAPS):
    """A hold of exactly `amount` and `tokens` (no output to size)."""
    return async_to_sync(holds.reserve)(
        tenant_id=world.acme.pk, ask=ask(request_id, amount, tokens), caps=caps, now=at.timestamp()
    )


def usage(world, request_id: str, cost: str, tokens_in: int = 100, tokens_out: int = 50) -> dict:
    return {
        "request_id": request_id, "tenant_id": world.acme.pk, "endpoint": "chat", "model": "m", "provider": "p",
        "tokens_in": tokens_in, "tokens_out": tokens_out, "cost_usd": Decimal(cost), "outcome": "ok",
    }  # fmt: skip


def settle_and_flush(world, hold, request_id: str, cost: str) -> None:
    async def go():
        await recorder.record(usage(world, request_id, cost), hold, CAPS, now=NOW)
        await recorder.flush_all()

    async_to_sync(go)()


def test_a_hold_is_refused_when_spent_plus_held_would_pass_a_cap(world, store):
    assert reserve(world, "a", "0.60")
    assert reserve(world, "b", "0.50") is None
    assert reserve(world, "c", "0.40")
    assert reserve(world, "d", "0.01", tokens=9_701) is None  # 150 + 150 held + 9,701 > 10,000

    state = async_to_sync(holds.state)(world.acme.pk, dt.date(2026, 11, 1))
    assert (state["spent"], state["holds"]) == (0, 2)


def test_settling_releases_the_hold_and_the_record_reaches_the_database_once(world, store):
    hold = reserve(world, "a", "0.60")

    settle_and_flush(world, hold, "a", "0.25")
    again = {**usage(world, "a", "0.25"), "created_at": NOW, "caps_usd": None, "caps_tokens": None}
    assert ledger.write_batch([again]) == 0  # a batch re-read after a crash adds nothing twice

    budget = Budget.objects.get(tenant=world.acme)
    assert (budget.spent_usd, budget.spent_tokens) == (Decimal("0.25"), 150)
    record = UsageRecord.objects.get(request_id="a")
    assert (record.tenant, record.cost_usd, record.tokens_in, record.tokens_out) == (
        world.acme,
        Decimal("0.25"),
        100,
        50,
    )
    assert reserve(world, "b", "0.75")  # 0.25 spent + 0.75 held = the cap
    assert reserve(world, "c", "0.01") is None


def test_a_free_request_under_a_token_cap_settles_too(world, store):
    """A $0 hold (a free model, a token cap) once made Redis refuse HINCRBY by -0 and lost the record."""
    hold = reserve(world, "free", "0")

    settle_and_flush(world, hold, "free", "0")

    assert UsageRecord.objects.get(request_id="free").cost_usd == 0
    state = async_to_sync(holds.state)(world.acme.pk, dt.date(2026, 11, 1))
    assert (state["spent_tokens"], state["holds"]) == (150, 0)


def test_the_hot_store_is_seeded_from_the_database_ledger(world, store):
    Budget.objects.create(tenant=world.acme, period=dt.date(2026, 11, 1), spent_usd=Decimal("0.95"), spent_tokens=10)

    assert reserve(world, "a", "0.06") is None
    assert reserve(world, "b", "0.05")


def test_holds_of_crashed_requests_expire(world, store, settings):
    settings.GATEWAY_TOTAL_TIMEOUT_SECONDS = 0  # holds last 300 s
    assert reserve(world, "crashed", "0.90")
    assert reserve(world, "b", "0.20") is None

    assert reserve(world, "c", "0.20", at=NOW + dt.timedelta(seconds=301))


def test_a_new_month_starts_a_new_budget(world, store):
    settle_and_flush(world, reserve(world, "a", "0.90"), "a", "0.90")

    assert reserve(world, "b", "0.90", at=dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC))


def test_alerts_fire_at_80_and_100_percent_once_per_month_and_mail_the_admins(
    world, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("Ops", "ops@catalyst.example")]
    batches = [["a"], ["b"], ["c"], ["d"]]
    costs = {"a": "0.50", "b": "0.35", "c": "0.05", "d": "0.20"}
    with django_capture_on_commit_callbacks(execute=True):
        for batch in batches:
            records = [
                {**usage(world, rid, costs[rid]), "created_at": NOW, "caps_usd": CAPS.usd, "caps_tokens": None}
                for rid in batch
            ]
            ledger.write_batch(records)

    assert list(Alert.objects.filter(tenant=world.acme).values_list("kind", flat=True).order_by("created_at")) == [
        AlertKind.BUDGET_80,
        AlertKind.BUDGET_100,
    ]
    assert len(mailoutbox) == 2
    assert "$0.85 of $1.00" in mailoutbox[0].body
    assert not Alert.objects.filter(tenant=world.globex).exists()


def test_the_periodic_task_flushes_queued_records(world):
    from apps.metering.tasks import flush_usage

    record = {**usage(world, "q", "0.10"), "created_at": NOW, "caps_usd": None, "caps_tokens": None}

    async def queue():
        await holds.settle(
            tenant_id=world.acme.pk, period=dt.date(2026, 11, 1), hold=None, cost_usd=Decimal("0.10"), tokens=10,
            record=record,
        )  # fmt: skip

    asyncio.run(queue())

    assert flush_usage.delay().get() == 1
    assert flush_usage.delay().get() == 0
    assert UsageRecord.objects.get(request_id="q").cost_usd == Decimal("0.10")


def _forget_budget_hash(world, store) -> None:
    """What an evicted key, a flushed Redis or a restarted process leaves: no budget counters."""
    from apps.core.redis.hotstore import hot_store

    period = dt.date(2026, 11, 1)
    if store == "redis":
        hot_store().delete_sync(f"budget:{world.acme.pk}:{period:%Y%m}")
    else:
        holds._holds().budgets.pop((world.acme.pk, period))


def _settle(world, hold, request_id: str, cost: str, flush: bool) -> None:
    async def go():
        await recorder.record(usage(world, request_id, cost), hold, CAPS, now=NOW)
        if flush:
            await recorder.flush_all()

    async_to_sync(go)()


def test_spend_settled_while_the_budget_counters_are_gone_still_counts(world, store):
    hold = reserve(world, "a", "0.50")
    _forget_budget_hash(world, store)

    _settle(world, hold, "a", "0.60", flush=False)  # the record is still queued, not in the database

    assert reserve(world, "b", "0.45") is None  # 0.60 spent + 0.45 > 1.00
    assert reserve(world, "c", "0.40")


def test_a_budget_seeded_from_the_ledger_adds_usage_still_queued(world, store):
    """A tenant without a budget spends; staff then set one: the queued records count against it."""
    _settle(world, None, "free-spend", "0.70", flush=False)

    assert reserve(world, "a", "0.31") is None
    assert reserve(world, "b", "0.30")


def test_once_written_queued_usage_is_counted_once(world, store):
    _settle(world, None, "a", "0.70", flush=True)
    state = async_to_sync(holds.state)(world.acme.pk, dt.date(2026, 11, 1))
    assert state["unflushed"] == 0
    assert Budget.objects.get(tenant=world.acme, period=dt.date(2026, 11, 1)).spent_usd == Decimal("0.70")

    assert reserve(world, "b", "0.31") is None
    assert reserve(world, "c", "0.30")


def test_the_output_cap_is_what_the_budget_still_allows(world, store):
    """$1.00 cap: a $0.10 prompt and output at $0.001 a token leave room for 900 tokens."""
    take = async_to_sync(holds.reserve)
    caps = ledger.Caps(usd=Decimal("1.00"), tokens=None)

    wide = take(tenant_id=world.acme.pk, ask=ask("a", "0.10", 100, "0.001", 4096, 16), caps=caps, now=NOW.timestamp())
    none_left = take(tenant_id=world.acme.pk, ask=ask("b", "0", 1, "0.001", 4096, 16), caps=caps, now=NOW.timestamp())
    asked = take(tenant_id=world.acme.pk, ask=ask("c", "0", 1, "0", 200, 16), caps=caps, now=NOW.timestamp())

    assert (wide.output_tokens, wide.units, wide.tokens) == (900, holds.units(Decimal("1.00")), 1000)
    assert none_left is None
    assert asked.output_tokens == 200  # free output: what was asked for
