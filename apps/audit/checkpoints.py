"""Checkpoints: signed notes of the trail's head, so that deleting the newest entries shows.

The chain proves every entry up to the last one, but not that the last one is the newest:
deleting entries from the end leaves a shorter chain that still verifies. A checkpoint signs
(HMAC-SHA256 with AUDIT_CHECKPOINT_KEY) the newest entry's id and hash and the number of entries
up to it, and the previous checkpoint's signature, so checkpoints chain too. Each one is also
logged and optionally appended to AUDIT_CHECKPOINT_FILE: a copy outside the database that
still names the lost entries if someone empties the checkpoint table as well.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from .chain import canonical
from .models import AuditCheckpoint, AuditEntry
from .trail import ADVISORY_LOCK

logger = logging.getLogger("catalyst.audit")
FIELDS = ("id", "created_at", "entry_id", "count", "head_hash", "prev_signature", "signature")


def _key() -> bytes:
    # Derived where used: SECRET_KEY is only final in each environment's settings module.
    if settings.AUDIT_CHECKPOINT_KEY:
        return settings.AUDIT_CHECKPOINT_KEY.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"catalyst audit checkpoint", hashlib.sha256).digest()


def sign(checkpoint: AuditCheckpoint) -> str:
    created_at = checkpoint.created_at.astimezone(dt.UTC).isoformat()
    signed = [checkpoint.entry_id, checkpoint.count, checkpoint.head_hash, created_at, checkpoint.prev_signature]
    return hmac.new(_key(), canonical(signed), hashlib.sha256).hexdigest()


def as_record(checkpoint: AuditCheckpoint) -> dict:
    """The checkpoint as plain JSON: its log line's fields and its line in the file."""
    return {name: getattr(checkpoint, name) for name in FIELDS} | {"created_at": checkpoint.created_at.isoformat()}


def from_record(record: dict) -> AuditCheckpoint:
    """An unsaved checkpoint from a log or file line (other fields of a log line are ignored)."""
    fields = {name: record[name] for name in FIELDS}
    return AuditCheckpoint(**fields | {"created_at": dt.datetime.fromisoformat(record["created_at"])})


def take_checkpoint() -> AuditCheckpoint | None:
    """Sign the trail's head. Returns the new checkpoint, or None when the last one already
    names the head, the trail is empty, or it ends before the last checkpoint (never signed)."""
    with transaction.atomic():
        # The trail's own lock: no entry is appended between reading the head and counting, and
        # two takers cannot both chain to the same last checkpoint. SQLite's immediate
        # transactions (settings) already serialise writers.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        head = AuditEntry.objects.order_by("-id").values("id", "hash").first()
        last = AuditCheckpoint.objects.order_by("-id").first()
        if last is not None and (head is None or head["id"] < last.entry_id):
            logger.error(
                "audit checkpoint refused: the trail ends before the last checkpoint's entry",
                extra={"checkpoint": last.pk, "entry_id": last.entry_id, "head": head["id"] if head else None},
            )
            return None
        if head is None or (last is not None and (last.entry_id, last.head_hash) == (head["id"], head["hash"])):
            return None
        # Counted on from the last checkpoint (an index range, not the whole table), so an older
        # entry deleted since keeps failing the count instead of being signed away.
        since = last.entry_id if last is not None else 0
        count = (last.count if last is not None else 0) + AuditEntry.objects.filter(
            id__gt=since, id__lte=head["id"]
        ).count()
        checkpoint = AuditCheckpoint(
            created_at=timezone.now(), entry_id=head["id"], count=count, head_hash=head["hash"],
            prev_signature=last.signature if last is not None else "",
        )  # fmt: skip
        checkpoint.signature = sign(checkpoint)
        checkpoint.save()
        # Copied out only once committed: a copy of a rolled-back checkpoint would fork the chain.
        transaction.on_commit(lambda: _copy_outside(checkpoint))
    return checkpoint


def _copy_outside(checkpoint: AuditCheckpoint) -> None:
    record = as_record(checkpoint)
    logger.info("audit.checkpoint", extra=record)
    if settings.AUDIT_CHECKPOINT_FILE:
        with Path(settings.AUDIT_CHECKPOINT_FILE).open("a", encoding="utf-8") as copy:
            copy.write(json.dumps(record, separators=(",", ":")) + "\n")


