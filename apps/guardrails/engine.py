"""Run a tenant's guardrail rules over a text: what each enabled check found, what its rule does
about it, and the text as the provider (input) or the client (output) would get it.

Redaction replaces each value with a numbered placeholder (`<EMAIL_ADDRESS_1>`). One `Redactor`
serves a whole request, so the same value gets the same placeholder in every message, and a rule
with `restore` can put the originals back into the answer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .checks import Finding, injection, pii, secrets, toxicity
from .models import Action, Check
from .policy import Rule, Rules

SCORED = (Check.INJECTION, Check.TOXICITY)  # a score in [0, 1]; the others find spans


@dataclass(frozen=True, slots=True)
class Result:
    check: str
    action: str
    score: float
    entities: tuple[Finding, ...]

    def as_dict(self) -> dict:
        return {
            "check": self.check, "action": self.action, "score": self.score,
            "entities": [{"type": f.type, "start": f.start, "end": f.end, "score": f.score} for f in self.entities],
        }  # fmt: skip


@dataclass
class Redactor:
    """Numbered placeholders for one request; `originals` maps each back to its value."""

    originals: dict[str, str] = field(default_factory=dict)
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: Counter = field(default_factory=Counter)

    def placeholder(self, entity_type: str, value: str) -> str:
        known = self._by_value.get((entity_type, value))
        if known is None:
            self._counts[entity_type] += 1
            known = f"<{entity_type}_{self._counts[entity_type]}>"
            self._by_value[(entity_type, value)] = known
            self.originals[known] = value
        return known


@dataclass(frozen=True, slots=True)
class Inspection:
    results: tuple[Result, ...]
    text: str  # redacted where a rule says so
    blocked: Result | None

    @property
    def flagged(self) -> bool:
        return bool(self.results)


def _findings(rule: Rule, text: str, context: str) -> tuple[float, list[Finding]]:
    if rule.check == Check.PII:
        return 1.0, pii.find(text, rule.entities, rule.threshold)
    if rule.check == Check.SECRETS:
        found = [f for f in secrets.find(text) if f.score >= rule.threshold]
        return 1.0, [f for f in found if not rule.entities or f.type in rule.entities]
    if rule.check == Check.INJECTION:
        return injection.score(text, context)
    if rule.check == Check.TOXICITY:
        return toxicity.score(text)
    return 1.0, [
        Finding("CUSTOM", m.start(), m.end(), 1.0)
        for pattern in rule.deny
        for m in re.finditer(pattern, text, re.IGNORECASE)
        if m.end() > m.start()
    ]


def _allowed(rule: Rule, text: str, finding: Finding) -> bool:
    """A finding inside a match of one of the rule's allow patterns is not one."""
    return any(
        m.start() <= finding.start and finding.end <= m.end()
        for pattern in rule.allow
        for m in re.finditer(pattern, text, re.IGNORECASE)
    )


def inspect(
    text: str, direction: str, rules: Rules, *, context: str = "", redactor: Redactor | None = None
) -> Inspection:
    """Every detection of every enabled check of `direction`. `context` is the system prompt (the
    injection check scores a question about what it forbids)."""
    results: list[Result] = []
    spans: list[Finding] = []
    for rule in sorted(rules.direction(direction), key=lambda r: r.check):
        score, found = _findings(rule, text, context)
        found = [f for f in found if not _allowed(rule, text, f)]
        if rule.check in SCORED:
            if score < rule.threshold:
                continue
        elif not found:
            continue
        result = Result(rule.check, rule.action, score if rule.check in SCORED else max(f.score for f in found),
                        tuple(found))  # fmt: skip
        results.append(result)
        if rule.action == Action.REDACT:
            spans.extend(found)
    blocked = next((r for r in results if r.action == Action.BLOCK), None)
    return Inspection(tuple(results), _redacted(text, spans, redactor or Redactor()) if spans else text, blocked)


def _redacted(text: str, spans: list[Finding], redactor: Redactor) -> str:
    kept: list[Finding] = []
    for span in sorted(spans, key=lambda f: (f.start, -f.score, -(f.end - f.start))):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    pieces, last = [], 0
    for span in kept:
        pieces += [text[last : span.start], redactor.placeholder(span.type, text[span.start : span.end])]
        last = span.end
    return "".join(pieces) + text[last:]


_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")
_LONGEST_PLACEHOLDER = 48  # "<" + type + "_" + number + ">": what a stream may hold back


class Restorer:
    """Puts redacted originals back into an answer, chunk by chunk: a chunk that ends inside what
    may be a placeholder keeps that tail (at most 48 characters) until the next chunk."""

    def __init__(self, originals: dict[str, str]) -> None:
        self._originals = originals
        self._held = ""

    def _restore(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self._originals.get(m.group(), m.group()), text)

    def feed(self, chunk: str) -> str:
        text = self._held + chunk
        cut = text.rfind("<")
        if cut != -1 and ">" not in text[cut:] and len(text) - cut <= _LONGEST_PLACEHOLDER:
            self._held, text = text[cut:], text[:cut]
        else:
            self._held = ""
        return self._restore(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return self._restore(held)
