"""The guardrail rules in force for a tenant: per check and direction, the tenant's rule, else its
tier's, else the platform's. Read once per catalogue version (staff edits bump it), so resolving
costs no query."""

from __future__ import annotations

from dataclasses import dataclass

from apps.catalogue.snapshot import PerVersion
from apps.core.db import refresh_connections
from apps.tenancy.principal import Principal

from .models import Action, GuardrailRule


@dataclass(frozen=True, slots=True)
class Rule:
    check: str
    direction: str
    action: str
    threshold: float
    entities: frozenset[str] = frozenset()
    restore: bool = False
    deny: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    judge_model: str = ""

    @property
    def on(self) -> bool:
        return self.action != Action.OFF


Key = tuple[str, str]  # (check, direction)
Owner = tuple[str, str | int | None]  # ("tenant" | "tier" | "platform", id or tier name)


@dataclass(frozen=True)
class Rules:
    """One tenant's rules, check by check."""

    by_check: dict[Key, Rule]

    def get(self, check: str, direction: str) -> Rule | None:
        rule = self.by_check.get((check, direction))
        return rule if rule is not None and rule.on else None

    def direction(self, direction: str) -> list[Rule]:
        return [rule for (_, way), rule in self.by_check.items() if way == direction and rule.on]

    @property
    def restores(self) -> bool:
        return any(rule.on and rule.restore for rule in self.by_check.values())


@dataclass(frozen=True)
class Policies:
    version: str
    rows: dict[Owner, dict[Key, Rule]]

    def resolve(self, principal: Principal) -> Rules:
        merged: dict[Key, Rule] = {}
        for owner in (("platform", None), ("tier", principal.tier), ("tenant", principal.tenant_id)):
            merged.update(self.rows.get(owner, {}))
        return Rules(merged)


def load(version: str) -> Policies:
    refresh_connections()
    rows: dict[Owner, dict[Key, Rule]] = {}
    for row in GuardrailRule.objects.select_related("tier"):
        owner: Owner = ("tenant", row.tenant_id) if row.tenant_id else ("tier", row.tier.name) if row.tier_id else (
            "platform", None)  # fmt: skip
        rows.setdefault(owner, {})[(row.check_name, row.direction)] = Rule(
            row.check_name, row.direction, row.action, row.threshold, frozenset(row.entities or ()), row.restore,
            tuple(row.deny or ()), tuple(row.allow or ()), row.judge_model,
        )  # fmt: skip
    return Policies(version, rows)


_policies = PerVersion(load)
current = _policies.current
forget = _policies.forget
