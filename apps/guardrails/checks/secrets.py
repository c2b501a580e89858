"""Secrets pasted into prompts: provider and cloud keys by their published formats, private keys,
tokens, and passwords given as a value; plus long random-looking strings (Shannon entropy), which
catch the formats no pattern knows."""

from __future__ import annotations

import math
import re
from collections import Counter

from . import Finding

# (entity type, pattern). Prefixes as the vendors document them.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        (
            "PRIVATE_KEY",
            r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----|$)",
        ),
        ("AWS_ACCESS_KEY", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"),
        ("AWS_SECRET_KEY", r"(?i)aws.{0,20}?(?:secret|key).{0,20}?[:=]\s*['\"]?([A-Za-z0-9/+=]{40})\b"),
        ("OPENAI_KEY", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}\b"),
        ("ANTHROPIC_KEY", r"\bsk-ant-[A-Za-z0-9_-]{20,}\b"),
        ("CATALYST_KEY", r"\bcat_[a-z0-9]{8}_[A-Za-z0-9]{40}\b"),
        ("GITHUB_TOKEN", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b"),
        ("GITLAB_TOKEN", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
        ("SLACK_TOKEN", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
        ("SLACK_WEBHOOK", r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}"),
        ("STRIPE_KEY", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b"),
        ("GOOGLE_API_KEY", r"\bAIza[A-Za-z0-9_-]{35}\b"),
        ("JWT", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),
        ("BEARER_TOKEN", r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{20,}=*)"),
        ("CONNECTION_STRING", r"\b[a-z][a-z0-9+]*://[^\s:/@]+:([^\s@/]{3,})@[^\s]+"),
        (
            "PASSWORD",
            r"(?i)\b(?:password|passwd|pwd|passphrase|secret|api[_-]?key|token)\b\s*(?:[:=]|\bis\b)\s*['\"]?([^\s'\",;]{6,})",
        ),
    )
)
_CANDIDATE = re.compile(r"[A-Za-z0-9_+/=.-]{24,}")
ENTROPY_BITS = 4.0  # per character: base64 keys reach 5.5 to 6, English words 3 to 3.5
_WORDLIKE = re.compile(r"^[a-z]+(?:[-_.][a-z]+)*$|^[A-Za-z][a-z]+(?:[A-Z][a-z]+)+$")


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _random_looking(token: str) -> bool:
    """Long, mixed letters and digits, and high in entropy: a key no pattern names."""
    if _WORDLIKE.match(token) or not re.search(r"\d", token) or not re.search(r"[A-Za-z]", token):
        return False
    if token.startswith(("http", "www.")) or ("/" in token.strip("/") and token.count("/") > 2):  # paths, URLs
        return False
    return _entropy(token) >= ENTROPY_BITS


def find(text: str) -> list[Finding]:
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for name, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span(1) if match.groups() and match.group(1) else match.span()
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            findings.append(Finding(name, start, end, 1.0))
    for match in _CANDIDATE.finditer(text):
        start, end = match.span()
        if any(start < e and s < end for s, e in taken) or not _random_looking(match.group()):
            continue
        taken.append((start, end))
        findings.append(Finding("HIGH_ENTROPY_STRING", start, end, 0.8))
    return sorted(findings, key=lambda f: f.start)
