"""Money as text: every cost leaves as a fixed-point decimal string with the ledger's precision
(8 places), never `0E-8` or `1.00000000000000E-7`, in headers, bodies, frames and CSV alike."""

from __future__ import annotations

from decimal import Decimal

PLACES = Decimal("0.00000001")  # the ledger's precision (UsageRecord.cost_usd, Budget.spent_usd)
PRICE_PLACES = Decimal("0.000001")  # prices per million tokens


def usd(amount: Decimal | int | None) -> str:
    """A cost or a sum of costs: `0.00000000`, `0.00004200`, `12.50000000`."""
    return format(Decimal(amount or 0).quantize(PLACES), "f")


def price(amount: Decimal | None) -> str:
    """A price per million tokens: `2.500000`."""
    return format(Decimal(amount or 0).quantize(PRICE_PLACES), "f")
