"""Regular expressions that run in time linear in the text (Google's RE2), for patterns matched
against what attackers write: a pattern with nested repetition cannot be made to backtrack for
seconds, and a long alternation of phrases is matched in one pass (the injection signals: 0.2 ms on
2,000 characters, against 4.3 ms with Python's `re`).

RE2 has no look-arounds or back-references, and its `\\b` and `\\w` are ASCII.
"""

from __future__ import annotations

import re
from functools import lru_cache

import re2

Pattern = re2._Regexp
error = re2.error


def compile(pattern: str, *, ignore_case: bool = True) -> Pattern:
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.dot_nl = True
    options.log_errors = False
    return re2.compile(pattern, options)


@lru_cache(maxsize=1024)
def rule_pattern(pattern: str) -> Pattern | re.Pattern[str]:
    """A rule's own pattern, case-insensitive, compiled once. Rules are validated with RE2 when
    saved; one saved before that which RE2 refuses keeps running under Python's `re`."""
    try:
        return compile(pattern)
    except error:
        return re.compile(pattern, re.IGNORECASE)
