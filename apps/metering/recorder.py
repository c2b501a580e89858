"""Usage recording off the request path, batched but durable.

Each finished request settles its hold and stores its usage record in one step (holds.settle):
with Redis the record is appended to a list (durable as Redis is: AOF in production) and a
flusher moves batches into the database under a lock; a batch already written (a flusher that
died before trimming) is skipped record by record, so each record is counted exactly once.
Without Redis (the embedded default) records go straight to the database.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

from apps.core.redis.queue import DurableQueue

from . import holds, ledger

_DECIMALS = (
    "price_input",
    "price_output",
    "price_cached_input",
    "price_cache_write",
    "cost_usd",
    "saved_usd",
    "caps_usd",
)


def encode(record: dict) -> str:
    return json.dumps(record, default=str, separators=(",", ":"))


def _loads(raw: str) -> dict:
    record = json.loads(raw)
    for name in _DECIMALS:
        if record.get(name) is not None:
            record[name] = Decimal(record[name])
    record["created_at"] = dt.datetime.fromisoformat(record["created_at"])
    return record


async def record(usage: dict, hold: holds.Hold | None, caps: ledger.Caps, *, now: dt.datetime) -> None:
    """Settle the request's hold and store its usage record (queued, or written at once).

    `now` is when the request started: its hold was taken in that month, so its record and its
    spend land in that month's budget too, even when it is settled after midnight on the 1st."""
    usage = {**usage, "created_at": now, "caps_usd": caps.usd, "caps_tokens": caps.tokens}
    tokens = usage["tokens_in"] + usage["tokens_out"]
    period = hold.period if hold else ledger.month_start(now)
    await holds.settle(
        tenant_id=usage["tenant_id"], period=period, hold=hold, cost_usd=usage["cost_usd"], tokens=tokens, record=usage
    )


def _write(raw: list[str]) -> None:
    ledger.write_batch([_loads(item) for item in raw])


def _totals(raw: list[str]) -> dict[str, tuple[int, int]]:
    """What a batch adds to each tenant's unflushed spend, per month: subtracted once written."""
    totals: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in raw:
        entry = json.loads(item)
        period = ledger.month_start(dt.datetime.fromisoformat(entry["created_at"]))
        key = holds.unflushed_key(entry["tenant_id"], period)
        totals[key][0] += holds.units(Decimal(entry["cost_usd"]))
        totals[key][1] += entry["tokens_in"] + entry["tokens_out"]
    return {key: (spent, tokens) for key, (spent, tokens) in totals.items()}


queue = DurableQueue("usage", _write, totals=_totals)


async def flush_all() -> int:
    return await queue.flush_all()
