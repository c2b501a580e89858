"""Tools and agents against a live server, the mock scripting the model's tool calls: runs that
call tools and answer, invalid and denied calls, timeouts, the step and budget limits, cancel
mid-tool, SSRF refusals, an MCP server's tools imported and called, Catalyst's own /mcp through
the official `mcp` SDK, and the audit trail with no argument values."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from decimal import Decimal

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from apps.audit.models import AuditEntry
from apps.metering.models import UsageRecord
from apps.tenancy import services
from apps.tenancy.models import Tenant
from apps.tools import lifecycle, mcp_client
from apps.tools.models import AllowedDestination, McpServer, Tool, ToolKind, ToolStatus
from catalyst.testing import tool_servers
from catalyst.testing.live import stop

pytestmark = pytest.mark.django_db
CITY = {"type": "object", "properties": {"city": {"type": "string", "minLength": 2}}, "required": ["city"],
        "additionalProperties": False}  # fmt: skip
EMPTY = {"type": "object", "properties": {}}


def call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def script(world, *steps: list[dict] | str | None) -> None:
    """The model's replies, in order: a list of calls, a text, or None for the mock's default answer
    (quoting the last tool result; with tools offered and none called yet, a call to the first)."""
    world.mock.script(
        "gpt-mock", [{"text": step} if isinstance(step, str) else {"calls": step} if step else {} for step in steps]
    )


def generate(world, key: str | None = None, **body) -> httpx.Response:
    payload = {"model": "gpt-mock", "prompt": "What is the weather in Rome, and 2 + 3 * 4?", **body}
    headers = {"Authorization": f"Bearer {key or world.key}"}
    return httpx.post(world.base_url + "/generate", json=payload, headers=headers, timeout=30)


def tool_results(world, request: int) -> list[str]:
    """The tool messages the model was sent in its `request`-th call (from 0)."""
    messages = world.mock.requests("gpt-mock")[request]["body"]["messages"]
    return [message["content"] for message in messages if message["role"] == "tool"]


def tools_changed() -> None:
    """What staff changes do: bump the registry's epoch; then wait until the server has noticed."""
    from apps.tools.registry import tools_changed as bump

    bump()
    time.sleep(0.6)  # EPOCH_CHECK_SECONDS, and a little


def _tool(name: str, url: str, **fields) -> Tool:
    defaults = {"description": f"The {name} tool.", "input_schema": CITY, "kind": ToolKind.HTTP, "url": url,
                "status": ToolStatus.LIVE}  # fmt: skip
    return Tool.objects.create(name=name, **{**defaults, **fields})


@pytest.fixture(scope="module")
def tools(live, django_db_blocker):
    """An HTTP tool server, allow-listed on its port, and tools on it granted to the live tenant."""
    server = tool_servers.start("http")
    with django_db_blocker.unblock():
        AllowedDestination.objects.create(network="127.0.0.1", port=server.port, note="the test's tool server")
        granted = [
            _tool("weather", server.url + "/weather", secret="whsec_test_weather"),
            _tool("hang", server.url + "/hang", input_schema=EMPTY, timeout_seconds=0.5),
            _tool("slow", server.url + "/hang", input_schema=EMPTY, timeout_seconds=30),
            _tool("broken", server.url + "/fail", input_schema=EMPTY),
            _tool("injected", server.url + "/inject", input_schema=EMPTY),
            _tool("loopback", f"http://127.0.0.1:{server.port + 1}/weather"),  # another port: not allow-listed
            _tool("metadata", "http://169.254.169.254/latest/meta-data/", input_schema=EMPTY),
            _tool("pending", server.url + "/weather", status=ToolStatus.DRAFT),
            _tool("big", server.url + "/big", input_schema=EMPTY, max_response_bytes=4096),
            _tool("priced", server.url + "/weather", cost_usd=Decimal("0.25")),
            _tool("dear", server.url + "/weather", cost_usd=Decimal("5")),
        ]
        for tool in granted:
            tool.tenants.add(live.tenant)
        other = Tenant.objects.get(slug="live-other")
        _tool("private", server.url + "/weather").tenants.add(other)
        tools_changed()
    yield server
    stop(server.process)
    with django_db_blocker.unblock():
        Tool.objects.exclude(kind=ToolKind.BUILTIN).delete()
        AllowedDestination.objects.all().delete()
        tools_changed()


