"""The audit trail as CSV or JSON Lines, streamed row by row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from .models import AuditEntry

COLUMNS = (
    "id", "created_at", "tenant_slug", "actor_type", "actor", "action", "object_type", "object_id", "request_id",
    "payload_digest", "payload", "prev_hash", "hash",
)  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def _row(entry: AuditEntry) -> dict:
    row = {name: getattr(entry, name) for name in COLUMNS}
    row["created_at"] = entry.created_at.isoformat()
    return row


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for entry in entries:
        row = _row(entry)
        row["payload"] = json.dumps(row["payload"], sort_keys=True) if row["payload"] is not None else ""
        yield writer.writerow([row[name] for name in COLUMNS])


def jsonl_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    for entry in entries:
        yield json.dumps(_row(entry), sort_keys=True, default=str) + "\n"
