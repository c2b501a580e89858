"""Toxicity: a trained model of offensive language (`offensive.py`, ADR 0024) and a lexicon of
kinds (insults, profanity, threats, dehumanising phrases, harassment) that names what a phrase is.
The score is the higher of the two. Local and fast; both miss most implicit hate, which a judge
model catches better (docs/guardrails.md has the figures)."""

from __future__ import annotations

import re

from . import Finding, offensive

# `re`, not RE2: these patterns have no nested repeats, and RE2's case-folded alternations, shared
# by the worker threads that inspect texts, cost the server a fifth of its time under load
_KINDS = tuple(
    (name, weight, re.compile(pattern))  # lower case: matched against the text lowered (twice as fast)
    for name, weight, pattern in (
        (
            "INSULT",
            0.6,
            r"\b(?:idiot|idiotic|moron|moronic|imbecile|stupid|dumbass|dumb ?ass|retard(?:ed)?|loser|scum"
            r"|pathetic|worthless|jerk|clown|dimwit|halfwit|nitwit|cretin|twat|prick|douche(?:bag)?|asshole"
            r"|arsehole|bastard|bitch(?:es)?|cunt|dickhead|wanker|shithead|piece of (?:shit|crap|garbage))\b",
        ),
        (
            "PROFANITY",
            0.4,
            r"\b(?:fuck\w*|f\*+k|shit\w*|crap|damn|bullshit|piss(?:ed)? off|bloody hell|motherf\w+|wtf|stfu)\b",
        ),
        (
            "THREAT",
            0.8,
            r"\b(?:i(?:'ll| will| am going to|'m going to|m gonna| gonna) (?:kill|hurt|beat|shoot|stab|murder|destroy|find) you"
            r"|you(?:'re| are) (?:dead|going to die)|(?:kill|hang|shoot) yourself|kys\b|i hope you die"
            r"|watch your back|you(?:'ll| will) (?:regret|pay for) (?:this|it))",
        ),
        (
            "DEHUMANISING",
            0.7,
            r"\b(?:(?:they|those people|these people|all of them) (?:are|is) (?:animals|vermin|parasites|subhuman|rats|cockroaches|savages|a disease)"
            r"|go back to (?:your|their) (?:country|own country)|should (?:all )?be (?:exterminated|deported|wiped out|gassed))\b",
        ),
        (
            "HARASSMENT",
            0.5,
            r"\b(?:shut (?:the fuck |the hell )?up|nobody (?:likes|cares about) you|get lost|go to hell|drop dead|screw you|eat shit)\b",
        ),
    )
)


def score(text: str, before: str = "") -> tuple[float, list[Finding]]:
    """`before`: what a stream sent just before `text`, read by the model with it."""
    lexicon, findings = _lexicon(text)
    model, words = offensive.score(text, before)
    return max(lexicon, model), findings + words


def _lexicon(text: str) -> tuple[float, list[Finding]]:
    findings: list[Finding] = []
    lowered = text.lower()
    if len(lowered) != len(text):  # "İ" lowers to two characters: offsets would move
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    for name, weight, pattern in _KINDS:
        match = pattern.search(lowered)
        if match:
            findings.append(Finding(name, match.start(), match.end(), weight))
    clean = 1.0
    for finding in findings:
        clean *= 1.0 - finding.score
    return round(1.0 - clean, 4), findings
