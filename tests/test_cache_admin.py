"""Cache purges in the admin: recorded with who purged, audited, read by every process, never undone."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.cache import policy, store
from apps.cache.models import CachePurge
from apps.providers.types import ChatRequest, Finish, TextDelta


def test_staff_purge_in_the_admin_and_every_process_reloads(world, staff_client):
    before = policy.load("before").purges

    response = staff_client.post(reverse("admin:cache_cachepurge_add"), {"tenant": world.acme.pk, "model": "gpt-4o"})
    purge = CachePurge.objects.get()
    after = policy.load("after").purges

    assert response.status_code == 302
    assert before == {}
    assert after == {(world.acme.pk, "", "gpt-4o"): purge.created_at.timestamp()}
    assert purge.created_by.username == "root"
    assert AuditEntry.objects.filter(action="admin.add", object_type="cache.CachePurge").count() == 1
    change = staff_client.post(reverse("admin:cache_cachepurge_change", args=[purge.pk]), {"model": ""})
    delete = staff_client.post(reverse("admin:cache_cachepurge_delete", args=[purge.pk]), {"post": "yes"})
    assert (change.status_code, delete.status_code) == (403, 403)  # a purge cannot be undone


def test_staff_see_a_tenants_entries_with_their_hits_and_no_other_tenants(world, staff_client):
    def put(tenant, text: str, hits: int) -> str:
        key = store.key(tenant.pk, "", "gpt-4o", ChatRequest(messages=[{"role": "user", "content": text}]))
        entry = store.Entry(time.time() - 30, 3600, "gpt-4o", (TextDelta(text), Finish("stop")), Decimal("0.0002"))

        async def go():
            await store.put(key, entry, 3600)
            for _ in range(hits):
                await store.count_hit(key, 3600)

        asyncio.run(go())
        return key.rsplit(":", 1)[-1]

    mine = [put(world.acme, "first", 2), put(world.acme, "second", 0)]
    theirs = put(world.globex, "secret question", 5)

    page = staff_client.get(reverse("admin:cache_entries"), {"tenant": "acme"})
    html = page.content.decode()

    assert page.status_code == 200
    assert {e["digest"]: (e["hits"], e["entry"].model) for e in page.context["entries"]} == {
        mine[0]: (2, "gpt-4o"),
        mine[1]: (0, "gpt-4o"),
    }
    assert page.context["hits"] == 2
    assert theirs[:14] not in html and "secret question" not in html
    assert 'href="/admin/cache/cachepurge/add/?tenant=' in html
