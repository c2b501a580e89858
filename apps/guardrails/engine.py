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

from .checks import Finding, injection, linear, names, offensive, pii, secrets, toxicity
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


def _findings(rule: Rule, text: str, context: str, before: str) -> tuple[float, list[Finding]]:
    if rule.check == Check.PII:
        return 1.0, pii.find(text, rule.entities, rule.threshold)
    if rule.check == Check.SECRETS:
        found = [f for f in secrets.find(text) if f.score >= rule.threshold]
        return 1.0, [f for f in found if not rule.entities or f.type in rule.entities]
    if rule.check == Check.INJECTION:
        return injection.score(text, context)
    if rule.check == Check.TOXICITY:
        return toxicity.score(text, before)
    return 1.0, [
        Finding("CUSTOM", m.start(), m.end(), 1.0)
        for pattern in rule.deny
        for m in linear.rule_pattern(pattern).finditer(text)
        if m.end() > m.start()
    ]


def _allowed(rule: Rule, text: str, finding: Finding) -> bool:
    """A finding inside a match of one of the rule's allow patterns is not one."""
    return any(
        m.start() <= finding.start and finding.end <= m.end()
        for pattern in rule.allow
        for m in linear.rule_pattern(pattern).finditer(text)
    )


def warm() -> None:
    """Load what the checks load on first use: Presidio's recognisers, the names' word lists and
    the toxicity model."""
    pii.patterns("warm-up 4111 1111 1111 1111 +44 20 7946 0958 a@example.org")
    names.find("Warm Up")
    offensive.score("warm up")  # the model and the English words it reads passages with


def inspect(
    text: str, direction: str, rules: Rules, *, context: str = "", before: str = "", redactor: Redactor | None = None
) -> Inspection:
    """Every detection of every enabled check of `direction`. `context` is the system prompt (the
    injection check scores a question about what it forbids); `before`, what a stream sent before
    `text` (the toxicity model reads a passage whole)."""
    results: list[Result] = []
    spans: list[Finding] = []
    for rule in sorted(rules.direction(direction), key=lambda r: r.check):
        score, found = _findings(rule, text, context, before)
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


# What a stream holds back: the last, unfinished word; a trailing run of digits and separators (a
# card, phone or account number may go on, a phone number by an extension); an open PEM block;
# with names wanted, a trailing run of capitalised words ("Maria" may be followed by "Lopez").
# Phrase checks (toxicity, injection, custom patterns) also hold the last PHRASE_HOLD characters,
# so a phrase is seen whole before any of it leaves. The hold never passes MAX_HOLD (PEM_HOLD for an open private key).
PHRASE_HOLD = 48
MAX_HOLD = 64
LEAD = 40  # as far back as checks/pii.py looks for the words that name a phone number
PEM_HOLD = 4096
# an extension, or as much of one as has arrived: "x4038", "ext. 12", "e"
_EXTENSION_SO_FAR = r"(?:\s?(?:x|ext\.?|e|ex|exte|exten|extens|extensi|extensio|extension)\s?\d*)?"
_NUMBER_RUN = re.compile(rf"(?:[A-Z]{{2}}\d{{2}}|[+(]?\d)[\dA-Z\s().\-/]*{_EXTENSION_SO_FAR}$")
_OPEN_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?![\s\S]*-----END)")
_NAME_RUN = re.compile(r"(?:\b[A-Z][\w'\u2019.-]*[ \t]+(?:[a-z]{1,3}[ \t]+){0,2}){1,4}$")


def _held_from(text: str, phrases: bool, wants_names: bool = False) -> int:
    """Where the part of `text` that must wait for more begins (len(text): nothing waits)."""
    cut = len(text)
    if text and not text[-1].isspace():
        cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
    run = _NUMBER_RUN.search(text)
    if run and any(c.isdigit() for c in run.group()):
        cut = min(cut, run.start())
    start = max(0, cut - MAX_HOLD)
    if wants_names and (run := _NAME_RUN.search(text, start, cut)):
        first = run.group().split()[0]
        if names.may_be_name(first.rstrip(".")):
            cut = run.start()
    if phrases and len(text) - cut < PHRASE_HOLD:  # back to the start of a word
        phrase_cut = max(0, len(text) - PHRASE_HOLD)
        while phrase_cut > 0 and not text[phrase_cut - 1].isspace():
            phrase_cut -= 1
        cut = min(cut, phrase_cut)
    cut = max(cut, len(text) - MAX_HOLD)
    pem = _OPEN_PEM.search(text)
    if pem:
        cut = min(cut, max(pem.start(), len(text) - PEM_HOLD))
    return max(cut, 0)


class OutputGuard:
    """The output rules that act (redact, block) on an answer as it streams: each chunk is released
    as soon as nothing in it can still turn out to be (part of) a finding. `feed` returns what may
    be sent now; `flush`, at the end, the rest. A block raises `Blocked` before any character of
    the offending span has been released."""

    def __init__(self, rules: Rules, redactor: Redactor) -> None:
        self._rules = rules
        self._redactor = redactor
        self._phrases = any(r.check in (*SCORED, Check.CUSTOM) for r in rules.direction("output"))
        self._names = any(
            r.check == Check.PII and (not r.entities or r.entities & names.ENTITIES) for r in rules.direction("output")
        )
        self._pending = ""
        # What was released last: its last LEAD characters lead the text checked (words before a number
        # may name it a phone), the rest is read by the toxicity model with it
        self._sent = ""
        self.results: list[Result] = []

    def feed(self, chunk: str) -> str:
        self._pending += chunk
        return self._release(_held_from(self._pending, self._phrases, self._names))

    def flush(self) -> str:
        return self._release(len(self._pending))

    def _release(self, cut: int) -> str:
        if not self._pending:
            return ""
        # Placeholders are given when a finding is released, so one still growing ("Maria" before
        # "Lopez" arrives) uses no number. The text is checked after what was released just before
        # it ("call me on" a number); what lies in that lead was decided when it left.
        lead, earlier = self._sent[-LEAD:], self._sent[:-LEAD]
        inspection = inspect(lead + self._pending, "output", self._rules, before=earlier, redactor=Redactor())
        results = [_after(result, len(lead)) for result in inspection.results]
        results = [result for result in results if result.check in SCORED or result.entities]
        blocked = next((result for result in results if result.action == Action.BLOCK), None)
        if blocked is not None:
            self.results.append(blocked)
            raise Blocked(blocked)
        for result in results:  # a finding that crosses the cut waits with what follows it
            for finding in result.entities:
                if finding.start < cut < finding.end:
                    cut = finding.start
        if cut <= 0:
            return ""
        released, self._pending = self._pending[:cut], self._pending[cut:]
        self._sent = (self._sent + released)[-LEAD - offensive.WINDOW :]
        spans = []
        for result in results:  # each finding is reported once: when it is released
            gone = tuple(f for f in result.entities if f.end <= cut)
            if gone:
                self.results.append(Result(result.check, result.action, result.score, gone))
                spans += gone
        return _redacted(released, spans, self._redactor) if spans else released


def _after(result: Result, lead: int) -> Result:
    """`result` with only the findings after the first `lead` characters, counted from there."""
    found = tuple(Finding(f.type, f.start - lead, f.end - lead, f.score) for f in result.entities if f.start >= lead)
    return Result(result.check, result.action, result.score, found)


class Blocked(Exception):  # an output rule blocked the answer
    def __init__(self, result: Result) -> None:
        super().__init__(result.check)
        self.result = result
