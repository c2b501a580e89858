"""The ASGI lifespan: start-up loads the guardrails and freezes what it loaded."""

from __future__ import annotations

import asyncio
import gc

import pytest
from django.test import override_settings

from catalyst.lifespan import lifespan


@pytest.mark.asyncio
@override_settings(QUEUE_FLUSHER="worker")  # no checkpoint loop: this test starts and stops, nothing else
async def test_startup_warms_the_guardrails_and_freezes_what_it_loaded():
    from apps.guardrails.checks import lexicon

    gc.unfreeze()
    events = asyncio.Queue()
    sent: list[str] = []
    for event in ("lifespan.startup", "lifespan.shutdown"):
        events.put_nowait({"type": event})

    async def send(message):
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            assert lexicon.lexicon.cache_info().currsize == 1  # the word lists are loaded
            assert gc.get_freeze_count() > 100_000  # and no collection walks them again

    try:
        await asyncio.wait_for(lifespan({"type": "lifespan"}, events.get, send), timeout=60)
    finally:
        gc.unfreeze()
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
