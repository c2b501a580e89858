"""Guardrail rules in the admin: a staff edit is validated, audited and read by every process at
once; a tenant's rule overrides the platform's for that tenant only."""

from __future__ import annotations

import asyncio

from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.catalogue.snapshot import _shared_version
from apps.guardrails import policy
from apps.guardrails.models import GuardrailRule
from apps.tenancy.principal import Principal


def rules_for(tenant) -> policy.Rules:
    """What a process loads after the edit (in this test's transaction)."""
    return policy.load("after").resolve(Principal(tenant.pk, tenant.slug, tenant.tier.name, "api_key"))


def test_a_staff_rule_overrides_the_platforms_for_its_tenant_and_reaches_every_process(world, staff_client):
    before = asyncio.run(_shared_version())
    form = {"tenant": world.acme.pk, "check_name": "pii", "direction": "input", "action": "redact",
            "threshold": "0.5", "entities": '["EMAIL_ADDRESS"]', "restore": "on", "deny": "[]",
            "allow": '["@acme\\\\.example$"]'}  # fmt: skip

    response = staff_client.post(reverse("admin:guardrails_guardrailrule_add"), form)
    after = asyncio.run(_shared_version())
    acme, globex = rules_for(world.acme).get("pii", "input"), rules_for(world.globex).get("pii", "input")

    assert response.status_code == 302
    assert after != before  # every process reloads its rules with the next request
    assert (acme.action, acme.entities, acme.restore) == ("redact", frozenset({"EMAIL_ADDRESS"}), True)
    assert acme.allow == ("@acme\\.example$",)
    assert (globex.action, globex.restore) == ("log", False)  # the platform's
    assert AuditEntry.objects.filter(action="admin.add", object_type="guardrails.GuardrailRule").count() == 1


def test_a_bad_rule_is_refused_with_the_field_named(world, staff_client):
    url = reverse("admin:guardrails_guardrailrule_add")
    base = {"tenant": world.acme.pk, "check_name": "custom", "direction": "input", "action": "block",
            "threshold": "0.5", "entities": "[]", "deny": "[]", "allow": "[]"}  # fmt: skip

    bad_pattern = staff_client.post(url, {**base, "deny": '["(unclosed"]'})
    restore_on_block = staff_client.post(url, {**base, "deny": '["x"]', "restore": "on"})
    duplicate = staff_client.post(url, {**base, "tenant": "", "check_name": "pii"})  # the platform has one

    assert "deny" in bad_pattern.context["adminform"].form.errors
    assert "restore" in restore_on_block.context["adminform"].form.errors
    assert duplicate.context["adminform"].form.non_field_errors()
    assert GuardrailRule.objects.filter(tenant=world.acme).count() == 0