@pytest.fixture
def fresh_tools(fresh, tools):
    tools.reset()
    return fresh


def _entries(request_id: str, action: str, within: float = 10.0) -> list[AuditEntry]:
    deadline = time.monotonic() + within
    while True:
        found = list(AuditEntry.objects.filter(request_id=request_id, action=action).order_by("id"))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _usage(prefix: str, count: int, within: float = 10.0) -> list[UsageRecord]:
    deadline = time.monotonic() + within
    while True:
        found = list(UsageRecord.objects.filter(request_id__startswith=prefix).order_by("request_id"))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_an_agent_calls_two_tools_and_answers_with_its_steps(fresh_tools, tools):
    script(fresh_tools, [call("weather", city="Rome")], [call("calculator", expression="2 + 3 * 4")], None)
    response = generate(fresh_tools, pipeline="agent", tools=["weather", "calculator"])

    body = response.json()
    assert response.status_code == 200, body
    assert (body["pipeline_used"], body["finish_reason"]) == ("agent", "stop")
    assert [(step["tool"], step["outcome"]) for step in body["steps"]] == [("weather", "ok"), ("calculator", "ok")]
    assert body["steps"][0]["arguments_digest"].startswith("sha256:")
    assert body["content"].startswith('Tool result: {"expression": "2 + 3 * 4", "value": 14}')
    sent = fresh_tools.mock.requests("gpt-mock")
    assert len(sent) == 3
    assert [tool["function"]["name"] for tool in sent[0]["body"]["tools"]] == ["weather", "calculator"]
    results = [message for message in sent[2]["body"]["messages"] if message["role"] == "tool"]
    assert [json.loads(message["content"]) for message in results] == [
        {"city": "Rome", "forecast": "sunny", "celsius": 21}, {"expression": "2 + 3 * 4", "value": 14}
    ]  # fmt: skip
    (received,) = tools.records()
    assert received["body"] == '{"city":"Rome"}'
    stamp, mac = (part.split("=", 1)[1] for part in received["headers"]["X-Catalyst-Signature"].split(","))
    expected = hmac.new(b"whsec_test_weather", stamp.encode() + b"." + received["body"].encode(), hashlib.sha256)
    assert hmac.compare_digest(mac, expected.hexdigest())
    assert received["headers"]["X-Catalyst-Tenant"] == "live"
    request_id = body["request_id"]
    steps = _usage(request_id + ":step-", 3)
    assert [record.request_id[len(request_id) :] for record in steps] == [":step-1", ":step-2", ":step-3"]
    assert body["tokens_in"] == sum(record.tokens_in for record in steps)
    assert Decimal(body["cost_usd"]) == sum(record.cost_usd for record in steps)


def test_every_call_is_audited_without_argument_values_when_the_tenant_keeps_no_prompts(fresh_tools):
    script(fresh_tools, [call("weather", city="Secretville")], None)
    body = generate(fresh_tools, pipeline="agent", tools=["weather"]).json()

    (entry,) = _entries(body["request_id"], "tool.call")
    digest = body["steps"][0]["arguments_digest"]
    timing = {key: entry.payload[key] for key in ("duration_ms", "call_id")}
    assert entry.payload == {"tool": "weather", "outcome": "ok", "arguments_digest": digest, "step": 1, **timing}
    (run,) = _entries(body["request_id"], "generation.generate")
    assert run.payload["steps"] == body["steps"]
    everything = json.dumps([entry.payload, run.payload])
    assert "Secretville" not in everything


def test_a_priced_tool_is_charged_to_the_tenant_per_call(fresh_tools):
    script(fresh_tools, [call("priced", city="Rome"), call("priced", town="Rome")], None)
    body = generate(fresh_tools, pipeline="agent", tools=["priced"]).json()

    assert [step["outcome"] for step in body["steps"]] == ["ok", "invalid_arguments"]  # only the executed call costs
    (charge,) = _usage(body["request_id"] + ":tool-", 1)
    assert (charge.request_id, charge.endpoint, charge.model, charge.cost_usd, charge.outcome) == (
        body["request_id"] + ":tool-1", "tool", "priced", Decimal("0.25"), "ok")  # fmt: skip
    steps = _usage(body["request_id"] + ":step-", 2)
    assert Decimal(body["cost_usd"]) == Decimal("0.25") + sum(record.cost_usd for record in steps)


