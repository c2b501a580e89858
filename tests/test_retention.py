"""Retention and erasure: what people wrote goes when its time is up or when they ask, and the
audit trail still verifies afterwards."""

from __future__ import annotations

import datetime as dt
import io
import time

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import storages
from django.core.management import call_command
from django.utils import timezone

from apps.audit import trail
from apps.audit.chain import verify_all
from apps.audit.models import AuditEntry
from apps.chat.models import Conversation, Message
from apps.compliance.retention import erase_user, purge_expired
from apps.responses.models import StoredResponse
from apps.retrieval import services as retrieval
from apps.retrieval.models import StoredFile
from apps.tenancy import services
from apps.tenancy.models import Tenant


def _conversation(tenant, user, title: str, age_days: int) -> Conversation:
    when = timezone.now() - dt.timedelta(days=age_days)
    conversation = Conversation.objects.create(tenant=tenant, user=user, title=title, created_at=when)
    Message.objects.create(
        conversation=conversation, tenant=tenant, user_id=user.pk, client_id=f"{title}-1", role="user",
        content=f"{title} question", created_at=when,
    )  # fmt: skip
    return conversation


def _response(tenant, user, name: str, age_days: int, key=None) -> StoredResponse:
    return StoredResponse.objects.create(
        id=f"resp_{name}", tenant=tenant, user_id=user.pk if user else None, key_id=key.pk if key else None,
        request_id=f"req_{name}", model="m", status="completed", body={}, turn=[{"role": "user", "content": name}],
        created_at=timezone.now() - dt.timedelta(days=age_days),
    )  # fmt: skip


def _generation_entry(tenant, user, age_days: int, prompt: str) -> AuditEntry:
    item = trail.event(
        "generation.chat", actor_type="user", actor=f"user:{user.pk}", tenant_id=tenant.pk, tenant_slug=tenant.slug,
        request_id=f"req_{prompt}", payload={"prompt": prompt, "user_id": user.pk},
    )  # fmt: skip
    item["created_at"] = (timezone.now() - dt.timedelta(days=age_days)).isoformat()
    trail.append([item])
    return AuditEntry.objects.get(event_id=item["event_id"])


def _file(tenant, name: str, *, user=None, key=None, expires_in_days: int | None = None) -> StoredFile:
    from apps.tenancy.principal import Principal

    principal = Principal(tenant.pk, tenant.slug, tenant.tier.name, "api_key", key_id=key.pk if key else None,
                          user_id=user.pk if user else None)  # fmt: skip
    row = retrieval.create_file(principal, tenant.tier.name, name, "assistants", b"text", "text/plain", None)
    if expires_in_days is not None:
        StoredFile.objects.filter(pk=row.pk).update(expires_at=timezone.now() + dt.timedelta(days=expires_in_days))
    return row


def test_the_purge_drops_what_is_past_each_tenants_retention_and_the_chain_still_verifies(
    world, django_capture_on_commit_callbacks
):
    Tenant.objects.filter(pk=world.globex.pk).update(retention_days=None)  # globex keeps everything
    old = _conversation(world.acme, world.owner, "old", age_days=40)
    new = _conversation(world.acme, world.owner, "new", age_days=2)
    kept_forever = _conversation(world.globex, world.outsider, "forever", age_days=400)
    old_entry = _generation_entry(world.acme, world.owner, 40, "old-prompt")
    new_entry = _generation_entry(world.acme, world.owner, 2, "new-prompt")
    forever_entry = _generation_entry(world.globex, world.outsider, 400, "forever-prompt")
    _response(world.acme, world.owner, "old", 40)
    _response(world.acme, world.owner, "new", 2)
    expired = _file(world.globex, "expired.txt", expires_in_days=-1)  # expiry applies whatever the retention
    _file(world.globex, "later.txt", expires_in_days=1)
    _file(world.acme, "kept.txt")

    with django_capture_on_commit_callbacks(execute=True):  # the bytes go once the rows are gone
        report = purge_expired()

    assert report["acme"] == {"messages": 1, "conversations": 1, "responses": 1, "audit_payloads": 1}
    assert report["globex"] == {"files": 1}
    assert sorted(StoredFile.objects.values_list("filename", flat=True)) == ["kept.txt", "later.txt"]
    assert not storages["default"].exists(expired.storage_name)
    assert list(StoredResponse.objects.values_list("id", flat=True)) == ["resp_new"]
    assert set(report["globex"]) == {"files"}  # no retention period: only its expired files
    assert not Conversation.objects.filter(pk=old.pk).exists()
    assert Conversation.objects.filter(pk__in=[new.pk, kept_forever.pk]).count() == 2
    assert AuditEntry.objects.get(pk=old_entry.pk).payload is None
    assert AuditEntry.objects.get(pk=new_entry.pk).payload == {"prompt": "new-prompt", "user_id": world.owner.pk}
    assert AuditEntry.objects.get(pk=forever_entry.pk).payload is not None
    purge = AuditEntry.objects.get(action="retention.purge")
    assert (purge.tenant_slug, purge.payload["messages"], purge.payload["audit_payloads"]) == ("acme", 1, 1)
    assert verify_all()[1] is None


