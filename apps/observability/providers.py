"""Can this instance reach each provider? A TCP connection to its host and port, at most every
REACHABILITY_SECONDS per provider, all providers at once (for /ready)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from apps.catalogue.snapshot import Catalogue, ProviderInfo

REACHABILITY_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 1.0
_seen: dict[tuple[str, int], tuple[float, str]] = {}  # (host, port) -> (when, verdict)


def _address(provider: ProviderInfo) -> tuple[str, int]:
    parts = urlsplit(provider.base_url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


async def _probe(address: tuple[str, int]) -> str:
    cached = _seen.get(address)
    if cached is not None and time.monotonic() - cached[0] < REACHABILITY_SECONDS:
        return cached[1]
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            _, writer = await asyncio.open_connection(*address)
        writer.close()
        verdict = "ok"
    except (OSError, TimeoutError) as error:
        verdict = f"unreachable: {type(error).__name__}"
    _seen[address] = (time.monotonic(), verdict)
    return verdict


async def reachability(catalogue: Catalogue) -> dict[str, str]:
    """Each provider of an enabled model: "ok", or why it cannot be reached. Never its URL or key."""
    providers = {model.provider.name: model.provider for model in catalogue.models.values()}
    names = sorted(providers)
    verdicts = await asyncio.gather(*(_probe(_address(providers[name])) for name in names))
    return dict(zip(names, verdicts, strict=True))
