"""The registry's rules: four-eyes approval, a reviewed change back to draft, every transition on
the audit trail, grants by tier and tenant, and built-ins shipped live to every tier."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from apps.audit.models import AuditEntry
from apps.tenancy.principal import Principal
from apps.tools import lifecycle, registry
from apps.tools.models import Tool, ToolKind, ToolStatus

pytestmark = pytest.mark.django_db
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def staff(username: str, approver: bool = False):
    user = get_user_model().objects.create_user(username, f"{username}@catalyst.test", "pw-123456789", is_staff=True)
    if approver:
        user.user_permissions.add(Permission.objects.get(codename="approve_tool"))
    return get_user_model().objects.get(pk=user.pk)  # a fresh object: permissions are cached per instance


def granted(tenant) -> list[str]:
    """What the registry's snapshot grants the tenant, loaded in this thread (the test's transaction
    holds the rows)."""
    principal = Principal(tenant_id=tenant.pk, tenant_slug=tenant.slug, tier=tenant.tier.name, method="api_key")
    return sorted(name for name, entry in registry.load().items() if entry.reaches(principal))


@pytest.fixture
def weather():
    author = staff("author", approver=True)
    tool = Tool.objects.create(
        name="weather", description="The weather.", input_schema=SCHEMA, kind=ToolKind.HTTP,
        url="https://tools.example.com/weather", created_by=author, changed_by=author,
    )  # fmt: skip
    return tool, author


def test_approval_takes_a_second_person_with_the_permission(weather):
    tool, author = weather
    reviewer, bystander = staff("reviewer", approver=True), staff("bystander")
    with pytest.raises(lifecycle.TransitionRefused, match="needs a second person"):
        lifecycle.approve(tool, author)
    with pytest.raises(lifecycle.TransitionRefused, match="needs the 'approve tool' permission"):
        lifecycle.approve(tool, bystander)
    with pytest.raises(lifecycle.TransitionRefused, match="must be approved before it goes live"):
        lifecycle.publish(tool, author)
    lifecycle.approve(tool, reviewer)
    lifecycle.publish(tool, author)
    tool.refresh_from_db()
    assert (tool.status, tool.approved_by) == (ToolStatus.LIVE, reviewer)
    actions = list(
        AuditEntry.objects.filter(object_type="tools.Tool", object_id=tool.pk)
        .order_by("id")
        .values_list("action", "actor")
    )
    assert actions == [("tool.approve", "reviewer"), ("tool.publish", "author")]


def test_a_change_to_what_a_tool_does_or_who_may_call_it_needs_a_new_approval(weather, world):
    tool, author = weather
    reviewer = staff("reviewer", approver=True)
    lifecycle.approve(tool, reviewer)
    lifecycle.publish(tool, author)
    tool.timeout_seconds = 3.0
    lifecycle.changed(tool, reviewer, ["timeout_seconds"])  # operational: still live
    assert Tool.objects.get(pk=tool.pk).status == ToolStatus.LIVE
    tool.url = "https://elsewhere.example.com/weather"
    lifecycle.changed(tool, author, ["url"])
    tool.refresh_from_db()
    assert (tool.status, tool.approved_by, tool.approved_at, tool.changed_by) == (ToolStatus.DRAFT, None, None, author)
    with pytest.raises(lifecycle.TransitionRefused, match="needs a second person"):  # the last changer
        lifecycle.approve(tool, author)
    lifecycle.disable(tool, reviewer)
    with pytest.raises(lifecycle.TransitionRefused, match="must be approved"):  # disabled, changed: no shortcut
        lifecycle.publish(tool, reviewer)
    change = AuditEntry.objects.filter(action="tool.change", object_id=tool.pk).order_by("id").last()
    assert change.payload == {"tool": "weather", "kind": "http", "status": "draft", "fields": ["url"],
                              "needs_approval": True}  # fmt: skip


def test_a_tool_reaches_only_the_tiers_and_tenants_it_is_granted_to(weather, world):
    tool, author = weather
    lifecycle.approve(tool, staff("reviewer", approver=True))
    lifecycle.publish(tool, author)
    assert "weather" not in granted(world.acme)
    tool.tenants.add(world.globex)
    assert "weather" in granted(world.globex)
    assert "weather" not in granted(world.acme)
    tool.tenants.clear()
    tool.tiers.add(world.acme.tier)
    assert granted(world.acme) == ["calculator", "current_time", "search_documents", "weather"]
    assert granted(world.globex) == ["calculator", "current_time", "search_documents"]
    Tool.objects.filter(pk=tool.pk).update(status=ToolStatus.DISABLED)
    assert "weather" not in granted(world.acme)


def test_built_ins_ship_live_for_every_tier_and_staff_can_disable_one(world):
    builtins = Tool.objects.filter(kind=ToolKind.BUILTIN).order_by("name")
    assert [(tool.name, tool.status, tool.all_tiers) for tool in builtins] == [
        ("calculator", "live", True), ("current_time", "live", True), ("search_documents", "live", True)
    ]  # fmt: skip
    calculator = builtins.get(name="calculator")
    lifecycle.disable(calculator, staff("operator"))
    assert granted(world.globex) == ["current_time", "search_documents"]
    lifecycle.publish(Tool.objects.get(name="calculator"), staff("operator2"))  # a built-in ships approved
    assert "calculator" in granted(world.globex)


def test_no_one_who_changed_what_a_tool_does_since_its_approval_may_approve_it(weather):
    tool, _ = weather
    first, second = staff("first", approver=True), staff("second", approver=True)
    lifecycle.approve(tool, first)
    tool.url = "https://elsewhere.example.com/weather"
    lifecycle.changed(tool, second, ["url"])  # second changes what it does
    tool.timeout_seconds = 2.0
    lifecycle.changed(tool, first, ["timeout_seconds"])  # then first touches something else
    with pytest.raises(lifecycle.TransitionRefused, match="needs a second person"):
        lifecycle.approve(tool, second)  # no longer the last to change it, still not a second person
    with pytest.raises(lifecycle.TransitionRefused, match="needs a second person"):
        lifecycle.approve(tool, first)  # the last to change it
    lifecycle.approve(tool, staff("third", approver=True))
    assert Tool.objects.get(pk=tool.pk).editors == []


def test_a_changed_grant_sends_a_built_in_back_for_approval(world):
    calculator = Tool.objects.get(name="calculator")
    assert calculator.approved_at is not None  # shipped approved
    operator = staff("operator", approver=True)
    calculator.all_tiers = False
    lifecycle.changed(calculator, operator, ["all_tiers"])
    lifecycle.disable(calculator, operator)
    with pytest.raises(lifecycle.TransitionRefused, match="must be approved"):
        lifecycle.publish(calculator, operator)  # no way round the review through disabled
    lifecycle.approve(calculator, staff("reviewer", approver=True))  # changed while disabled: reviewed as a draft
    lifecycle.publish(calculator, operator)
    assert Tool.objects.get(name="calculator").status == ToolStatus.LIVE
