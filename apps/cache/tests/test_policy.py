"""Which policy a request gets: the tenant's for its use case, else its tier's, else the platform's."""

from __future__ import annotations

import importlib

import pytest

from apps.cache import policy
from apps.cache.models import CacheMode, CachePolicy
from apps.core.errors import InvalidRequest
from apps.tenancy.models import Tier
from apps.tenancy.principal import Principal

shipped = importlib.import_module("apps.cache.migrations.0002_platform_default")


def principal(tenant_id: int, tier: str) -> Principal:
    return Principal(tenant_id=tenant_id, tenant_slug="t", tier=tier, method="api_key")


def test_the_platform_default_is_shipped_as_the_issue_states(db):
    row = CachePolicy.objects.get(tenant=None, tier=None, use_case="")

    assert shipped.DEFAULT == {
        "mode": "semantic", "ttl_seconds": 3600, "similarity_threshold": 0.85, "max_temperature": 1.0,
        "serve_stale": True, "stale_seconds": 86400,
    }  # fmt: skip
    assert (row.ttl_seconds, row.max_temperature, row.serve_stale, row.stale_seconds) == (3600, 1.0, True, 86400)
    assert row.mode == CacheMode.OFF  # the suite turns it off (conftest.py); shipped, it is semantic


def test_the_most_specific_policy_wins_and_an_unknown_use_case_is_a_400(world):
    professional = Tier.objects.get(name="professional")
    CachePolicy.objects.create(tier=professional, mode=CacheMode.EXACT, ttl_seconds=60)
    CachePolicy.objects.create(tenant=world.acme, mode=CacheMode.EXACT, ttl_seconds=30)
    CachePolicy.objects.create(tenant=world.acme, use_case="faq", ttl_seconds=10)
    CachePolicy.objects.create(use_case="docs", ttl_seconds=5)
    loaded = policy.load("v")

    assert loaded.resolve(principal(world.acme.id, "professional")).ttl_seconds == 30
    assert loaded.resolve(principal(world.acme.id, "professional"), "faq").ttl_seconds == 10
    assert loaded.resolve(principal(world.globex.id, "professional")).ttl_seconds == 60
    assert loaded.resolve(principal(world.globex.id, "free")).mode == CacheMode.OFF  # the suite's platform row
    assert loaded.resolve(principal(world.globex.id, "free"), "docs").ttl_seconds == 5
    with pytest.raises(InvalidRequest):
        loaded.resolve(principal(world.globex.id, "free"), "faq")  # acme's use case only
