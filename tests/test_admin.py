"""The staff admin: a verified second factor, every registered page, onboarding and the key actions."""

from __future__ import annotations

import datetime
import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import AuditEntry
from apps.cache.models import CachePolicy, CachePurge
from apps.catalogue.models import FallbackChain, LlmModel, Provider
from apps.chat.models import Conversation, Message
from apps.core.admin_site import CatalystAdminSite
from apps.core.management.commands.totp_code import current_code
from apps.guardrails.models import GuardrailRule
from apps.metering.models import Alert, Budget, UsageRecord
from apps.responses.models import StoredResponse
from apps.retrieval.models import StoredFile, VectorStore, VectorStoreFile
from apps.tenancy import keys, services
from apps.tenancy.models import ApiKey, Membership, Role, Team, Tenant, TenantStatus, Tier
from apps.tools.models import AgentPolicy, AllowedDestination, McpServer, Tool
from tests.conftest import LOGIN_URL, PASSWORD
from tests.conftest import login as _login

User = get_user_model()
ISSUED_URL = "/admin/tenancy/apikey/issued/"
KEYS_URL = "/admin/tenancy/apikey/"
TENANTS_URL = "/admin/tenancy/tenant/"
ISSUED_KEY = re.compile(r'<code class="issued-key">([^<]*)</code>')
ONBOARDING = {
    "slug": "initech",
    "name": "Initech",
    "tier": "professional",
    "monthly_budget_usd": "250.00",
    "team_name": "Platform",
    "owner_username": "dave",
    "owner_email": "dave@initech.test",
    "key_name": "Production",
}


def _error_code(response) -> str:
    return response.json()["error"]["code"]


def _key(plaintext: str) -> ApiKey:
    return ApiKey.objects.get(prefix=keys.prefix_of(plaintext))


def _issued_keys(client: Client) -> list[str]:
    response = client.get(ISSUED_URL)
    assert response.status_code == 200
    return ISSUED_KEY.findall(response.content.decode())


def wrong_token(device: TOTPDevice) -> str:
    """A code that no step inside the device's tolerance accepts."""
    valid = {
        f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift + d).token():06d}"
        for d in range(-device.tolerance, device.tolerance + 1)
    }
    return next(code for code in (f"{n:06d}" for n in range(10**6)) if code not in valid)


