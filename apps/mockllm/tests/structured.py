"""Pydantic models the structured-output tests ask for, and the exact instances the mock must answer with."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class Status(enum.Enum):
    OPEN = "open"
    SHIPPED = "shipped"


class Address(BaseModel):
    street: str
    city: str = Field(max_length=4)
    postcode: str = Field(min_length=16)


class Line(BaseModel):
    sku: str
    quantity: int = Field(gt=0, le=99)
    price: float = Field(ge=2.5)


class Order(BaseModel):
    """Nested models, an enum, a literal, formats, bounds, a required list and optional fields with defaults."""

    id: uuid.UUID
    status: Status
    placed_at: datetime
    ship_by: date
    lines: list[Line] = Field(min_length=1)
    address: Address | None = None
    gift: bool = False
    priority: Literal["low", "high"]
    notes: list[str] = []


LINE = {"sku": "mock-sku", "quantity": 1, "price": 2.5}
ADDRESS = {"street": "mock-street", "city": "mock", "postcode": "mock-postcodexxx"}
# From `Order.model_json_schema()`: the defaults (null, false, []) fill the optional fields.
ORDER = {
    "id": "00000000-0000-4000-8000-000000000000",
    "status": "open",
    "placed_at": "2025-01-01T00:00:00Z",
    "ship_by": "2025-01-01",
    "lines": [LINE],
    "address": None,
    "gift": False,
    "priority": "low",
    "notes": [],
}
# Tool arguments (and `complete=False`) keep to the required properties.
REQUIRED_ORDER = {key: ORDER[key] for key in ("id", "status", "placed_at", "ship_by", "lines", "priority")}
# From the openai SDK's strict schema, which drops `default: null`: the address is filled instead.
STRICT_ORDER = {**ORDER, "address": ADDRESS}


class Step(BaseModel):
    title: str
    status: Status


class Plan(BaseModel):
    """A small model without length or bound constraints, which the anthropic SDK moves into descriptions."""

    steps: list[Step]
    note: str | None = None


PLAN = {"steps": [{"title": "mock-title", "status": "open"}], "note": "mock-note"}
