"""Hashing and verifying the chain. Pure functions of an entry's fields."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from .models import GENESIS, AuditEntry

CHAINED = (
    "event_id", "created_at", "tenant_id", "tenant_slug", "actor_type", "actor", "action", "object_type",
    "object_id", "request_id", "payload_digest",
)  # fmt: skip


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode()


def digest(payload: object) -> str:
    return hashlib.sha256(canonical(payload)).hexdigest()


def _field(value: object) -> object:
    return value.astimezone(dt.UTC).isoformat() if isinstance(value, dt.datetime) else value


def entry_hash(fields: dict, prev_hash: str) -> str:
    return hashlib.sha256(canonical([prev_hash, *(_field(fields[name]) for name in CHAINED)])).hexdigest()


@dataclass(frozen=True, slots=True)
class Break:
    entry_id: int
    reason: str

    def __str__(self) -> str:
        return f"entry #{self.entry_id}: {self.reason}"


def verify(entries: Iterable[AuditEntry]) -> tuple[int, Break | None]:
    """Walk the chain oldest first; return how many entries held and the first break, if any."""
    previous, checked = GENESIS, 0
    for entry in entries:
        fields = {name: getattr(entry, name) for name in CHAINED}
        if entry.prev_hash != previous:
            return checked, Break(entry.pk, "its link to the entry before it does not match (deleted or reordered)")
        if entry_hash(fields, entry.prev_hash) != entry.hash:
            return checked, Break(entry.pk, "its fields do not match its hash (it was altered)")
        if entry.payload is not None and digest(entry.payload) != entry.payload_digest:
            return checked, Break(entry.pk, "its payload does not match its digest (it was altered)")
        previous, checked = entry.hash, checked + 1
    return checked, None


def verify_all() -> tuple[int, Break | None]:
    return verify(AuditEntry.objects.order_by("id").iterator(chunk_size=2000))
