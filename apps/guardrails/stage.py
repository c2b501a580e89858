"""The guardrails as pipeline stages (apps/gateway/pipeline.py), so every transport gets them.

`guard` (after routing, before the cache) inspects what the provider would receive: the user's
messages, tool results (where an indirect injection hides) and the system prompt (PII, secrets and
custom rules only: it is the caller's own instruction, and the injection check reads it as
context). A `block` refuses the request with `guardrail_blocked`; a `redact` replaces the values
with numbered placeholders before the cache key is made and before the provider sees them.

`guard-output` (after the cache's capture, so a stored answer keeps its placeholders) puts the
originals back into the answer the client receives when the rule says `restore`, holding back at
most the length of a placeholder, and checks the answer with the output rules once it has ended.
Every outcome goes to the span, the metrics and the audit entry: check, action, entity types and
counts, never the text.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, Protocol

from apps.catalogue.models import ModelKind
from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest
from apps.core.outcome import Outcome
from apps.core.stage import Stage
from apps.observability import metrics, tracing
from apps.providers.types import ChatRequest, Event, TextDelta, text_of, text_parts
from apps.tenancy.principal import Principal

from . import judge, policy
from .checks import Finding
from .engine import SCORED, Blocked, Inspection, OutputGuard, Redactor, Restorer, Result, inspect
from .models import Action, Check, Direction

OFF_LOOP_CHARACTERS = 1_000  # longer texts are inspected in a worker thread, not on the event loop
_SYSTEM_CHECKS = frozenset({Check.PII, Check.SECRETS, Check.CUSTOM})


class GuardrailBlocked(InvalidRequest):
    default_code = ErrorCode.GUARDRAIL_BLOCKED


@dataclasses.dataclass
class Outcomes:
    """What the guardrails did for one request, for its span, metrics and audit entry."""

    rules: policy.Rules
    results: list[tuple[str, Result]] = dataclasses.field(default_factory=list)  # (direction, result)
    redactor: Redactor = dataclasses.field(default_factory=Redactor)
    # Input texts for the rules that only log: checked after the response, off its path.
    deferred: list[tuple[str, policy.Rules, str]] = dataclasses.field(default_factory=list)
    settled: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)  # every check has run

    def summary(self) -> list[dict]:
        """Check, direction, action and entity types with counts: never a value."""
        return [
            {"check": result.check, "direction": direction, "action": result.action, "score": result.score,
             "entities": dict(Counter(f.type for f in result.entities))}
            for direction, result in self.results
        ]  # fmt: skip


class Guarded(Protocol):
    principal: Principal
    request_id: str
    endpoint: str
    kind: str
    chat: ChatRequest
    outcome: Outcome
    guardrails: Outcomes | None
    answer_text: str


async def inspected(text: str, direction: str, rules: policy.Rules, **options: Any) -> Inspection:
    """`inspect`, off the event loop for a long text."""
    if len(text) <= OFF_LOOP_CHARACTERS:
        return inspect(text, direction, rules, **options)
    return await asyncio.to_thread(inspect, text, direction, rules, **options)


async def _verdicts(
    principal: Principal, request_id: str, text: str, direction: str, rules: policy.Rules, context: str,
    inspection: Inspection,
) -> list[Result]:  # fmt: skip
    """A finding for each rule whose judge model says yes about `text`, among the rules with a
    judge whose local check did not flag it. The whole text is the finding."""
    flagged = {result.check for result in inspection.results}
    verdicts = []
    for rule in sorted(rules.direction(direction), key=lambda r: r.check):
        if not rule.judge_model or rule.check not in SCORED or rule.check in flagged:
            continue
        if await judge.judged(principal, request_id, rule.check, rule.judge_model, text, context):
            verdicts.append(Result(rule.check, rule.action, judge.JUDGED_SCORE,
                                   (Finding("JUDGE", 0, len(text), judge.JUDGED_SCORE),)))  # fmt: skip
    return verdicts


async def judged(
    principal: Principal, request_id: str, text: str, direction: str, rules: policy.Rules, *, context: str = "",
    redactor: Redactor | None = None,
) -> Inspection:  # fmt: skip
    """The local checks, then each rule's judge model for what they scored below its threshold."""
    inspection = await inspected(text, direction, rules, context=context, redactor=redactor)
    verdicts = await _verdicts(principal, request_id, text, direction, rules, context, inspection)
    if not verdicts:
        return inspection
    results = tuple(sorted((*inspection.results, *verdicts), key=lambda r: r.check))
    blocked = inspection.blocked or next((r for r in verdicts if r.action == Action.BLOCK), None)
    return Inspection(results, inspection.text, blocked)


