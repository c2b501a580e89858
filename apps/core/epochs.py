"""Cross-process change signals for the embedded default (see models.Epoch).

`bump(name)` runs inside the caller's transaction, so the change and its signal commit together.
`Watch(name).changed()` answers from memory and asks the database at most once per
EPOCH_CHECK_SECONDS, so a change made by another process (a management command, a second server)
is seen within that interval and a steady request path costs no query.
"""

from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from .db import refresh_connections
from .models import Epoch


def bump(name: str) -> None:
    if Epoch.objects.filter(name=name).update(value=F("value") + 1):
        return
    try:
        with transaction.atomic():
            Epoch.objects.create(name=name, value=1)
    except IntegrityError:  # created meanwhile by another process
        Epoch.objects.filter(name=name).update(value=F("value") + 1)


def _read(name: str) -> int:
    refresh_connections()
    return Epoch.objects.filter(name=name).values_list("value", flat=True).first() or 0


class Watch:
    """One process's view of an epoch."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.value: int | None = None
        self.checked_at = float("-inf")

    async def changed(self) -> bool:
        """True once after another process bumped the epoch (and on the first check)."""
        now = time.monotonic()
        if now - self.checked_at < settings.EPOCH_CHECK_SECONDS:
            return False
        self.checked_at = now
        value = await sync_to_async(_read)(self.name)
        changed, self.value = value != self.value, value
        return changed

    def seen(self) -> None:
        """This process made the change itself: no need to react to its own bump."""
        self.checked_at = float("-inf")