@pytest.fixture
def keys_by_status(world) -> dict[str, set[str]]:
    """Prefixes of keys in each status: acme's first key active, globex's rotating, one revoked, one expired."""
    revoked = services.key_create(tenant=world.acme, name="revoked").key
    services.key_revoke(key=revoked)
    expired = services.key_create(tenant=world.acme, name="expired", expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(pk=expired.key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    successor = services.key_rotate(key=_key(world.globex_key), grace=timedelta(hours=1)).key
    return {
        "active": {keys.prefix_of(world.acme_key), successor.prefix},
        "rotating": {keys.prefix_of(world.globex_key)},
        "expired": {expired.key.prefix},
        "revoked": {revoked.prefix},
    }


# --- the second factor ----------------------------------------------------------------------------


@pytest.mark.parametrize("has_device", [False, True], ids=["no-device", "confirmed-device"])
def test_it_sends_a_password_only_login_back_to_the_admin_login_page(db, has_device):
    user = User.objects.create_superuser("root", "root@catalyst.test", PASSWORD)
    if has_device:
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    assert client.login(username="root", password=PASSWORD) is True

    for path in ("/admin/", KEYS_URL, TENANTS_URL):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == f"{LOGIN_URL}?next={path}"
        assert response.wsgi_request.user.is_authenticated is True
        assert response.wsgi_request.user.is_verified() is False


def test_it_refuses_a_login_with_a_wrong_totp_code(staff_device):
    client = Client()
    response = _login(client, staff_device, wrong_token(staff_device))

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == [
        "Invalid token. Please make sure you have entered it correctly."
    ]
    assert "_auth_user_id" not in client.session
    staff_device.refresh_from_db()
    assert staff_device.throttling_failure_count == 1
    assert client.get("/admin/")["Location"] == f"{LOGIN_URL}?next=/admin/"


def test_it_admits_a_login_with_the_current_totp_code(staff_device):
    client = Client()
    response = _login(client, staff_device, current_code(staff_device))

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    index = client.get("/admin/")
    assert index.status_code == 200
    assert index.wsgi_request.user.is_verified() is True
    assert "Catalyst administration" in index.content.decode()


# --- every registered page ------------------------------------------------------------------------


def test_the_admin_site_registers_exactly_the_covered_models():
    assert isinstance(admin.site, CatalystAdminSite)
    assert set(admin.site._registry) == {
        User, Group, TOTPDevice, Tier, Tenant, Team, Membership, ApiKey, Provider, LlmModel, FallbackChain,
        Budget, UsageRecord, Alert, Conversation, Message, AuditEntry, StoredResponse, CachePolicy, CachePurge,
        GuardrailRule, StoredFile, VectorStore, VectorStoreFile, Tool, McpServer, AllowedDestination, AgentPolicy,
    }  # fmt: skip


def _catalogue() -> None:
    provider = Provider.objects.create(name="p", kind="openai", base_url="http://127.0.0.1:9/v1")
    model = LlmModel.objects.create(name="m", provider=provider, upstream_name="m")
    chain = FallbackChain.objects.create(name="c")
    chain.links.create(model=model, position=0)


def _metering(tenant) -> None:
    budget = Budget.objects.create(tenant=tenant, period=datetime.date(2026, 11, 1))
    UsageRecord.objects.create(request_id="req_admin", tenant=tenant, endpoint="chat", outcome="ok")
    Alert.objects.create(tenant=tenant, kind="budget_80", period=budget.period, message="80 % used")


def _chat(tenant, user) -> None:
    conversation = Conversation.objects.create(tenant=tenant, user=user, title="Hello")
    Message.objects.create(conversation=conversation, tenant=tenant, user_id=user.pk, client_id="c1", role="user")


def _cache(tenant) -> None:
    CachePurge.objects.create(tenant=tenant, model="m")


def _responses(tenant) -> None:
    StoredResponse.objects.create(
        id="resp_admin", tenant=tenant, request_id="req_admin", model="m", status="completed", body={}, turn=[]
    )


def _retrieval(tenant) -> None:
    stored = StoredFile.objects.create(tenant=tenant, filename="a.txt", purpose="assistants", bytes=1,
                                       content_type="text/plain", sha256="0" * 64, storage_name="none")  # fmt: skip
    store = VectorStore.objects.create(tenant=tenant, name="docs")
    VectorStoreFile.objects.create(tenant=tenant, store=store, file=stored, status="failed", error_code="invalid_file")


def _tools(tenant) -> None:
    server = McpServer.objects.create(name="mcp", url="https://tools.example.com/mcp")
    Tool.objects.create(name="remote", kind="mcp", mcp_server=server, remote_name="remote", description="A tool.")
    AllowedDestination.objects.create(network="10.0.4.0/24", port=443, note="internal tools")
    AgentPolicy.objects.create(tenant=tenant).tools.add(Tool.objects.get(name="calculator"))


def test_every_registered_model_has_a_working_changelist_change_and_add_page(world, staff_client):
    Group.objects.create(name="support")
    _catalogue()
    _metering(world.acme)
    _chat(world.acme, world.owner)
    _responses(world.acme)
    _cache(world.acme)
    _retrieval(world.acme)
    _tools(world.acme)
    statuses, expected = {}, {}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        instance = model._default_manager.order_by("pk").first()
        assert instance is not None, f"no {opts.label} to open"
        changelist = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        change = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk]))
        add = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code
        statuses[opts.label] = (changelist.status_code, change.status_code, add)
        can_add = model_admin.has_add_permission(changelist.wsgi_request)
        expected[opts.label] = (200, 200, 200 if can_add else 403)

    assert statuses == expected
    assert len(statuses) == 28
    assert [label for label, (_, _, add) in statuses.items() if add == 403] == [
        "metering.Budget", "metering.UsageRecord", "metering.Alert", "retrieval.VectorStore",
        "retrieval.VectorStoreFile", "retrieval.StoredFile", "chat.Conversation", "chat.Message",
        "responses.StoredResponse", "audit.AuditEntry",
    ]  # fmt: skip


def test_issuing_a_key_in_the_admin_shows_it_once_with_its_scopes(world, staff_client, staff_device, api):
    assert staff_client.get(f"{KEYS_URL}add/").status_code == 200
    form = {"tenant": world.acme.pk, "name": "CI", "team": world.acme_team.pk, "allowed_endpoints": ["me"]}

    response = staff_client.post(f"{KEYS_URL}add/", {**form, "allowed_models": "gpt-4o, claude"})

    assert response.status_code == 302
    assert response["Location"] == ISSUED_URL
    [plaintext] = _issued_keys(staff_client)
    key = _key(plaintext)
    assert (key.tenant, key.name, key.team, key.created_by) == (world.acme, "CI", world.acme_team, staff_device.user)
    assert (key.allowed_models, key.allowed_endpoints, key.key_hash) == (
        ["claude", "gpt-4o"],
        ["me"],
        keys.hash_key(plaintext),
    )
    me = api.get("/v1/me", plaintext)
    assert me.status_code == 200
    assert (me.json()["tenant"], me.json()["allowed_endpoints"]) == ("acme", ["me"])
    assert _issued_keys(staff_client) == []


