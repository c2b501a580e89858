"""Who is calling: the tenant context resolved once per request and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits in force for a caller: the tenant's rates and monthly budget, and the key's own caps."""

    requests_per_minute: int
    requests_per_hour: int | None
    tokens_per_minute: int | None
    concurrent_streams: int
    own_requests_per_minute: int | None = None
    own_tokens_per_minute: int | None = None
    monthly_budget_usd: str | None = None  # a decimal string; None: no USD cap
    monthly_tokens: int | None = None  # None: no token cap


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
    limits: Limits | None = None
    keep_prompts: bool = False  # the tenant's policy: prompts and answers go into the audit trail
    expires_at: float = float("inf")  # when the credential stops working (a JWT's exp, a key's expiry)
    allowed_origins: tuple[str, ...] = ()  # browser origins the tenant lets call the API (CORS)
    embedding_model: str = ""  # the tenant's embedding model ("" the platform's): apps/embeddings

    def may_call(self, endpoint: str) -> bool:
        return not self.allowed_endpoints or endpoint in self.allowed_endpoints

    def may_use_model(self, model: str) -> bool:
        return not self.allowed_models or model in self.allowed_models
