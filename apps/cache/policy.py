"""The cache policy of a request: the tenant's for its use case, else its tier's, else the
platform's. Policies are read once per catalogue version (staff edits bump it, like a catalogue
edit), so resolving one costs no query and no round trip."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from apps.catalogue.snapshot import PerVersion
from apps.core.db import refresh_connections
from apps.core.errors import InvalidRequest
from apps.tenancy.principal import Principal

from .models import CacheMode, CachePolicy, CachePurge

# Older purges cannot match a live entry: no entry outlives its TTL and stale age (30 days each).
PURGES_KEPT = dt.timedelta(days=61)


@dataclass(frozen=True, slots=True)
class Policy:
    use_case: str
    mode: str
    ttl_seconds: int
    similarity_threshold: float
    max_temperature: float
    serve_stale: bool
    stale_seconds: int

    @property
    def on(self) -> bool:
        return self.mode != CacheMode.OFF


OFF = Policy("", CacheMode.OFF, 0, 1.0, 0.0, False, 0)
Scope = tuple[str, str | int | None, str]  # ("tenant" | "tier" | "platform", id or tier name, use case)


@dataclass(frozen=True)
class Policies:
    version: str
    rows: dict[Scope, Policy]
    # (tenant id, use case or "", model or "") -> when the newest such purge happened (epoch seconds)
    purges: dict[tuple[int, str, str], float] = field(default_factory=dict)

    def purged_before(self, tenant_id: int, use_case: str, models: tuple[str, ...]) -> float:
        """Entries of this tenant stored at or before the returned time must not be served."""
        if not self.purges:
            return float("-inf")
        scopes = [(tenant_id, "", ""), (tenant_id, use_case, "")]
        scopes += [(tenant_id, case, model) for model in models for case in ("", use_case)]
        return max((self.purges.get(scope, float("-inf")) for scope in scopes), default=float("-inf"))

    def resolve(self, principal: Principal, use_case: str = "") -> Policy:
        """The most specific policy; a use case no scope of this tenant defines is a 400."""
        for scope in (("tenant", principal.tenant_id), ("tier", principal.tier), ("platform", None)):
            found = self.rows.get((*scope, use_case))
            if found is not None:
                return found
        if use_case:
            raise InvalidRequest(f"No cache policy is named '{use_case}' for this tenant.", param="X-Catalyst-Use-Case")
        return OFF


def load(version: str) -> Policies:
    refresh_connections()
    rows: dict[Scope, Policy] = {}
    for row in CachePolicy.objects.select_related("tier"):
        scope: tuple[str, str | int | None]
        if row.tenant_id:
            scope = ("tenant", row.tenant_id)
        elif row.tier_id:
            scope = ("tier", row.tier.name)
        else:
            scope = ("platform", None)
        rows[(*scope, row.use_case)] = Policy(
            row.use_case, row.mode, row.ttl_seconds, row.similarity_threshold, row.max_temperature,
            row.serve_stale, row.stale_seconds,
        )  # fmt: skip
    purges: dict[tuple[int, str, str], float] = {}
    for purge in CachePurge.objects.filter(created_at__gte=timezone.now() - PURGES_KEPT):
        scope = (purge.tenant_id, purge.use_case, purge.model)
        purges[scope] = max(purges.get(scope, float("-inf")), purge.created_at.timestamp())
    return Policies(version, rows, purges)


_policies = PerVersion(load)
current = _policies.current
forget = _policies.forget
