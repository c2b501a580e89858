"""Fixtures shared by every test: real services checked once, an owner, a teammate and an outsider."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from apps.cache import policy as cache_policy
from apps.cache.models import CacheMode, CachePolicy
from apps.catalogue.snapshot import forget_snapshot
from apps.core.redis.hotstore import hot_store
from apps.guardrails import policy as guardrail_policy
from apps.tenancy import services
from apps.tenancy.models import Role, Team, Tenant


@pytest.fixture(scope="session", autouse=True)
def real_services(django_db_setup, django_db_blocker):
    """Refuse to run on substitutes: the suite must hit PostgreSQL + pgvector and Redis."""
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", f"tests need PostgreSQL, got {connection.vendor}"
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            assert cursor.fetchone(), "the PostgreSQL server has no pgvector extension"
    assert settings.REDIS_URL, "tests need REDIS_URL"
    redis.Redis.from_url(settings.REDIS_URL).ping()
    yield
    hot_store().clear_sync()


@pytest.fixture(scope="session", autouse=True)
def no_platform_cache(real_services, django_db_blocker):
    """As shipped, the platform policy caches every repeated request. Most tests send the same
    prompt again on purpose and must reach the mock each time, so the suite turns the platform's
    policy off; cache tests give their own tenants a policy (apps/cache/tests, tests/test_cache_*)."""
    with django_db_blocker.unblock():
        if CachePolicy._meta.db_table not in connection.introspection.table_names():
            return  # no test of this session uses the database: pytest-django set none up
        CachePolicy.objects.filter(tenant=None, tier=None, use_case="").update(mode=CacheMode.OFF)


@pytest.fixture(autouse=True)
def clean_hot_store():
    """Each test starts with no cached credentials, breaker state, catalogue snapshot or cache entry."""
    hot_store().clear_sync()
    forget_snapshot()
    cache_policy.forget()
    guardrail_policy.forget()
    yield
    hot_store().clear_sync()
    forget_snapshot()
    cache_policy.forget()
    guardrail_policy.forget()


@pytest.fixture(params=["redis", "memory"])
def store(request, settings):
    """Run a test once on Redis (shared by instances) and once on the embedded in-memory store."""
    if request.param == "memory":
        settings.REDIS_URL = None
    hot_store.cache_clear()  # a new store: the memory store's counters, holds and breakers start empty
    yield request.param
    hot_store.cache_clear()


@dataclass
class World:
    """Tenant acme with an owner and a teammate; tenant globex whose owner is the outsider."""

    acme: Tenant
    acme_team: Team
    owner: object
    teammate: object
    acme_key: str
    globex: Tenant
    outsider: object
    globex_key: str


@pytest.fixture
def world(db) -> World:
    User = get_user_model()
    acme = services.tenant_onboard(slug="acme", name="Acme", tier="professional", owner_username="alice")
    teammate = User.objects.create_user("bob", "bob@acme.test", "bob-password-123")
    services.membership_add(tenant=acme.tenant, user=teammate, role=Role.MEMBER, team=acme.team)
    globex = services.tenant_onboard(slug="globex", name="Globex", tier="free", owner_username="carol")
    return World(
        acme=acme.tenant,
        acme_team=acme.team,
        owner=acme.owner.user,
        teammate=teammate,
        acme_key=acme.issued.plaintext,
        globex=globex.tenant,
        outsider=globex.owner.user,
        globex_key=globex.issued.plaintext,
    )


class ApiClient:
    """Calls the REST API the way an app does: a bearer credential, JSON back."""

    def __init__(self) -> None:
        self.client = Client()

    def get(self, path: str, credential: str | None = None, **headers):
        if credential is not None:
            headers["authorization"] = f"Bearer {credential}"
        return self.client.get(path, headers=headers)


@pytest.fixture
def api() -> ApiClient:
    return ApiClient()