# --- onboarding -----------------------------------------------------------------------------------


def test_onboarding_a_tenant_shows_its_first_key_once_and_stores_only_its_hash(world, staff_client, staff_device, api):
    response = staff_client.post(f"{TENANTS_URL}add/", ONBOARDING)

    assert response.status_code == 302
    assert response["Location"] == ISSUED_URL
    [plaintext] = _issued_keys(staff_client)
    assert keys.is_well_formed(plaintext)
    me = api.get("/v1/me", plaintext)
    assert me.status_code == 200
    assert (me.json()["tenant"], me.json()["tier"], me.json()["key_prefix"]) == (
        "initech",
        "professional",
        keys.prefix_of(plaintext),
    )

    again = staff_client.get(ISSUED_URL).content.decode()
    assert plaintext not in again
    assert ISSUED_KEY.findall(again) == []

    tenant = Tenant.objects.get(slug="initech")
    assert (tenant.name, tenant.tier.name, str(tenant.monthly_budget_usd)) == ("Initech", "professional", "250.00")
    owner = Membership.objects.get(tenant=tenant)
    assert (owner.user.username, owner.user.email, owner.role, owner.team.name) == (
        "dave",
        "dave@initech.test",
        Role.OWNER,
        "Platform",
    )
    key = ApiKey.objects.get(tenant=tenant)
    assert (key.name, key.prefix, key.key_hash, key.created_by) == (
        "Production",
        keys.prefix_of(plaintext),
        keys.hash_key(plaintext),
        staff_device.user,
    )
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert [column for column, value in stored.items() if plaintext in str(value)] == []


