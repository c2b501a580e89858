"""End-to-end fixtures: the mock LLM server, a live Catalyst server, and committed data for both."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.trail import queue as audit_queue
from apps.catalogue.models import ChainLink, FallbackChain, LlmModel, ModelKind, Provider, ProviderKind
from apps.catalogue.snapshot import catalogue_changed
from apps.core.management.commands.totp_code import current_code
from apps.core.redis.hotstore import hot_store
from apps.metering.recorder import queue as usage_queue
from apps.tenancy import services
from apps.tenancy.models import Tenant
from catalyst.testing.live import LiveServer, MockLLM, start_catalyst, start_mock, stop

PASSWORD = "root-password-123"
METRICS_TOKEN = "test-metrics-token-5d1e"
LOGIN_URL = "/admin/login/"


def delete_tenants(**lookup) -> None:
    """Delete live tenants once the servers have written every queued usage record and audit entry
    of theirs: a tenant deleted while its records are being written deadlocks with the writer, and
    a record written after the delete names a tenant that is gone."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = [hot_store().prefix + queue.key for queue in (usage_queue, audit_queue)]
    deadline, quiet = time.monotonic() + 20, 0
    while quiet < 3 and time.monotonic() < deadline:  # empty three times running: pushes after a response too
        quiet = quiet + 1 if not any(client.llen(key) for key in keys) else 0
        time.sleep(0.1)
    Tenant.objects.filter(**lookup).delete()


def login(client: Client, device: TOTPDevice, token: str):
    """Post the admin login form: username, password, device and TOTP code."""
    data = {"username": device.user.username, "password": PASSWORD, "otp_device": device.persistent_id}
    return client.post(LOGIN_URL, {**data, "otp_token": token, "next": "/admin/"})


def staff_signed_in(username: str, *permissions: str) -> Client:
    """A staff member with just these permissions ("app.codename"), signed in with a second factor."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(username, f"{username}@catalyst.test", PASSWORD, is_staff=True)
    for name in permissions:
        app, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    assert login(client, device, current_code(device)).status_code == 302
    return client


@pytest.fixture
def staff_device(db) -> TOTPDevice:
    user = get_user_model().objects.create_superuser("root", "root@catalyst.test", PASSWORD)
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


@pytest.fixture
def staff_client(staff_device) -> Client:
    """A superuser signed in through the real admin login form: password and TOTP code."""
    client = Client()
    response = login(client, staff_device, current_code(staff_device))
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    return client


@pytest.fixture(scope="session")
def mock_llm() -> MockLLM:
    mock = start_mock()
    yield mock
    stop(mock.process)


@pytest.fixture
def mock(mock_llm: MockLLM) -> MockLLM:
    """The mock with an empty record and no scripts."""
    mock_llm.reset()
    return mock_llm


def _database_url() -> str:
    params = connection.settings_dict
    host = params["HOST"] or params["OPTIONS"].get("host") or "127.0.0.1"
    if host.startswith("/"):
        return f"postgresql://{params['USER']}:{params['PASSWORD'] or ''}@/{params['NAME']}?host={host}"
    return f"postgresql://{params['USER']}:{params['PASSWORD'] or ''}@{host}:{params['PORT'] or 5432}/{params['NAME']}"


@pytest.fixture(scope="session")
def catalyst_server(django_db_setup, django_db_blocker, tmp_path_factory) -> LiveServer:
    """Catalyst under uvicorn, as shipped, on the test database, with fast retries for the tests."""
    with django_db_blocker.unblock():
        url = _database_url()
    server = start_catalyst(
        url,
        tmp_path_factory.mktemp("live") / "server.log",
        GATEWAY_BACKOFF_BASE_SECONDS="0.01",
        GATEWAY_BACKOFF_MAX_SECONDS="0.05",
        BREAKER_FAILURE_THRESHOLD="3",
        BREAKER_COOLDOWN_SECONDS="1",
        METRICS_TOKEN=METRICS_TOKEN,
    )
    yield server
    stop(server.process)
    with django_db_blocker.unblock():
        _wait_for_other_sessions_to_end()


def _wait_for_other_sessions_to_end(seconds: float = 10.0) -> None:
    """A stopped server's database sessions end a moment after its process: dropping the test
    database before then fails."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


@pytest.fixture(scope="module")
def embedded_server(live, django_db_blocker, tmp_path_factory) -> LiveServer:
    """A second server on the same database with no Redis: its hot store is its own memory, as on
    the embedded default."""
    with django_db_blocker.unblock():
        url = _database_url()
    server = start_catalyst(url, tmp_path_factory.mktemp("embedded") / "server.log", REDIS_URL="")
    yield server
    stop(server.process)


@dataclass
class LiveWorld:
    tenant: Tenant
    key: str
    other_key: str
    mock: MockLLM
    server: LiveServer

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1"


def _model(name: str, provider: Provider, **fields) -> LlmModel:
    defaults = {"upstream_name": name, "price_input": Decimal("1.000000"), "price_output": Decimal("2.000000")}
    return LlmModel.objects.create(name=name, provider=provider, **{**defaults, **fields})


def build_catalogue(mock: MockLLM) -> None:
    openai_mock = Provider.objects.create(
        name="mock-openai", kind=ProviderKind.OPENAI, base_url=mock.url + "/v1", timeout_seconds=2
    )
    anthropic_mock = Provider.objects.create(
        name="mock-anthropic", kind=ProviderKind.ANTHROPIC, base_url=mock.url, timeout_seconds=2
    )
    _model("gpt-mock", openai_mock, quality=3)
    _model("gpt-mini-mock", openai_mock, quality=1, price_input=Decimal("0.1"), price_output=Decimal("0.2"))
    _model("claude-mock", anthropic_mock, quality=4, price_input=Decimal("3"), price_output=Decimal("15"))
    _model("embed-mock", openai_mock, kind=ModelKind.EMBEDDING, price_output=Decimal("0"))
    _model("pricey-mock", openai_mock, price_input=Decimal("100"), price_output=Decimal("200"))
    chain = FallbackChain.objects.create(name="resilient", description="primary, then backups")
    primary = _model("primary", openai_mock, fallback_chain=chain)
    backup = _model("backup", openai_mock, upstream_name="backup-model")
    last = _model("last-resort", anthropic_mock, upstream_name="claude-backup")
    for position, model in enumerate((primary, backup, last)):
        ChainLink.objects.create(chain=chain, model=model, position=position)
    catalogue_changed()


@pytest.fixture(scope="module")
def live(django_db_blocker, catalyst_server: LiveServer, mock_llm: MockLLM) -> LiveWorld:
    """A tenant with a key and the mock catalogue, committed so the live server sees them."""
    with django_db_blocker.unblock():
        build_catalogue(mock_llm)
        onboarding = services.tenant_onboard(slug="live", name="Live", tier="enterprise", owner_username="live-owner")
        other = services.tenant_onboard(slug="live-other", name="Other", tier="free", owner_username="other-owner")
    yield LiveWorld(onboarding.tenant, onboarding.issued.plaintext, other.issued.plaintext, mock_llm, catalyst_server)
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug__in=["live", "live-other"]).delete()
        get_user_model().objects.filter(username__in=["live-owner", "other-owner"]).delete()
        LlmModel.objects.all().delete()
        FallbackChain.objects.all().delete()
        Provider.objects.all().delete()
        catalogue_changed()


@pytest.fixture
def fresh(live: LiveWorld) -> LiveWorld:
    """The live world with an empty mock record and no scripts."""
    live.mock.reset()
    return live