def test_erasing_a_user_removes_their_conversations_and_payloads_only_and_is_itself_audited(world):
    bobs = _conversation(world.acme, world.teammate, "bob", age_days=1)
    alices = _conversation(world.acme, world.owner, "alice", age_days=1)
    bob_entry = _generation_entry(world.acme, world.teammate, 1, "bob-prompt")
    alice_entry = _generation_entry(world.acme, world.owner, 1, "alice-prompt")
    bobs_key = services.key_create(tenant=world.acme, name="bob's", user=world.teammate).key
    _response(world.acme, world.teammate, "bob-as-user", 1)
    _response(world.acme, None, "bob-by-key", 1, key=bobs_key)
    _response(world.acme, world.owner, "alice", 1)
    _file(world.acme, "bob-as-user.txt", user=world.teammate)
    _file(world.acme, "bob-by-key.txt", key=bobs_key)
    _file(world.acme, "alice.txt", user=world.owner)
    out = io.StringIO()

    call_command("erase_user", "--tenant", "acme", "--user", "bob", stdout=out)

    assert out.getvalue().strip() == (
        "Erased 1 conversations, 1 messages, 2 stored responses, 2 files and 1 stored payloads of bob in acme."
    )
    assert list(StoredResponse.objects.values_list("id", flat=True)) == ["resp_alice"]
    assert list(StoredFile.objects.values_list("filename", flat=True)) == ["alice.txt"]
    assert not Conversation.objects.filter(pk=bobs.pk).exists()
    assert Conversation.objects.filter(pk=alices.pk).exists()
    assert AuditEntry.objects.get(pk=bob_entry.pk).payload is None
    assert AuditEntry.objects.get(pk=alice_entry.pk).payload["prompt"] == "alice-prompt"
    erasure = AuditEntry.objects.get(action="erasure.user")
    assert (erasure.object_id, erasure.payload) == (
        str(world.teammate.pk), {"messages": 1, "conversations": 1, "responses": 2, "files": 2, "audit_payloads": 1},
    )  # fmt: skip
    assert verify_all()[1] is None
    assert erase_user(tenant=world.acme, user=world.teammate) == {
        "messages": 0,
        "conversations": 0,
        "responses": 0,
        "files": 0,
        "audit_payloads": 0,
    }


@pytest.fixture(scope="module")
def keeper(live, django_db_blocker):
    """A tenant whose policy keeps prompts in the audit trail."""
    with django_db_blocker.unblock():
        onboarding = services.tenant_onboard(slug="keeper", name="Keeper", tier="enterprise", owner_username="keep")
        Tenant.objects.filter(slug="keeper").update(keep_prompts=True)
        services.tenant_saved(tenant=Tenant.objects.get(slug="keeper"))
    yield onboarding.issued.plaintext
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug="keeper").delete()
        get_user_model().objects.filter(username="keep").delete()


@pytest.mark.django_db
def test_a_tenant_that_keeps_prompts_gets_them_in_its_audit_entries(fresh, keeper):
    body = {"model": "gpt-mock", "messages": [{"role": "user", "content": "keep this prompt"}]}
    response = httpx.post(
        fresh.base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {keeper}"}
    )
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not AuditEntry.objects.filter(request_id=request_id).exists():
        time.sleep(0.05)

    entry = AuditEntry.objects.get(request_id=request_id)

    assert entry.payload["prompt"] == [{"role": "user", "content": "keep this prompt"}]
    assert entry.payload["answer"] == response.json()["choices"][0]["message"]["content"]
    assert keeper not in str(entry.payload)
