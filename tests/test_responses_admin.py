"""Stored responses in the admin: listed per tenant, read-only, deletable, and the deletion audited."""

from __future__ import annotations

from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.responses import services
from apps.responses.models import StoredResponse


def _store(tenant, response_id: str, text: str) -> None:
    services.store(
        response_id=response_id, tenant_id=tenant.id, user_id=None, key_id=None, request_id="req_" + response_id,
        previous_id=None, model="small", status="completed",
        body={"id": response_id, "object": "response", "output_text": text}, turn=[{"role": "user", "content": text}],
    )  # fmt: skip


def test_staff_list_read_and_delete_stored_responses_but_never_edit_them(world, staff_client):
    _store(world.acme, "resp_acme1", "acme's question")
    _store(world.globex, "resp_globex1", "globex's question")
    changelist = reverse("admin:responses_storedresponse_changelist")

    listed = staff_client.get(changelist, {"tenant__id__exact": world.acme.id})
    detail = staff_client.get(reverse("admin:responses_storedresponse_change", args=["resp_acme1"]))
    add = staff_client.get(reverse("admin:responses_storedresponse_add"))
    edit = staff_client.post(
        reverse("admin:responses_storedresponse_change", args=["resp_acme1"]), {"model": "other", "status": "failed"}
    )
    deleted = staff_client.post(reverse("admin:responses_storedresponse_delete", args=["resp_acme1"]), {"post": "yes"})

    assert listed.status_code == 200
    assert "resp_acme1" in listed.content.decode() and "resp_globex1" not in listed.content.decode()
    assert detail.status_code == 200 and "acme&#x27;s question" in detail.content.decode()
    assert add.status_code == 403
    assert edit.status_code == 403
    assert deleted.status_code == 302
    assert list(StoredResponse.objects.values_list("id", flat=True)) == ["resp_globex1"]
    entry = AuditEntry.objects.get(action="admin.delete", object_type="responses.StoredResponse")
    assert (entry.actor_type, entry.actor, entry.object_id) == ("staff", "root", "resp_acme1")