@pytest.fixture(scope="module")
def keeper(live, django_db_blocker, tools):
    """A tenant that keeps prompts (its audit entries hold the text, and so the arguments)."""
    with django_db_blocker.unblock():
        onboarding = services.tenant_onboard(slug="keeper", name="Keeper", tier="enterprise")
        onboarding.tenant.keep_prompts = True
        onboarding.tenant.save()
        services.tenant_saved(tenant=onboarding.tenant)
    yield onboarding.issued.plaintext
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug="keeper").delete()


def test_a_tenant_that_keeps_prompts_has_the_arguments_in_its_audit_entries(fresh_tools, keeper):
    script(fresh_tools, [call("calculator", expression="7 * 6")], None)
    body = generate(fresh_tools, keeper, pipeline="agent", tools=["calculator"]).json()

    (entry,) = _entries(body["request_id"], "tool.call")
    assert (entry.tenant_slug, entry.payload["arguments"], entry.payload["outcome"]) == (
        "keeper", {"expression": "7 * 6"}, "ok")  # fmt: skip


def test_invalid_arguments_are_refused_before_execution_and_reported_to_the_model(fresh_tools, tools):
    script(fresh_tools, [call("weather", town="Rome")], [call("weather", city="Rome")], None)
    body = generate(fresh_tools, pipeline="agent", tools=["weather"]).json()

    assert [step["outcome"] for step in body["steps"]] == ["invalid_arguments", "ok"]
    second = fresh_tools.mock.requests("gpt-mock")[1]["body"]["messages"]
    refusal = "Invalid arguments for weather: at the top level: 'city' is a required property."
    assert second[-1] == {"role": "tool", "tool_call_id": second[-2]["tool_calls"][0]["id"], "content": refusal}
    assert [json.loads(record["body"]) for record in tools.records()] == [{"city": "Rome"}]  # only the valid call ran


def test_a_tool_not_granted_to_the_tenant_is_refused(fresh_tools, tools):
    asked = generate(fresh_tools, pipeline="agent", tools=["weather", "private"])
    assert (asked.status_code, asked.json()["error"]["code"], asked.json()["error"]["param"]) == (
        400, "tool_not_available", "tools")  # fmt: skip
    script(fresh_tools, [call("private", city="Rome")], None)  # the model names it anyway
    body = generate(fresh_tools, pipeline="agent", tools=["weather"]).json()
    assert [step["outcome"] for step in body["steps"]] == ["denied"]
    assert tools.records() == []
    theirs = generate(fresh_tools, fresh_tools.other_key, pipeline="agent", tools=["weather"])
    assert theirs.json()["error"]["code"] == "tool_not_available"  # live's tool, not granted to live-other


def test_a_tool_pending_approval_cannot_be_called(fresh_tools, tools):
    asked = generate(fresh_tools, pipeline="agent", tools=["pending"])
    assert (asked.status_code, asked.json()["error"]["code"]) == (400, "tool_not_available")
    assert fresh_tools.mock.requests() == []
    listed = httpx.get(fresh_tools.base_url + "/tools", headers={"Authorization": f"Bearer {fresh_tools.key}"})
    names = [tool["name"] for tool in listed.json()["data"]]
    assert names == ["big", "broken", "calculator", "current_time", "dear", "hang", "injected", "loopback",
                     "metadata", "priced", "search_documents", "slow", "weather"]  # fmt: skip
    assert listed.json()["data"][2] == {"name": "calculator", "kind": "builtin", "description": Tool.objects.get(
        name="calculator").description, "input_schema": Tool.objects.get(name="calculator").input_schema}  # fmt: skip


