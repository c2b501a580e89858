"""The agent stage (`pipeline: "agent"`, and chat messages that name tools): the model proposes
tool calls, each is checked (offered to this run, live and granted, arguments valid against its
schema), executed within its timeout, and its result fed back, until the model answers or a
limit ends the run: model calls (steps), tool calls, the wall-clock deadline, the tenant's budget.
A limit ends the answer with a sentence saying which, and finish reason `limit`; never a hang.

Each model call is a pipeline request of its own (`<request id>:step-N`): routed, guarded,
limited, held and settled, metered and audited like any other. The first is started before the
request answers, so a refusal (a guardrail, the budget, a rate limit) is the request's own HTTP
error. Tool results are untrusted: the tenant's injection rule checks each before the model reads
it, and a flagged one is withheld (the indirect check). A cancel, or the client leaving, stops the
loop and the tool call in flight (its connection is closed).

A request that names no tools passes through: the stage costs one attribute read."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from django.conf import settings

from apps.audit import trail
from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError
from apps.core.stage import Stage
from apps.observability import tracing
from apps.providers.types import Finish, TextDelta, ToolCallDelta, Usage, gather

from . import execute, invoke, registry
from .builtins import CallContext
from .execute import Outcome, ToolResult, ToolSpec

STEP_ENDPOINT_SUFFIX = "step"
# A model call these refuse ends the run at a limit (the budget or the rate), not in an error.
LIMIT_CODES = {ErrorCode.BUDGET_EXHAUSTED, ErrorCode.RATE_LIMITED, ErrorCode.TOO_MANY_STREAMS}


@dataclasses.dataclass(slots=True)
class ToolCallEvent:
    """A step event: a tool call about to run (`outcome` None) or ended; streamed as frames."""

    step: int
    call_id: str
    tool: str
    arguments_digest: str
    outcome: str | None = None
    duration_ms: float | None = None

    def frame(self) -> dict:
        if self.outcome is None:
            return {"type": "tool_call", "step": self.step, "call_id": self.call_id, "tool": self.tool,
                    "arguments_digest": self.arguments_digest}  # fmt: skip
        return {"type": "tool_result", "step": self.step, "call_id": self.call_id, "tool": self.tool,
                "outcome": self.outcome, "duration_ms": self.duration_ms}  # fmt: skip


@dataclasses.dataclass
class Agent:
    """What a run may use and what it did."""

    names: list[str]
    auto: bool = False  # `pipeline: "auto"`: the tools of the tenant's policy, offered; the model decides
    max_steps: int = 0  # 0: the setting
    max_tool_calls: int = 0
    max_seconds: float = 0.0
    tools: list[ToolSpec] = dataclasses.field(default_factory=list)
    steps: list[dict] = dataclasses.field(default_factory=list)
    calls: list[dict] = dataclasses.field(default_factory=list)  # for the audit trail: with the arguments
    finish_reason: str = ""
    limit: str = ""  # which limit ended the run: steps, tool_calls, time, budget

    @property
    def used_tools(self) -> bool:
        return bool(self.steps)


async def enter(request) -> None:
    agent: Agent | None = request.agent
    if agent is None:
        return
    if agent.auto:
        named = await registry.policy(request.principal.tenant_id, request.cache_controls.use_case)
        if named is None or not named[0]:
            request.agent = None  # no tools for this use case: a direct answer
            return
        agent.names, agent.max_steps = named[0], agent.max_steps or named[1]
        agent.tools = list((await registry.granted(request.principal, agent.names)).values())
        if not agent.tools:
            request.agent = None
            return
    else:
        agent.tools = await registry.resolve(request.principal, agent.names)
    agent.max_steps = min(agent.max_steps or settings.AGENT_MAX_STEPS, settings.AGENT_MAX_STEPS_CAP)
    agent.max_tool_calls = agent.max_tool_calls or settings.AGENT_MAX_TOOL_CALLS
    agent.max_seconds = agent.max_seconds or settings.AGENT_MAX_SECONDS
    rule = await invoke.injection_rule(request.principal)
    with tracing.stage("agent"):
        deadline = asyncio.get_running_loop().time() + agent.max_seconds
        first = _step(request, 1, list(request.chat.messages))
        await pipeline().start(first)  # a refusal here is the request's own error
    request.events = _run(request, first, deadline, rule)


def pipeline():
    from apps.gateway import pipeline as module  # the pipeline's stages include this one

    return module


def _step(request, number: int, messages: list[dict]):
    agent: Agent = request.agent
    chat = dataclasses.replace(
        request.chat, messages=messages, tools=[tool.offered() for tool in agent.tools], tool_choice="auto"
    )
    return pipeline().on_behalf(
        request.principal, request.request_id, request.endpoint, request.requested_model, chat,
        suffix=f"{STEP_ENDPOINT_SUFFIX}-{number}", stream=request.stream,
    )  # fmt: skip


class _Deadline(Exception):
    """The run's deadline passed during a model call."""


