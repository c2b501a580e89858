"""A credential change made anywhere takes effect within a second on every server, Redis or the
embedded default (whose hot store is each process's own memory): revoking a key, deactivating
or deleting its user, removing a membership, deleting the tenant. The change is made by another
process (a management command), as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model

from apps.tenancy import credential_cache, services
from apps.tenancy.models import Role, Tenant
from apps.tenancy.tokens import issue_token
from catalyst.testing.live import ROOT

from .conftest import _database_url

pytestmark = pytest.mark.django_db
CHANGES = ("revoke", "deactivate", "delete-user", "leave", "delete-tenant")


@pytest.fixture(scope="module")
def people(live, django_db_blocker):
    """For each change and each hot store, a tenant with a member and a key bound to that member."""
    made = {}
    with django_db_blocker.unblock():
        for store in ("redis", "memory"):
            for change in CHANGES:
                slug = f"cred-{store}-{change}"
                tenant = services.tenant_onboard(slug=slug, name=slug, tier="enterprise").tenant
                user = get_user_model().objects.create_user(slug, f"{slug}@example.test", "password-123456")
                services.membership_add(tenant=tenant, user=user, role=Role.MEMBER, team=tenant.teams.first())
                issued = services.key_create(tenant=tenant, name="bound", user=user)
                token = issue_token(user_id=user.pk, tenant_slug=slug)
                made[(store, change)] = (tenant, user, issued, token)
    yield made
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug__startswith="cred-").delete()
        get_user_model().objects.filter(username__startswith="cred-").delete()


SCRIPTS = {
    "revoke": "services.key_revoke(key=ApiKey.objects.get(prefix=PREFIX))",
    "deactivate": "services.user_set_active(user=User.objects.get(username=SLUG), active=False)",
    "delete-user": "services.user_delete(user=User.objects.get(username=SLUG))",
    "leave": "services.membership_remove(membership=Membership.objects.get(user__username=SLUG))",
    "delete-tenant": "services.tenant_delete(tenant=Tenant.objects.get(slug=SLUG))",
}


class Operator:
    """A process of its own, with the store's settings, making changes as a management command would."""

    PROGRAM = (
        "import sys, django; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "from apps.tenancy import services\n"
        "from apps.tenancy.models import ApiKey, Membership, Tenant\n"
        "User = get_user_model()\n"
        "for line in sys.stdin:\n"
        "    SLUG, PREFIX, script = line.rstrip('\\n').split(' ', 2)\n"
        "    exec(script)\n"
        "    print('done', flush=True)\n"
    )

    def __init__(self, store: str, database_url: str) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "catalyst.settings.test", "DATABASE_URL": database_url}
        if store == "memory":
            env["REDIS_URL"] = ""
        self.process = subprocess.Popen(
            [sys.executable, "-c", self.PROGRAM], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def change(self, change: str, slug: str, prefix: str) -> None:
        self.process.stdin.write(f"{slug} {prefix} {SCRIPTS[change]}\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline() == "done\n"

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def operators(live, django_db_blocker):
    with django_db_blocker.unblock():
        url = _database_url()
    started = {store: Operator(store, url) for store in ("redis", "memory")}
    yield started
    for operator in started.values():
        operator.stop()


def _seconds_until_refused(url: str, credential: str) -> float:
    changed = time.monotonic()
    while time.monotonic() - changed < 5:
        status = httpx.get(url + "/v1/me", headers={"Authorization": f"Bearer {credential}"}, timeout=5).status_code
        if status in (401, 403):
            return time.monotonic() - changed
        time.sleep(0.05)
    return float("inf")


@pytest.mark.parametrize("store", ["redis", "memory"])
@pytest.mark.parametrize("change", CHANGES)
def test_a_credential_change_in_another_process_takes_effect_within_a_second(
    fresh, embedded_server, people, operators, store, change
):
    server = fresh.server if store == "redis" else embedded_server
    tenant, _user, issued, token = people[(store, change)]
    me = {"Authorization": f"Bearer {issued.plaintext}"}
    assert httpx.get(server.url + "/v1/me", headers=me).status_code == 200  # now cached by the server
    assert httpx.get(server.url + "/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    operators[store].change(change, tenant.slug, issued.key.prefix)

    assert _seconds_until_refused(server.url, issued.plaintext) < 1.0
    assert _seconds_until_refused(server.url, token) < 1.0 or change == "revoke"  # a key's revocation spares tokens


def test_a_load_that_raced_a_change_is_not_cached(world, store):
    """A request read the key's rows just before a revocation: what it read must not be cached."""
    prefix, digest = world.acme_key[:12], __import__("hashlib").sha256(world.acme_key.encode()).hexdigest()
    entry = credential_cache.key_entry(digest)

    def load_then_revoked_meanwhile(*args):
        from apps.tenancy.authentication import _load_key_record

        record = _load_key_record(*args)
        credential_cache.forget_keys([digest])  # the revocation lands while the request is loading
        return record

    async def twice():
        first = await credential_cache.read_through(entry, load_then_revoked_meanwhile, prefix, digest)
        calls = []
        second = await credential_cache.read_through(entry, lambda *a: calls.append(a) or first, prefix, digest)
        return first, second, calls

    first, _, calls = async_to_sync(twice)()

    assert first["prefix"] == prefix
    assert len(calls) == 1  # the stale record was not cached: the second request asked the database again
