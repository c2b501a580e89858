"""The audit trail: chained, append-only on PostgreSQL, and tampering is found and named."""

from __future__ import annotations

import io
import itertools
import json
import time
from decimal import Decimal

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from apps.audit.chain import verify_all
from apps.audit.models import GENESIS, AuditEntry
from apps.tenancy import services
from apps.tenancy.models import ApiKey


def test_key_and_tenant_changes_are_chained_and_never_carry_a_secret(world):
    issued = services.key_create(tenant=world.acme, name="ci", user=world.owner)
    services.key_revoke(key=issued.key, by=world.owner)

    trail = list(AuditEntry.objects.order_by("id"))  # live tests before this one may have committed some
    entries = [e for e in trail if e.tenant_id == world.acme.id]
    actions = [e.action for e in entries]
    text = str([(e.payload, e.actor, e.object_id) for e in entries])
    checked, broken = verify_all()

    assert actions[:3] == ["tenant.create", "membership.set", "key.create"]  # acme's onboarding
    assert actions[-2:] == ["key.create", "key.revoke"]
    assert trail[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(trail))
    assert (entries[-1].actor_type, entries[-1].actor, entries[-1].payload["prefix"]) == (
        "staff", world.owner.username, issued.key.prefix,
    )  # fmt: skip
    assert (checked, broken) == (len(trail), None)
    for key in ApiKey.objects.all():
        assert key.key_hash not in text
    assert issued.plaintext not in text and world.acme_key not in text


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET actor = 'mallory' WHERE id = %s",
        "UPDATE audit_auditentry SET payload = '{}'::jsonb WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ],
)
def test_postgresql_refuses_to_alter_or_delete_an_entry(world, statement):
    entry = AuditEntry.objects.order_by("id").first()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _sql(statement, [entry.pk])

    assert AuditEntry.objects.get(pk=entry.pk).actor == entry.actor


def test_a_payload_can_be_erased_and_the_chain_still_verifies(world):
    entry = AuditEntry.objects.order_by("id")[1]

    AuditEntry.objects.filter(pk=entry.pk).update(payload=None)

    assert AuditEntry.objects.get(pk=entry.pk).payload is None
    assert verify_all()[1] is None


def test_an_altered_entry_is_named(world):
    entries = list(AuditEntry.objects.order_by("id"))
    _sql("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")  # as a DBA could
    _sql("UPDATE audit_auditentry SET actor = 'mallory' WHERE id = %s", [entries[2].pk])

    checked, broken = verify_all()

    assert checked == 2
    assert (broken.entry_id, "altered" in broken.reason) == (entries[2].pk, True)
    with pytest.raises(CommandError, match=f"broken at entry #{entries[2].pk}: its fields do not match"):
        call_command("verify_audit")


