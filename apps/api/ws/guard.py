"""What a chat connection must respect besides its token: where the page that opened it lives, and
how fast it may send frames."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host


def origin_allowed(scope: dict) -> bool:
    """A browser page may connect only from an allowed host (ALLOWED_HOSTS) or a listed origin
    (CHAT_ALLOWED_ORIGINS); clients that send no Origin (SDKs, servers) rely on their token alone."""
    origin = dict(scope.get("headers") or ()).get(b"origin", b"").decode("latin-1")
    if not origin:
        return True
    if origin in settings.CHAT_ALLOWED_ORIGINS:
        return True
    host = urlsplit(origin).hostname or ""
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


class FrameBudget:
    """A token bucket of frames per connection; `dropped` counts refusals since the last frame let in."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.level, self.at, self.dropped = float(burst), time.monotonic(), 0

    def take(self, now: float) -> bool:
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level < 1:
            self.dropped += 1
            return False
        self.level -= 1
        self.dropped = 0
        return True
