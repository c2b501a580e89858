"""The semantic cache's matcher: is a new question the same as a stored one?

Two checks, both needed. The embedding's cosine similarity must reach the policy's threshold,
which catches rewordings. Then an ordered check (`same_question`) guards what a bag-of-words
embedding cannot see. The 256-dimension packaged model scores "flights from New York to Florida"
and "from Florida to New York" the same. So the check requires:
  - the same numbers;
  - the same capitalised names;
  - the words the two share, in the same order; a word that moved costs more than the budget;
  - no word replaced by an unrelated one ("open" / "closed": embeddings score antonyms close);
  - what changed within BUDGET: a word replaced by a close one (the embedder's word similarity)
    or a function word costs 0.5, any other word added or left out 1.
A wrong answer is worse than a miss, so the check is strict; a stronger embedder (the tenant's
provider model, apps/embeddings) raises the hit rate without touching it. Synonyms are judged by
the packaged local model's word similarity whatever model embeds the questions.
bench/semantic_eval.py measures both on PAWS and STS-B (docs/performance.md).
"""

from __future__ import annotations

import re

BUDGET = 2.0  # what the words changed between the two questions may cost, at most
MAX_CHANGED_SHARE = 0.5  # ... and the words changed may be at most this share of the longer question
FUNCTION_WORD_COST = 0.5  # "is", "also", "of": a word added or left out that carries little
SYNONYM_COST = 0.5  # a word replaced by one the embedder finds close (SYNONYM_SIMILARITY)
SYNONYM_SIMILARITY = 0.6
MOVED_COST = 4.0  # a word that moved ("from X to Y" / "to X from Y"): the meaning changed

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"\d")
_ARTICLES = frozenset(("a", "an", "the"))
_FUNCTION_WORDS = """
    a an the of to in on at by for with from as is are was were be been being am do does did
    and or but if then so than that this these those it its it's there their they them he she his her
    we our you your i me my what which who whom whose how why when where can could would should
    will shall may might must has have had not no yes also just very about into over after before
    some any all each every more most other such only own same too s t
"""
STOPWORDS = frozenset(_FUNCTION_WORDS.split())


def _stem(word: str) -> str:
    """A light stem, so plurals and tense forms match ("flights" = "flight", "booked" = "book")."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """The question's words in order, stemmed, without articles and punctuation."""
    return [_stem(w.lower()) for w in _WORD.findall(text) if w.lower() not in _ARTICLES]


def _keys(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """Numbers, and capitalised words that do not start the text (names, places)."""
    found = _WORD.findall(text)
    numbers = frozenset(w for w in found if _NUMBER.search(w))
    names = frozenset(
        w.lower() for i, w in enumerate(found) if i > 0 and w[:1].isupper() and w.lower() not in STOPWORDS
    )
    return numbers, names


def _changes(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    """The words of `a` left out and the words of `b` added, around their longest common subsequence."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    i = j = 0
    removed: list[str] = []
    added: list[str] = []
    while i < n and j < m:
        if a[i] == b[j]:
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            removed.append(a[i])
            i += 1
        else:
            added.append(b[j])
            j += 1
    return removed + a[i:], added + b[j:]


def same_question(new: str, stored: str, similar=None) -> bool:
    """The ordered check. `similar(w1, w2)` is the embedder's word similarity (None: no synonyms)."""
    if _keys(new) != _keys(stored):
        return False
    a, b = words(new), words(stored)
    if not a or not b:
        return a == b
    removed, added = _changes(a, b)
    if len(removed) + len(added) > MAX_CHANGED_SHARE * max(len(a), len(b)):
        return False
    moved = set(removed) & set(added)
    cost = MOVED_COST * len(moved)
    removed = [w for w in removed if w not in moved]
    added = [w for w in added if w not in moved]
    unmatched: list[str] = []
    for word in removed:
        match = None
        if similar is not None:
            scored = [(similar(word, other), other) for other in added]
            scored = [pair for pair in scored if pair[0] >= SYNONYM_SIMILARITY]
            match = max(scored)[1] if scored else None
        if match is not None:
            added.remove(match)
            cost += SYNONYM_COST
        else:
            cost += FUNCTION_WORD_COST if word in STOPWORDS else 1.0
            unmatched.append(word)
    cost += sum(FUNCTION_WORD_COST if word in STOPWORDS else 1.0 for word in added)
    # A word replaced by an unrelated one ("open" / "closed", "rotate" / "delete") changes the question.
    if any(w not in STOPWORDS for w in unmatched) and any(w not in STOPWORDS for w in added):
        return False
    return cost <= BUDGET