def read_checkpoints(path: Path) -> list[AuditCheckpoint]:
    """The checkpoints in a JSON-lines copy (the file, or the "audit.checkpoint" log lines)."""
    checkpoints = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            checkpoints.append(from_record(json.loads(line)))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"line {number} of {path} is not a checkpoint ({error!r})") from error
    return checkpoints


def verify_checkpoints(checkpoints: Iterable[AuditCheckpoint], *, whole: bool = True) -> list[str]:
    """What no longer holds, one sentence per problem (none: all hold). `whole` says the
    checkpoints start with the first ever taken and miss none, as the table does; a copy may
    begin later or hold one host's share, so its lines are checked one by one, not as a chain."""
    taken = sorted(checkpoints, key=lambda checkpoint: checkpoint.pk)
    problems = []
    previous: AuditCheckpoint | None = None
    for checkpoint in taken:
        if not hmac.compare_digest(sign(checkpoint), checkpoint.signature):
            problems.append(f"{checkpoint} has an invalid signature: it was altered, or signed with another key")
        if whole and previous is None and checkpoint.prev_signature:
            problems.append(f"{checkpoint} follows a checkpoint that is gone: the checkpoints before it were deleted")
        if whole and previous is not None and checkpoint.prev_signature != previous.signature:
            problems.append(
                f"{checkpoint} does not follow checkpoint #{previous.pk}: one between them was deleted, "
                "or one of them was altered"
            )
        previous = checkpoint
    return problems + _trail_problems(taken)


def _trail_problems(checkpoints: list[AuditCheckpoint]) -> list[str]:
    """Does each checkpoint's entry still exist, with its hash and the entries before it?"""
    if not checkpoints:
        return []
    wanted = {checkpoint.entry_id for checkpoint in checkpoints}
    found: dict[int, tuple[str, int]] = {}  # entry id -> (hash, entries up to it)
    entries = AuditEntry.objects.filter(id__lte=max(wanted)).order_by("id").values_list("id", "hash")
    for position, (pk, entry_hash) in enumerate(entries.iterator(chunk_size=5000), start=1):
        if pk in wanted:
            found[pk] = (entry_hash, position)
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    problems = []
    for checkpoint in checkpoints:
        if checkpoint.entry_id not in found:
            problems.append(f"{checkpoint} names an entry that no longer exists: {_lost(checkpoint, last)}")
            continue
        entry_hash, position = found[checkpoint.entry_id]
        if entry_hash != checkpoint.head_hash:
            problems.append(f"{checkpoint} does not match entry #{checkpoint.entry_id}: it was altered or replaced")
        elif position != checkpoint.count:
            change = "deleted" if position < checkpoint.count else "added"
            problems.append(
                f"{checkpoint} no longer matches the trail, which holds {position} entries up to "
                f"entry #{checkpoint.entry_id}: entries before it were {change}"
            )
    return problems


def _lost(checkpoint: AuditCheckpoint, last: int | None) -> str:
    if last is None:
        return "every entry was deleted (the trail is now empty)"
    if last < checkpoint.entry_id:
        return f"the newest entries were deleted (the trail now ends at entry #{last})"
    return f"entry #{checkpoint.entry_id} was deleted"


def verify_stored() -> tuple[int, list[str]]:
    """How many checkpoints the table holds, and what no longer holds."""
    stored = list(AuditCheckpoint.objects.order_by("id"))
    return len(stored), verify_checkpoints(stored)


def _take_on_a_pool_thread() -> None:
    try:
        take_checkpoint()
    finally:
        connections.close_all()  # this pool thread's own connection: none is left open between runs


async def checkpoint_forever(interval: float) -> None:
    """Take a checkpoint every `interval` seconds for the life of the process (the embedded
    default has no Celery beat). On a pool thread, not the thread-sensitive one the requests'
    database work shares: waiting for the trail's lock must not hold that up."""
    take = sync_to_async(_take_on_a_pool_thread, thread_sensitive=False)
    while True:
        await asyncio.sleep(interval)
        try:
            await take()
        except Exception:  # keep taking them; the next one covers this one's entries
            logger.exception("audit checkpoint failed")