def test_a_hanging_tool_times_out_and_the_run_goes_on(fresh_tools, tools):
    script(fresh_tools, [call("hang")], [call("broken")], None)
    started = time.monotonic()
    body = generate(fresh_tools, pipeline="agent", tools=["hang", "broken"]).json()

    assert time.monotonic() - started < 5
    assert [step["outcome"] for step in body["steps"]] == ["timeout", "failed"]
    assert body["finish_reason"] == "stop"
    assert tool_results(fresh_tools, 2) == [
        "hang did not answer within 0.5 s.", "broken failed: the tool answered HTTP 500."]  # fmt: skip
    from .conftest import METRICS_TOKEN

    scraped = httpx.get(fresh_tools.server.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert 'catalyst_tool_calls_total{outcome="timeout",tenant="live",tool="hang"}' in scraped
    assert 'catalyst_tool_calls_total{outcome="failed",tenant="live",tool="broken"}' in scraped


def test_the_step_limit_ends_a_run_cleanly(fresh_tools):
    script(fresh_tools, *([[call("calculator", expression="1 + 1")]] * 5))
    body = generate(fresh_tools, pipeline="agent", tools=["calculator"], max_steps=2).json()

    assert body["finish_reason"] == "limit"
    assert body["content"] == "[The agent stopped before a final answer: the run reached its limit of 2 model calls.]"
    assert len(body["steps"]) == 2
    assert len(fresh_tools.mock.requests("gpt-mock")) == 2
    (run,) = _entries(body["request_id"], "generation.generate")
    assert (run.payload["finish_reason"], run.payload["limit"], len(run.payload["steps"])) == ("limit", "steps", 2)


@pytest.fixture(scope="module")
def tiny(live, django_db_blocker, tools):
    """A tenant whose budget pays for one model call of the run, not two."""
    with django_db_blocker.unblock():
        onboarding = services.tenant_onboard(slug="tiny", name="Tiny", tier="enterprise",
                                             monthly_budget_usd=Decimal("0.02"))  # fmt: skip
        for name in ("weather", "dear"):
            Tool.objects.get(name=name).tenants.add(onboarding.tenant)
        tools_changed()
    yield onboarding.issued.plaintext
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug="tiny").delete()


def test_a_tiny_budget_ends_a_run_cleanly(fresh_tools, tiny):
    fresh_tools.mock.script("pricey-mock", [{"calls": [call("weather", city="Rome")]}] * 4)
    response = generate(fresh_tools, tiny, model="pricey-mock", pipeline="agent", tools=["weather"], max_tokens=20,
                        prompt="Weather in Rome? " + "Please be thorough. " * 10)  # fmt: skip

    body = response.json()
    assert response.status_code == 200, body
    assert body["finish_reason"] == "limit"
    assert body["content"].endswith("the run reached the tenant's budget or rate limit.]")
    paid, refused = _usage(body["request_id"] + ":step-", 2)  # one model call was paid for, the second refused
    assert (paid.request_id, paid.outcome, refused.request_id, refused.outcome, refused.cost_usd) == (
        body["request_id"] + ":step-1", "ok", body["request_id"] + ":step-2", "budget_exhausted", 0)  # fmt: skip
    assert 0 < paid.cost_usd <= Decimal("0.02")
    assert len(fresh_tools.mock.requests("pricey-mock")) == 1


def test_a_priced_tool_the_budget_cannot_pay_for_is_not_called(fresh_tools, tools, tiny):
    script(fresh_tools, [call("dear", city="Rome")], None)
    body = generate(fresh_tools, tiny, pipeline="agent", tools=["dear"]).json()

    assert ([step["outcome"] for step in body["steps"]], body["finish_reason"]) == (["over_budget"], "limit")
    assert body["content"].endswith("the run reached the tenant's budget or rate limit.]")
    assert tools.records() == []  # held first, refused: never called
    assert len(fresh_tools.mock.requests("gpt-mock")) == 1
    assert not UsageRecord.objects.filter(request_id__startswith=body["request_id"] + ":tool-").exists()


