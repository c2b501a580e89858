"""The guardrails' detectors. Each takes a text and returns its findings: an entity type, where it
is (character offsets), and a score in [0, 1]. None of them needs a provider or a download."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    type: str
    start: int
    end: int
    score: float