def test_a_deleted_entry_is_found_at_the_next_one(world):
    entries = list(AuditEntry.objects.order_by("id"))
    _sql("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
    _sql("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])

    checked, broken = verify_all()

    assert (checked, broken.entry_id) == (1, entries[2].pk)
    assert "deleted or reordered" in broken.reason


def test_a_tampered_payload_is_named(world):
    entries = list(AuditEntry.objects.order_by("id"))
    _sql("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
    _sql("""UPDATE audit_auditentry SET payload = '{"slug": "evil"}'::jsonb WHERE id = %s""", [entries[0].pk])

    assert verify_all()[1].reason == "its payload does not match its digest (it was altered)"


def test_admin_actions_are_recorded_and_the_command_and_the_admin_report_an_intact_chain(world, staff_client):
    staff_client.post(reverse("admin:auth_group_add"), {"name": "auditors"})
    out = io.StringIO()

    call_command("verify_audit", stdout=out)
    response = staff_client.get(reverse("admin:audit_auditentry_verify"), follow=True)

    added = AuditEntry.objects.get(action="admin.add", object_type="auth.Group")
    count = AuditEntry.objects.count()
    assert (added.actor_type, added.actor, added.object_type, added.payload["object"]) == (
        "staff", "root", "auth.Group", "auditors",
    )  # fmt: skip
    assert out.getvalue().strip() == f"The audit trail is intact: {count} entries verified."
    assert f"The audit trail is intact: {count} entries verified." in response.content.decode()


@pytest.mark.django_db
def test_every_generation_is_audited_off_the_request_path_without_its_key_or_prompt(fresh):
    prompt = "canary-prompt-7f3a must never be stored"
    body = {"model": "gpt-mock", "messages": [{"role": "user", "content": prompt}]}
    answers = [
        httpx.post(fresh.base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {fresh.key}"})
        for _ in range(3)
    ]
    ids = [a.headers["x-request-id"] for a in answers]

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and AuditEntry.objects.filter(request_id__in=ids).count() < 3:
        time.sleep(0.05)
    entries = list(AuditEntry.objects.filter(request_id__in=ids).order_by("id"))

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [e.request_id for e in entries] == ids
    first = entries[0]
    assert (first.action, first.actor_type, first.actor, first.tenant_slug) == (
        "generation.chat", "api_key", fresh.key[:12], "live",
    )  # fmt: skip
    assert (first.payload["model"], first.payload["tokens_out"], first.payload["outcome"]) == ("gpt-mock", 20, "ok")
    assert first.payload["attempts"] == ["gpt-mock:ok"]
    stored = str([(e.payload, e.actor, e.object_id) for e in entries])
    assert prompt not in stored and fresh.key not in stored
    assert verify_all()[1] is None


def test_compliance_staff_read_one_requests_story_and_export_the_trail(world, staff_client):
    from apps.audit import trail
    from apps.metering.models import UsageRecord

    trail.append([
        trail.event(
            "generation.chat", actor_type="api_key", actor=world.acme_key[:12], tenant_id=world.acme.pk,
            tenant_slug="acme", request_id="req_story", payload={"model": "gpt-mock", "attempts": ["gpt-mock:ok"]},
        )
    ])  # fmt: skip
    UsageRecord.objects.create(
        request_id="req_story", tenant=world.acme, endpoint="chat", model="gpt-mock", provider="mock-openai",
        tokens_in=12, tokens_out=20, cost_usd="0.00005200", outcome="ok",
    )  # fmt: skip
    changelist = reverse("admin:audit_auditentry_changelist")
    every = list(AuditEntry.objects.values_list("pk", flat=True))

    story = staff_client.get(reverse("admin:audit_request_story", args=["req_story"])).content.decode()
    exported_csv = staff_client.post(changelist, {"action": "export_csv", "_selected_action": every})
    exported_jsonl = staff_client.post(changelist, {"action": "export_jsonl", "_selected_action": every})
    found = staff_client.get(changelist, {"q": "req_story"}).content.decode()

    assert "generation.chat" in story and world.acme_key[:12] in story
    assert "12 / 20 / 0" in story and "0.00005200" in story and "gpt-mock / mock-openai" in story
    csv_rows = b"".join(exported_csv.streaming_content).decode().splitlines()
    json_rows = [json.loads(line) for line in b"".join(exported_jsonl.streaming_content).decode().splitlines()]
    assert csv_rows[0].startswith("id,created_at,tenant_slug,actor_type,actor,action")
    assert len(csv_rows) == len(every) + 1
    assert [row["id"] for row in json_rows] == sorted(every)
    assert json_rows[-1]["request_id"] == "req_story"
    assert exported_jsonl["Content-Disposition"] == 'attachment; filename="audit.jsonl"'
    assert "req_story" in found


def test_without_redis_an_entry_with_decimals_nul_and_broken_unicode_is_stored_plainly(world, settings):
    from asgiref.sync import async_to_sync

    from apps.audit import trail
    from apps.core.redis.hotstore import hot_store

    settings.REDIS_URL = None
    hot_store.cache_clear()
    try:
        item = trail.event(
            "generation.chat", actor_type="user", actor="user:1", tenant_id=world.acme.pk,
            payload={"cost_usd": Decimal("0.00005200"), "answer": "a\x00b\ud800c"},
        )  # fmt: skip
        async_to_sync(trail.record)(item)
    finally:
        hot_store.cache_clear()

    stored = AuditEntry.objects.get(event_id=item["event_id"])
    assert stored.payload == {"cost_usd": "0.00005200", "answer": "a\ufffdb?c"}
    assert verify_all()[1] is None


def test_an_entry_the_database_refuses_does_not_hold_up_the_rest_of_its_batch(world):
    from asgiref.sync import async_to_sync

    from apps.audit import trail
    from apps.core.redis.queue import DurableQueue

    # The audit queue's writer on a queue of its own: a live server of this session drains "audit".
    queue = DurableQueue("audit-batch-probe", trail.queue.write)
    good = [trail.event("test.good", actor_type="system", actor="s", payload={"n": n}) for n in range(2)]
    bad = trail.event("test.bad", actor_type="system", actor="s", payload={"ok": True})
    raw_bad = json.dumps(bad).replace('{"ok": true}', '{"text": "nul \\u0000 here"}')  # as if queued unclean

    async def go():
        for raw in (json.dumps(good[0]), raw_bad, json.dumps(good[1])):
            await queue.push(raw)
        return await queue.flush_all()

    moved = async_to_sync(go)()

    actions = list(
        AuditEntry.objects.filter(action__startswith="test.").order_by("id").values_list("action", "payload")
    )
    assert moved == 3
    assert actions == [("test.good", {"n": 0}), ("test.bad", None), ("test.good", {"n": 1})]
    assert verify_all()[1] is None


def test_a_flusher_that_lost_its_lock_does_not_trim_what_it_did_not_write(world):
    from asgiref.sync import async_to_sync

    from apps.core.redis.hotstore import hot_store
    from apps.core.redis.queue import DurableQueue

    written = []

    def slow_write(raw):  # meanwhile the lock expired and another flusher took it
        hot_store().set_sync("probe:flush-lock", "someone-else", 60)
        written.extend(raw)

    queue = DurableQueue("probe", slow_write)

    async def go():
        await queue.push("a")
        moved = await queue.flush_once()
        store = hot_store()
        left = await store.connection.execute("LLEN", store.prefix + "probe:pending")
        return moved, left

    assert async_to_sync(go)() == (0, 1)  # written, but left queued for the lock's owner (deduplicated there)
    assert written == ["a"]


def test_deleting_several_objects_in_the_admin_records_each(world, staff_client):
    from django.contrib.auth.models import Group

    groups = [Group.objects.create(name=name) for name in ("one", "two")]

    staff_client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [g.pk for g in groups], "post": "yes"},
    )

    deleted = AuditEntry.objects.filter(action="admin.delete", object_type="auth.Group")
    assert sorted(deleted.values_list("payload__object", flat=True)) == ["one", "two"]
    assert not Group.objects.filter(name__in=["one", "two"]).exists()


@pytest.mark.django_db
def test_a_client_cannot_choose_the_request_id_that_keys_its_usage_and_audit(fresh):
    body = {"model": "gpt-mock", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {fresh.key}", "X-Request-Id": "client-chosen-id-1"}

    first = httpx.post(fresh.base_url + "/chat/completions", json=body, headers=headers)
    second = httpx.post(fresh.base_url + "/chat/completions", json=body, headers=headers)

    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(i.startswith("req_") for i in ids) and ids[0] != ids[1]
    assert first.headers["x-client-request-id"] == "client-chosen-id-1"