def test_cancel_stops_a_run_and_the_tool_call_in_flight(fresh_tools, tools):
    script(fresh_tools, [call("slow")], None)
    body = {"model": "gpt-mock", "prompt": "Wait for it", "pipeline": "agent", "tools": ["slow"], "stream": True}
    with httpx.stream("POST", fresh_tools.base_url + "/generate", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {fresh_tools.key}"}) as streamed:  # fmt: skip
        request_id = streamed.headers["X-Request-Id"]
        lines = streamed.iter_lines()  # held, not closed: closing it would close the connection
        for line in lines:
            if line.startswith("data:") and json.loads(line[5:])["type"] == "tool_call":
                break
        deadline = time.monotonic() + 5
        while not tools.records() and time.monotonic() < deadline:
            time.sleep(0.02)
    deadline = time.monotonic() + 5  # the client left: the call in flight is dropped
    while not tools.records()[0]["disconnected"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tools.records()[0]["disconnected"] is True
    time.sleep(0.3)
    assert len(fresh_tools.mock.requests("gpt-mock")) == 1  # no model call after the cancel
    (run,) = _entries(request_id, "generation.generate")
    assert run.payload["outcome"] == "cancelled"


def test_a_tool_pointed_at_a_private_address_is_refused_before_connecting(fresh_tools, tools):
    script(fresh_tools, [call("loopback", city="Rome"), call("metadata")], None)
    body = generate(fresh_tools, pipeline="agent", tools=["loopback", "metadata"]).json()

    assert [step["outcome"] for step in body["steps"]] == ["failed", "failed"]
    results = [
        m["content"] for m in fresh_tools.mock.requests("gpt-mock")[1]["body"]["messages"] if m["role"] == "tool"
    ]
    assert results == [
        "loopback failed: the tool's host resolves to 127.0.0.1, a private, loopback or link-local address that is "
        "not allow-listed.",
        "metadata failed: the tool's host resolves to 169.254.169.254, a private, loopback or link-local address "
        "that is not allow-listed.",
    ]
    assert tools.records() == []


def test_a_tool_result_that_reads_like_an_injection_is_withheld(fresh_tools):
    script(fresh_tools, [call("injected")], None)
    body = generate(fresh_tools, pipeline="agent", tools=["injected"]).json()

    assert [step["outcome"] for step in body["steps"]] == ["withheld"]
    assert tool_results(fresh_tools, 1) == [
        "The result of injected was withheld: the gateway's injection check flagged it."
    ]
    assert "ignore all previous instructions" not in json.dumps(fresh_tools.mock.requests("gpt-mock")).lower()


def test_a_streamed_run_sends_its_steps_as_events(fresh_tools):
    script(fresh_tools, [call("calculator", expression="6 * 7")], None)
    body = {"model": "gpt-mock", "prompt": "6 * 7?", "pipeline": "agent", "tools": ["calculator"], "stream": True}
    with httpx.stream("POST", fresh_tools.base_url + "/generate", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {fresh_tools.key}"}) as streamed:  # fmt: skip
        events = [json.loads(line[5:]) for line in streamed.iter_lines() if line.startswith("data:")]

    kinds = [event["type"] for event in events]
    assert kinds[:2] == ["tool_call", "tool_result"]
    assert set(kinds[2:-1]) == {"token"} and kinds[-1] == "done"
    assert (events[0]["tool"], events[1]["outcome"], events[0]["call_id"]) == ("calculator", "ok", events[1]["call_id"])
    assert events[-1]["steps"] == [{"tool": "calculator", "arguments_digest": events[0]["arguments_digest"],
                                    "outcome": "ok", "duration_ms": events[1]["duration_ms"]}]  # fmt: skip
    assert "".join(event["content"] for event in events if event["type"] == "token") == events[-1]["content"]


def test_a_chat_message_naming_tools_streams_tool_frames(fresh_tools, live):
    from apps.tenancy.tokens import issue_token
    from catalyst.testing.chat import ChatClient

    owner = get_user_model().objects.get(username="live-owner")
    script(fresh_tools, [call("current_time", timezone="Asia/Tokyo")], None)

    async def ask():
        chat = await ChatClient.open(live.server.url, issue_token(user_id=owner.pk, tenant_slug="live"))
        answer = await chat.until(await chat.message("What time is it in Tokyo?", model="gpt-mock",
                                                     tools=["current_time"]))  # fmt: skip
        await chat.close()
        return answer

    answer = asyncio.run(ask())
    kinds = [frame["type"] for frame in answer.frames if frame["type"] != "typing"]
    assert kinds[:2] == ["tool_call", "tool_result"] and kinds[-1] == "done"
    assert answer.end["steps"][0]["tool"] == "current_time" and answer.end["finish_reason"] == "stop"
    assert '"timezone": "Asia/Tokyo"' in answer.text


def staff(username: str, approver: bool = False):
    user = get_user_model().objects.create_user(username, f"{username}@catalyst.test", "pw-123456789", is_staff=True)
    if approver:
        user.user_permissions.add(Permission.objects.get(codename="approve_tool"))
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture(scope="module")
def mcp_tools(live, django_db_blocker, tools):
    """An MCP server registered, its tools imported as drafts, granted, approved by a second person."""
    server = tool_servers.start("mcp")
    with django_db_blocker.unblock():
        AllowedDestination.objects.create(network="127.0.0.1", port=server.port)
        author, reviewer = staff("mcp-author"), staff("mcp-reviewer", approver=True)
        registered = McpServer.objects.create(name="testmcp", url=server.url + "/mcp")
        imported = mcp_client.import_tools(registered, author)
        drafts = list(Tool.objects.filter(mcp_server=registered).order_by("name"))
        states = [(tool.name, tool.status, tool.remote_name) for tool in drafts]
        for tool in drafts:
            tool.tenants.add(live.tenant)
            lifecycle.changed(tool, author, ["tenants"])
            with pytest.raises(lifecycle.TransitionRefused):
                lifecycle.approve(tool, author)
            lifecycle.approve(tool, reviewer)
            lifecycle.publish(tool, reviewer)
        tools_changed()
    yield imported, states
    stop(server.process)
    with django_db_blocker.unblock():
        McpServer.objects.all().delete()
        get_user_model().objects.filter(username__startswith="mcp-").delete()
        tools_changed()


def test_an_mcp_connection_goes_to_the_address_that_was_checked_not_to_a_second_answer():
    """DNS rebinding: the name answers 127.0.0.1 (allow-listed) when it is checked, then 127.0.0.2
    (where nothing listens; in an attack, the metadata service). The connection must go to the
    checked address, with the name as Host, and not look the name up again."""
    server = tool_servers.start("mcp")
    allowed = [(ipaddress.ip_network("127.0.0.1/32"), server.port)]
    asked: list[str] = []

    async def listed() -> list[dict]:
        loop = asyncio.get_running_loop()
        real = loop.getaddrinfo

        async def rebinding(host, port, *args, **kwargs):
            if host != "rebinding.invalid":
                return await real(host, port, *args, **kwargs)
            asked.append(host)
            address = "127.0.0.1" if len(asked) == 1 else "127.0.0.2"
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

        loop.getaddrinfo = rebinding
        return await mcp_client.listed(f"http://rebinding.invalid:{server.port}/mcp", "", allowed)

    try:
        tools = asyncio.run(listed())
    finally:
        stop(server.process)

    assert [tool["name"] for tool in tools] == ["add", "shout"]
    assert asked == ["rebinding.invalid"]  # looked up once, for the check


def test_an_mcp_servers_tools_are_imported_approved_and_called(fresh_tools, mcp_tools):
    imported, states = mcp_tools
    assert imported == (2, 0)
    assert states == [("testmcp_add", "draft", "add"), ("testmcp_shout", "draft", "shout")]
    script(fresh_tools, [call("testmcp_add", a=2, b=40), call("testmcp_shout", text="hello")], None)
    body = generate(fresh_tools, pipeline="agent", tools=["testmcp_add", "testmcp_shout"]).json()

    assert [(step["tool"], step["outcome"]) for step in body["steps"]] == [
        ("testmcp_add", "ok"),
        ("testmcp_shout", "ok"),
    ]
    results = [
        m["content"] for m in fresh_tools.mock.requests("gpt-mock")[1]["body"]["messages"] if m["role"] == "tool"
    ]
    assert results == ['{"result": 42}', '{"result": "HELLO!"}']


def test_the_mcp_sdk_lists_and_calls_tools_through_catalyst(fresh_tools, live):
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    def client(key: str):
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
        return Client(streamable_http_client(live.server.url + "/mcp", http_client=http), cache=None)

    async def use():
        async with client(live.key) as mine:
            listed = [tool.name for tool in (await mine.list_tools()).tools]
            added = await mine.call_tool("calculator", {"expression": "2 ** 10"})
            invalid = await mine.call_tool("calculator", {"expr": "1"})
            private = await mine.call_tool("private", {"city": "Rome"})
        async with client(live.other_key) as theirs:
            their_list = [tool.name for tool in (await theirs.list_tools()).tools]
        return listed, added, invalid, private, their_list

    listed, added, invalid, private, their_list = asyncio.run(use())
    assert {"calculator", "current_time", "search_documents", "weather"} <= set(listed)
    assert "private" not in listed and "pending" not in listed
    assert (added.is_error, added.content[0].text) == (False, '{"expression": "2 ** 10", "value": 1024}')
    assert invalid.is_error and invalid.content[0].text.startswith("Invalid arguments for calculator")
    assert private.is_error and "is not available" in private.content[0].text
    assert "private" in their_list and "weather" not in their_list
    refused = httpx.post(live.server.url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "missing_credentials")
    deadline = time.monotonic() + 10
    calls = AuditEntry.objects.filter(action="tool.call", payload__via="mcp", tenant_id=live.tenant.pk)
    while calls.count() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(entry.payload["outcome"] for entry in calls) == ["denied", "invalid_arguments", "ok"]
    assert all("arguments" not in entry.payload for entry in calls)


@pytest.fixture(scope="module")
def maths(live, django_db_blocker, tools):
    """The live tenant's "maths" use case: an uncached use case whose agent policy names the calculator."""
    from apps.cache.models import CacheMode, CachePolicy
    from apps.catalogue.snapshot import catalogue_changed
    from apps.tools.models import AgentPolicy
    from apps.tools.registry import policies_changed

    with django_db_blocker.unblock():
        cache = CachePolicy.objects.create(tenant=live.tenant, use_case="maths", mode=CacheMode.OFF)
        policy = AgentPolicy.objects.create(tenant=live.tenant, use_case="maths")
        policy.tools.add(Tool.objects.get(name="calculator"))
        policies_changed()
        catalogue_changed()
    time.sleep(0.6)  # the server notices the changes within EPOCH_CHECK_SECONDS
    yield
    with django_db_blocker.unblock():
        policy.delete()
        cache.delete()
        policies_changed()
        catalogue_changed()


def test_auto_offers_the_tools_of_the_tenants_policy_and_the_model_decides(fresh_tools, live, maths):
    maths = {"Authorization": f"Bearer {live.key}", "X-Catalyst-Use-Case": "maths"}
    script(fresh_tools, [call("calculator", expression="12 * 12")], None, "Hello to you too.")
    url = live.base_url + "/generate"
    needed = httpx.post(url, json={"model": "gpt-mock", "prompt": "12 * 12?"}, headers=maths, timeout=30).json()
    direct = httpx.post(url, json={"model": "gpt-mock", "prompt": "Hello"}, headers=maths, timeout=30).json()
    other = httpx.post(url, json={"model": "gpt-mock", "prompt": "12 * 12?"},
                       headers={"Authorization": f"Bearer {live.key}"}, timeout=30).json()  # fmt: skip

    assert (needed["pipeline_used"], [step["tool"] for step in needed["steps"]]) == ("agent", ["calculator"])
    assert (direct["pipeline_used"], "steps" in direct, direct["content"]) == ("direct", False, "Hello to you too.")
    assert (other["pipeline_used"], "steps" in other) == ("direct", False)  # another use case: nothing offered
    sent = fresh_tools.mock.requests("gpt-mock")
    assert [len(request["body"].get("tools") or []) for request in sent] == [1, 1, 1, 0]


def test_client_side_tools_in_chat_completions_pass_through_unexecuted(fresh_tools):
    import openai

    sdk = openai.OpenAI(base_url=fresh_tools.base_url, api_key=fresh_tools.key, max_retries=0)
    script(fresh_tools, [call("calculator", expression="1 + 1")])
    completion = sdk.chat.completions.create(
        model="gpt-mock", messages=[{"role": "user", "content": "1 + 1?"}],
        tools=[{"type": "function", "function": {"name": "calculator", "parameters": {"type": "object"}}}],
    )  # fmt: skip
    (returned,) = completion.choices[0].message.tool_calls
    assert (returned.function.name, returned.function.arguments) == ("calculator", '{"expression":"1 + 1"}')
    assert completion.choices[0].finish_reason == "tool_calls"
    assert len(fresh_tools.mock.requests("gpt-mock")) == 1  # nothing executed, nothing fed back


def test_the_deadline_ends_a_run_cleanly_and_an_oversized_result_is_refused(fresh_tools):
    script(fresh_tools, [call("big")], [call("slow")], None)
    started = time.monotonic()
    body = generate(fresh_tools, pipeline="agent", tools=["big", "slow"], max_seconds=1.5).json()
    elapsed = time.monotonic() - started

    assert elapsed < 4
    assert [step["outcome"] for step in body["steps"]] == ["invalid_output", "timeout"]
    assert body["finish_reason"] == "limit"
    assert body["content"] == "[The agent stopped before a final answer: the run reached its deadline of 1.5 seconds.]"
    assert tool_results(fresh_tools, 1) == ["big failed: the answer is larger than 4096 bytes."]
    assert len(fresh_tools.mock.requests("gpt-mock")) == 2