def test_onboarding_with_a_taken_slug_rerenders_the_form_and_creates_nothing(world, staff_client):
    counts = (Tenant.objects.count(), Team.objects.count(), ApiKey.objects.count(), User.objects.count())

    response = staff_client.post(f"{TENANTS_URL}add/", {**ONBOARDING, "slug": "acme"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"slug": ["A tenant with this slug already exists."]}
    assert "A tenant with this slug already exists." in response.content.decode()
    assert (Tenant.objects.count(), Team.objects.count(), ApiKey.objects.count(), User.objects.count()) == counts
    assert User.objects.filter(username="dave").exists() is False
    assert _issued_keys(staff_client) == []


# --- the key list ---------------------------------------------------------------------------------


def test_the_key_list_shows_prefixes_and_never_a_full_key(world, staff_client):
    page = staff_client.get(KEYS_URL).content.decode()

    for plaintext in (world.acme_key, world.globex_key):
        assert keys.prefix_of(plaintext) in page
        assert plaintext not in page
        assert plaintext[len(keys.prefix_of(plaintext)) :] not in page


@pytest.mark.parametrize("status", ["active", "rotating", "expired", "revoked"])
def test_the_status_filter_lists_only_keys_in_that_status(keys_by_status, staff_client, status):
    response = staff_client.get(KEYS_URL, {"status": status})

    assert response.status_code == 200
    assert {key.prefix for key in response.context["cl"].result_list} == keys_by_status[status]


# --- actions --------------------------------------------------------------------------------------


def test_revoking_a_key_asks_first_and_then_stops_it(world, staff_client, api):
    key = _key(world.acme_key)
    assert api.get("/v1/me", world.acme_key).status_code == 200  # now cached in Redis
    selection = {"action": "revoke_keys", "_selected_action": [key.pk]}

    question = staff_client.post(KEYS_URL, selection)

    assert question.status_code == 200
    assert question.templates[0].name == "admin/tenancy/confirm_action.html"
    assert key.prefix in question.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    assert api.get("/v1/me", world.acme_key).status_code == 200

    done = staff_client.post(KEYS_URL, {**selection, "confirm": "yes"})

    assert done.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    refused = api.get("/v1/me", world.acme_key)
    assert refused.status_code == 401
    assert _error_code(refused) == "revoked_api_key"
    assert _key(world.globex_key).revoked_at is None
    assert api.get("/v1/me", world.globex_key).status_code == 200


def test_rotating_a_key_shows_its_successor_and_keeps_both_working(world, staff_client, api):
    old = _key(world.acme_key)
    selection = {"action": "rotate_keys", "_selected_action": [old.pk]}

    question = staff_client.post(KEYS_URL, selection)

    assert question.status_code == 200
    assert 'name="grace_seconds"' in question.content.decode()
    assert ApiKey.objects.filter(tenant=world.acme).count() == 1

    before = timezone.now()
    done = staff_client.post(KEYS_URL, {**selection, "confirm": "yes", "grace_seconds": "3600"})

    assert done.status_code == 302
    assert done["Location"] == ISSUED_URL
    [successor] = _issued_keys(staff_client)
    assert successor != world.acme_key
    old.refresh_from_db()
    assert old.rotated_to == _key(successor)
    assert before + timedelta(seconds=3600) <= old.expires_at <= timezone.now() + timedelta(seconds=3600)
    for plaintext in (world.acme_key, successor):
        me = api.get("/v1/me", plaintext)
        assert me.status_code == 200
        assert (me.json()["tenant"], me.json()["key_prefix"]) == ("acme", keys.prefix_of(plaintext))


def test_suspending_a_tenant_asks_first_and_then_refuses_its_keys(world, staff_client, api):
    selection = {"action": "suspend_tenants", "_selected_action": [world.acme.pk]}
    assert api.get("/v1/me", world.acme_key).status_code == 200  # now cached in Redis

    question = staff_client.post(TENANTS_URL, selection)

    assert question.status_code == 200
    assert question.templates[0].name == "admin/tenancy/confirm_action.html"
    world.acme.refresh_from_db()
    assert world.acme.status == TenantStatus.ACTIVE
    assert api.get("/v1/me", world.acme_key).status_code == 200

    done = staff_client.post(TENANTS_URL, {**selection, "confirm": "yes"})

    assert done.status_code == 302
    world.acme.refresh_from_db()
    assert world.acme.status == TenantStatus.SUSPENDED
    refused = api.get("/v1/me", world.acme_key)
    assert refused.status_code == 403
    assert _error_code(refused) == "tenant_suspended"
    world.globex.refresh_from_db()
    assert world.globex.status == TenantStatus.ACTIVE
    assert api.get("/v1/me", world.globex_key).status_code == 200
    suspended = AuditEntry.objects.get(action="tenant.status")
    assert (suspended.tenant_slug, suspended.actor_type, suspended.actor, suspended.payload) == (
        "acme", "staff", "root", {"status": "suspended"},
    )  # fmt: skip


# --- secrets never leave the database -------------------------------------------------------------


def test_no_admin_page_contains_the_hash_of_any_key(keys_by_status, world, staff_client):
    pages = {"/admin/": staff_client.get("/admin/")}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        urls = [reverse(f"{base}_changelist")]
        if model_admin.has_add_permission(pages["/admin/"].wsgi_request):
            urls.append(reverse(f"{base}_add"))
        for url in urls:
            pages[url] = staff_client.get(url)
        for pk in model._default_manager.values_list("pk", flat=True):
            url = reverse(f"{base}_change", args=[pk])
            pages[url] = staff_client.get(url)
    for status in keys_by_status:
        pages[f"{KEYS_URL}?status={status}"] = staff_client.get(KEYS_URL, {"status": status})
    every_key = list(ApiKey.objects.values_list("pk", flat=True))
    pages["revoke question"] = staff_client.post(KEYS_URL, {"action": "revoke_keys", "_selected_action": every_key})
    pages["onboarded"] = staff_client.post(f"{TENANTS_URL}add/", ONBOARDING, follow=True)
    rotate = {"action": "rotate_keys", "_selected_action": [_key(world.acme_key).pk], "confirm": "yes"}
    pages["rotated"] = staff_client.post(KEYS_URL, {**rotate, "grace_seconds": "0"}, follow=True)

    hashes = list(ApiKey.objects.values_list("key_hash", flat=True))
    assert len(hashes) == 7
    assert {url: r.status_code for url, r in pages.items() if r.status_code != 200} == {}
    assert len(ISSUED_KEY.findall(pages["onboarded"].content.decode())) == 1
    assert len(ISSUED_KEY.findall(pages["rotated"].content.decode())) == 1
    leaks = [(url, h) for url, r in pages.items() for h in hashes if h in r.content.decode()]
    assert leaks == []
