"""Who is calling: the tenant context resolved once per request and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: int
    tenant_slug: str
    tier: str
    method: Literal["api_key", "jwt"]
    key_id: int | None = None
    key_prefix: str | None = None
    team_id: int | None = None
    user_id: int | None = None
    role: str | None = None
    allowed_models: tuple[str, ...] = ()
    allowed_endpoints: tuple[str, ...] = ()

    def may_call(self, endpoint: str) -> bool:
        return not self.allowed_endpoints or endpoint in self.allowed_endpoints

    def may_use_model(self, model: str) -> bool:
        return not self.allowed_models or model in self.allowed_models