def _system_text(chat: ChatRequest) -> str:
    return "\n".join(text_of(m.get("content")) for m in chat.messages if m.get("role") in ("system", "developer"))


def _with_texts(content: object, texts: list[str]) -> object:
    """The content with its texts (`text_parts`, in order) replaced by `texts`."""
    if isinstance(content, str):
        return texts[0]
    replacing = iter(texts)
    return [
        {**part, "text": next(replacing)}
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str) else part
        for part in content
    ]  # fmt: skip


def _split(rules: policy.Rules, direction: str) -> tuple[policy.Rules, policy.Rules]:
    """The rules that act (block, redact: before the provider) and those that only log (after)."""
    acting = {k: r for k, r in rules.by_check.items() if r.direction == direction and r.action != Action.LOG}
    logging_ = {k: r for k, r in rules.by_check.items() if r.direction == direction and r.action == Action.LOG}
    return policy.Rules(acting), policy.Rules(logging_)


def _for_role(rules: policy.Rules, role: str) -> policy.Rules:
    if role in ("system", "developer"):
        return policy.Rules({k: r for k, r in rules.by_check.items() if r.check in _SYSTEM_CHECKS})
    return rules


async def guard_input(request: Guarded) -> None:
    if request.kind != ModelKind.CHAT or request.endpoint == judge.ENDPOINT:  # a judge does not judge itself
        return
    rules = (await policy.current()).resolve(request.principal)
    outcomes = request.guardrails = Outcomes(rules)
    acting, logging_ = _split(rules, Direction.INPUT)
    if not acting.direction(Direction.INPUT) and not logging_.direction(Direction.INPUT):
        return
    context = _system_text(request.chat)
    changed = False
    messages = []
    for message in request.chat.messages:
        role = message.get("role")
        if role not in ("user", "tool", "system", "developer"):
            messages.append(message)
            continue
        texts = text_parts(message.get("content"))
        outcomes.deferred += [(text, _for_role(logging_, role), context) for text in texts]
        chosen = _for_role(acting, role)
        if not chosen.direction(Direction.INPUT):
            messages.append(message)
            continue
        inspections = [
            await judged(request.principal, request.request_id, t, Direction.INPUT, chosen, context=context,
                         redactor=outcomes.redactor)
            for t in texts
        ]  # fmt: skip
        for inspection in inspections:
            outcomes.results.extend((Direction.INPUT, result) for result in inspection.results)
            if inspection.blocked is not None:
                request.outcome = Outcome.BLOCKED
                raise GuardrailBlocked(
                    f"The request was blocked by the {inspection.blocked.check} guardrail.",
                    param=inspection.blocked.check,
                )
        redacted = [inspection.text for inspection in inspections]
        if redacted == texts:
            messages.append(message)
        else:
            changed = True
            messages.append({**message, "content": _with_texts(message.get("content"), redacted)})
    if changed:
        request.chat = dataclasses.replace(request.chat, messages=messages)


