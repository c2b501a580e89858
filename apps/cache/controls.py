"""What a request asks of the cache: `Cache-Control` (no-cache, no-store, max-age=N),
`X-Catalyst-Cache-TTL: N` and `X-Catalyst-Use-Case: NAME`. Transports read them from their
headers; a request without headers (chat) asks for nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apps.core.errors import InvalidRequest

from .models import USE_CASE


@dataclass(frozen=True, slots=True)
class Controls:
    no_cache: bool = False  # do not serve from the cache; store the fresh answer
    no_store: bool = False  # neither serve nor store
    max_age: int | None = None  # serve only an entry at most this many seconds old
    ttl: int | None = None  # store for this long (capped by the policy)
    use_case: str = ""


NONE = Controls()


def _seconds(value: str, name: str) -> int:
    value = value.strip()
    if not value.isdigit() or len(value) > 9:
        raise InvalidRequest(f"{name} must be a whole number of seconds.", param=name)
    return int(value)


def from_headers(headers: Mapping[str, str]) -> Controls:
    cache_control = headers.get("Cache-Control", "")
    ttl = headers.get("X-Catalyst-Cache-TTL")
    use_case = headers.get("X-Catalyst-Use-Case")
    if not cache_control and ttl is None and use_case is None:
        return NONE
    no_cache = no_store = False
    max_age = None
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name == "no-cache":
            no_cache = True
        elif name == "no-store":
            no_store = True
        elif name == "max-age":
            max_age = _seconds(value, "Cache-Control max-age")
    if use_case is not None:
        use_case = use_case.strip()
        try:
            USE_CASE(use_case)
        except Exception:
            raise InvalidRequest(f"'{use_case[:64]}' is not a use case name.", param="X-Catalyst-Use-Case") from None
    return Controls(
        no_cache=no_cache,
        no_store=no_store,
        max_age=max_age,
        ttl=_seconds(ttl, "X-Catalyst-Cache-TTL") if ttl is not None else None,
        use_case=use_case or "",
    )
