"""The tool registry in the admin: a tool added by one staff member waits as a draft, its author
cannot approve it, a second person with the approve permission can, a change to its URL sends it
back to draft, staff without the permission are not offered the action, and a bad schema or an
MCP server at a private address is refused with a reason."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.tools.models import McpServer, Tool, ToolStatus

from .conftest import staff_signed_in as staff

pytestmark = pytest.mark.django_db
EDITING = ("tools.add_tool", "tools.change_tool", "tools.view_tool")
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def form(**fields) -> dict:
    return {"name": "weather", "kind": "http", "description": "The weather in a city.",
            "input_schema": json.dumps(SCHEMA), "url": "https://tools.example.com/weather", "timeout_seconds": "5",
            "max_response_bytes": "65536", "cost_usd": "0", **fields}  # fmt: skip


def act(client: Client, action: str, tool: Tool):
    return client.post(reverse("admin:tools_tool_changelist"), {"action": action, "_selected_action": [tool.pk]},
                       follow=True)  # fmt: skip


def test_a_tool_needs_a_second_person_to_approve_it(world):
    author = staff("author", *EDITING, "tools.approve_tool")
    reviewer = staff("reviewer", *EDITING, "tools.approve_tool")

    assert author.post(reverse("admin:tools_tool_add"), form()).status_code == 302
    tool = Tool.objects.get(name="weather")
    assert (tool.status, tool.created_by.username) == (ToolStatus.DRAFT, "author")
    refused = act(author, "approve", tool)
    assert "needs a second person" in refused.content.decode()
    assert Tool.objects.get(pk=tool.pk).status == ToolStatus.DRAFT
    act(reviewer, "approve", tool)
    act(author, "publish", tool)
    tool.refresh_from_db()
    assert (tool.status, tool.approved_by.username) == (ToolStatus.LIVE, "reviewer")

    changed = reviewer.post(reverse("admin:tools_tool_change", args=[tool.pk]),
                            form(url="https://elsewhere.example.com/weather"))  # fmt: skip
    assert changed.status_code == 302
    tool.refresh_from_db()
    assert (tool.status, tool.approved_by, tool.changed_by.username) == (ToolStatus.DRAFT, None, "reviewer")
    assert "needs a second person" in act(reviewer, "approve", tool).content.decode()  # the last changer
    actions = list(AuditEntry.objects.filter(object_type="tools.Tool", object_id=tool.pk, action__startswith="tool.")
                   .order_by("id").values_list("action", "actor"))  # fmt: skip
    assert actions == [("tool.create", "author"), ("tool.approve", "reviewer"), ("tool.publish", "author"),
                       ("tool.change", "reviewer")]  # fmt: skip


def test_staff_without_the_approve_permission_are_not_offered_the_action(world):
    editor = staff("editor", *EDITING)
    editor.post(reverse("admin:tools_tool_add"), form())
    page = editor.get(reverse("admin:tools_tool_changelist")).content.decode()
    assert 'value="publish"' in page and 'value="approve"' not in page
    act(editor, "approve", Tool.objects.get(name="weather"))
    assert Tool.objects.get(name="weather").status == ToolStatus.DRAFT


def test_a_bad_schema_is_refused_with_the_reason(world):
    author = staff("author", *EDITING)
    response = author.post(reverse("admin:tools_tool_add"), form(input_schema=json.dumps({"type": "string"})))
    assert response.status_code == 200
    assert "A tool&#x27;s input is an object: the schema&#x27;s type must be &#x27;object&#x27;." in (
        response.content.decode()
    )
    no_url = author.post(reverse("admin:tools_tool_add"), form(url=""))
    assert "An HTTP tool needs the URL it is called at." in no_url.content.decode()
    assert not Tool.objects.filter(name="weather").exists()


def test_importing_from_an_mcp_server_at_a_private_address_is_refused(world):
    operator = staff("operator", "tools.change_mcpserver", "tools.view_mcpserver")
    server = McpServer.objects.create(name="internal", url="http://127.0.0.1:9/mcp")
    response = operator.post(reverse("admin:tools_mcpserver_changelist"),
                             {"action": "import_tools", "_selected_action": [server.pk]}, follow=True)  # fmt: skip
    (message,) = [str(message) for message in response.context["messages"]]
    assert message == ("internal: the import failed: the tool's host resolves to 127.0.0.1, a private, loopback or "
                       "link-local address that is not allow-listed")  # fmt: skip
    server.refresh_from_db()
    assert server.last_error.startswith("the tool's host resolves to 127.0.0.1")
    assert not Tool.objects.filter(mcp_server=server).exists()


def test_moving_an_mcp_server_sends_its_tools_back_to_draft(world):
    operator = staff("operator", "tools.change_mcpserver", "tools.view_mcpserver")
    server = McpServer.objects.create(name="remote", url="https://tools.example.com/mcp")
    tool = Tool.objects.create(name="remote_add", kind="mcp", mcp_server=server, remote_name="add", description="Add.",
                               status=ToolStatus.LIVE)  # fmt: skip
    elsewhere = {"name": "remote", "url": "https://elsewhere.example.com/mcp", "bearer_token": ""}
    moved = operator.post(reverse("admin:tools_mcpserver_change", args=[server.pk]), elsewhere)
    assert moved.status_code == 302
    tool.refresh_from_db()
    assert (tool.status, tool.changed_by.username) == (ToolStatus.DRAFT, "operator")
    entry = AuditEntry.objects.filter(action="tool.change", object_id=tool.pk).get()
    assert entry.payload["fields"] == ["mcp_server"]