async def guard_output(request: Guarded, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """The answer on its way to the client: the output rules that act (redact, block), applied as it
    streams (engine.OutputGuard), then the input's redacted values put back where the rule says."""
    outcomes = request.guardrails
    if outcomes is None:
        async for event in events:
            yield event
        return
    acting = _split(outcomes.rules, Direction.OUTPUT)[0]
    guard = OutputGuard(acting, outcomes.redactor) if acting.direction(Direction.OUTPUT) else None
    # A copy: values the output rules redact must not be "restored".
    originals = dict(outcomes.redactor.originals) if outcomes.rules.restores else {}
    restorer = Restorer(originals) if originals else None
    if guard is None and restorer is None:
        async for event in events:
            yield event
        return

    def released(text: str, last: bool) -> str:
        text = (guard.feed(text) if not last else guard.feed(text) + guard.flush()) if guard else text
        if restorer is not None:
            text = restorer.feed(text) + (restorer.flush() if last else "")
        return text

    try:
        async for event in events:
            if isinstance(event, TextDelta):
                text = released(event.text, last=False)
                if text:
                    yield TextDelta(text, event.logprobs)
                continue
            text = released("", last=True)
            if text:
                yield TextDelta(text)
            yield event
        text = released("", last=True)
        if text:
            yield TextDelta(text)
    except Blocked as blocked:
        request.outcome = Outcome.BLOCKED
        raise GuardrailBlocked(
            f"The answer was blocked by the {blocked.result.check} guardrail.", param=blocked.result.check
        ) from None
    finally:
        if guard is not None:
            outcomes.results += [(Direction.OUTPUT, result) for result in guard.results]


def leave(request: Guarded):
    """Reports what the guardrails did before the answer (span, metrics); the rules that only log,
    and the output rules, run after the response, off the event loop. The audit stage waits for
    them (`settled`) before it writes the entry."""
    outcomes = request.guardrails
    if outcomes is None:
        return None
    _report(request, outcomes.results, span=True)
    answer = request.answer_text if request.outcome == Outcome.OK else ""
    output = _split(outcomes.rules, Direction.OUTPUT)[1] if answer else policy.Rules({})
    if not outcomes.deferred and not output.direction(Direction.OUTPUT):
        outcomes.settled.set()
        return None
    return _after_response(request, outcomes, answer, output)


async def _after_response(request: Guarded, outcomes: Outcomes, answer: str, output: policy.Rules) -> None:
    """The log-only rules (and their judges) for each deferred input text, then the output's, each
    text in a worker thread: the names model may take tens of milliseconds."""
    try:
        with tracing.stage("guard-log") as span:  # the request's own span has ended with the response
            found: list[tuple[str, Result]] = []
            for text, rules, context in outcomes.deferred:
                inspection = await asyncio.to_thread(inspect, text, Direction.INPUT, rules, context=context)
                verdicts = await _verdicts(
                    request.principal, request.request_id, text, Direction.INPUT, rules, context, inspection
                )
                found += [(Direction.INPUT, result) for result in (*inspection.results, *verdicts)]
            if output.direction(Direction.OUTPUT):
                inspection = await asyncio.to_thread(inspect, answer, Direction.OUTPUT, output)
                found += [(Direction.OUTPUT, result) for result in inspection.results]
            outcomes.results.extend(found)
            _report(request, found, span=False)
            if found:
                span.set_attribute("catalyst.guardrails", _labels(found))
    finally:
        outcomes.settled.set()


def _labels(results: list[tuple[str, Result]]) -> list[str]:
    return [f"{direction}:{result.check}:{result.action}" for direction, result in results]


def _report(request: Guarded, results: list[tuple[str, Result]], *, span: bool) -> None:
    for direction, result in results:
        metrics.GUARDRAILS.labels(request.principal.tenant_slug, result.check, direction, result.action).inc()
    if span and results:
        tracing.current().set_attribute("catalyst.guardrails", _labels(results))


input_stage = Stage("guard", enter=guard_input)
output_stage = Stage("guard-output", relay=guard_output, leave=leave, span=False)