async def _within(deadline: float, awaitable):
    """`awaitable`, cut at the run's deadline (_Deadline); only the wait is timed, never the caller."""
    try:
        async with asyncio.timeout_at(deadline) as scope:
            return await awaitable
    except TimeoutError:
        if scope.expired():
            raise _Deadline from None
        raise


async def _run(request, first, deadline: float, rule) -> AsyncIterator[Any]:
    agent: Agent = request.agent
    loop = asyncio.get_running_loop()
    messages = list(request.chat.messages)
    offered = {tool.name: tool for tool in agent.tools}
    used, cost = Usage(0, 0), Decimal(0)
    context = CallContext(request.principal, request.request_id)
    step, inner, why = 1, first, ""
    try:
        while True:
            text: list[str] = []
            calls: dict[int, list[str]] = {}
            finish = "stop"
            try:
                if inner is None:
                    inner = _step(request, step, messages)
                    await _within(deadline, pipeline().start(inner))
                async with contextlib.aclosing(pipeline().events(inner)) as events:
                    while True:
                        try:
                            event = await _within(deadline, anext(events))
                        except StopAsyncIteration:
                            break
                        if isinstance(event, TextDelta):
                            text.append(event.text)
                            yield event  # outside the deadline: a slow client is not the model's time
                        elif isinstance(event, ToolCallDelta):
                            gather(calls, event)
                        elif isinstance(event, Finish):
                            finish = event.reason
                        elif isinstance(event, pipeline().StreamFailure):
                            raise event.error
            except _Deadline:
                why = "time"
            except ApiError as error:
                if error.code not in LIMIT_CODES:
                    raise
                why = "budget"
            finally:
                if inner is not None:
                    used, cost = _added(used, cost, inner)
                    request.model = inner.model or request.model
            if why:
                break
            if not calls:
                agent.finish_reason = finish
                break
            if inner.settled is not None:  # its lease and hold are free before the next call asks for them
                await asyncio.wait({inner.settled})
            ordered = [(call_id or f"call_{step}_{index}", name, raw) for index, (call_id, name, raw) in
                       sorted(calls.items())]  # fmt: skip
            messages.append({
                "role": "assistant", "content": "".join(text) or None,
                "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}
                               for call_id, name, raw in ordered],
            })  # fmt: skip
            for call_id, name, raw in ordered:
                if len(agent.steps) >= agent.max_tool_calls:
                    why = "tool_calls"
                    break
                arguments, problem = execute.parse_arguments(raw)
                started = ToolCallEvent(step, call_id, name, invoke.digest(arguments if problem is None else raw))
                yield started
                tool, charge_id = offered.get(name), f"{request.request_id[:100]}:tool-{len(agent.steps) + 1}"
                left = deadline - loop.time()
                result = await invoke.invoke(tool, name, arguments, problem, context, rule, charge_id, left)
                cost += result.charged
                if result.outcome == Outcome.OVER_BUDGET:
                    why = "budget"
                elif loop.time() >= deadline:
                    why = "time"
                _record(agent, started, result, arguments if problem is None else raw)
                yield dataclasses.replace(started, outcome=result.outcome, duration_ms=result.duration_ms)
                messages.append({"role": "tool", "tool_call_id": call_id, "content": result.content})
                if why:
                    break
            if why:
                break
            if step >= agent.max_steps:
                why = "steps"
                break
            step, inner = step + 1, None
        if why:
            agent.finish_reason, agent.limit = "limit", why
            yield TextDelta(("\n\n" if request.parts else "") + _limit_message(agent, why))
    finally:
        request.cost_usd = cost
        request.usage = used
    yield used
    yield Finish(agent.finish_reason or "stop")


def _limit_message(agent: Agent, why: str) -> str:
    reached = {
        "steps": f"its limit of {agent.max_steps} model calls",
        "tool_calls": f"its limit of {agent.max_tool_calls} tool calls",
        "time": f"its deadline of {agent.max_seconds:g} seconds",
        "budget": "the tenant's budget or rate limit",
    }[why]
    return f"[The agent stopped before a final answer: the run reached {reached}.]"


def _added(used: Usage, cost: Decimal, inner) -> tuple[Usage, Decimal]:
    step = inner.usage or Usage(0, 0)
    total = Usage(used.input_tokens + step.input_tokens, used.output_tokens + step.output_tokens,
                  used.cached_tokens + step.cached_tokens,
                  used.cache_write_tokens + step.cache_write_tokens)  # fmt: skip
    return total, cost + (inner.cost_usd or Decimal(0))


def _record(agent: Agent, started: ToolCallEvent, result: ToolResult, arguments: Any) -> None:
    step = invoke.step(started.tool, started.arguments_digest, result)
    agent.steps.append(step)
    agent.calls.append({**step, "step": started.step, "call_id": started.call_id, "arguments": arguments})


def leave(request):
    agent: Agent | None = getattr(request, "agent", None)
    if agent is None or not agent.calls:
        return None
    return _audit_calls(request, agent)


async def _audit_calls(request, agent: Agent) -> None:
    for call in agent.calls:
        await trail.record(invoke.audit_event(request.principal, request.request_id, call))


stage = Stage("agent", enter=enter, leave=leave, span=False)  # a span only when it runs
