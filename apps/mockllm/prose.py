"""Prose answers: sentences in paragraphs, now and then a list, a bold phrase or a code block, of an exact length.

The demo's chat page should stream something that reads like a model's answer and shows its Markdown rendering,
while staying as deterministic as the plain words. Every token matches `\\s*\\S+` (a word with its leading
whitespace): punctuation and `**` ride with their word, and a paragraph break or a line break rides with the
first word after it, so `re.findall(r"\\s*\\S+", text)` gives back exactly the streamed tokens. A list marker
(`-`) and a code fence are tokens of their own.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from functools import lru_cache
from itertools import islice

SUBJECTS = (
    "the gateway",
    "each request",
    "the cache",
    "every tenant",
    "the router",
    "a fallback",
    "the breaker",
    "each stream",
    "the budget",
    "your key",
    "the model",
    "each retry",
)
VERBS = (  # (third person, base form): statements use the first, questions after an auxiliary the second
    ("streams", "stream"),
    ("measures", "measure"),
    ("routes", "route"),
    ("retries", "retry"),
    ("caches", "cache"),
    ("records", "record"),
    ("limits", "limit"),
    ("checks", "check"),
    ("protects", "protect"),
    ("tracks", "track"),
    ("shapes", "shape"),
    ("settles", "settle"),
)
OBJECTS = (
    "the answer",
    "every token",
    "the latency",
    "a response",
    "the cost",
    "each prompt",
    "the usage",
    "a deadline",
    "the quota",
    "each failure",
    "the traffic",
    "every call",
)
TAILS = (
    "under load",
    "per tenant",
    "in order",
    "by design",
    "at once",
    "for each tenant",
    "before the deadline",
    "without real keys",
    "with a fallback",
    "across every region",
    "behind the scenes",
    "in a few milliseconds",
    "on every call",
    "from the first token",
    "after a timeout",
    "during a spike",
    "at the edge",
)
ADVERBS = ("quickly", "safely", "reliably", "quietly", "again", "exactly", "too")
CONJUNCTIONS = ("and", "so", "while", "because", "but")
PRONOUNS = ("It", "This", "That")
SHORT_SENTENCES = ("That works", "It scales", "Nothing breaks", "Try it", "It helps", "That matters", "It depends")
INTRANSITIVE_VERBS = ("scales", "waits", "recovers", "stops", "helps", "holds", "adapts")
AUXILIARIES = ("Does", "Can", "Should", "Will")
INTERJECTIONS = ("Exactly", "Indeed", "Right", "Sure", "Absolutely")
END_MARKS = (".", "?", "!")
END_WEIGHTS = (78, 12, 10)
# Mostly medium sentences, some short and some long: the varying rhythm is what makes it read like prose.
SENTENCE_SIZES = (2, 3, 5, 6, 7, 8, 8, 9, 10, 10, 11, 12, 13, 14, 16, 18, 21)
SHORTEST_ENDING = 3  # a sentence that would leave fewer words than this absorbs them, so no "Sure." dangles
CLAUSE_SIZE = 6  # ", and" + subject + verb + object
BOLD_SHARE = 0.12
LIST_SHARE = 0.18
CODE_SHARE = 0.12
CLOSING_ROOM = 4  # a list or code block needs room for a sentence after it: answers end in prose
LIST_LEADS = ("A few things matter here:", "Keep these in mind:", "In practice:", "The short version:")
ITEM_HEADS = ("Latency", "Retries", "Budgets", "Streaming", "Fallbacks", "Caching", "Quotas", "Keys", "Usage")
CODE_LEADS = ("For example:", "A minimal call looks like this:", "In code:")
SNIPPETS = (
    '```python\nreply = client.chat.completions.create(model="gpt-mock", messages=messages)\n'
    "print(reply.choices[0].message.content)\n```",
    "```python\ndef with_retries(call, attempts=3):\n    for attempt in range(attempts):\n        try:\n"
    "            return call()\n        except TimeoutError:\n            time.sleep(2**attempt)\n"
    '    raise RuntimeError("no attempt succeeded")\n```',
    '```bash\ncurl -N http://127.0.0.1:8000/v1/chat/completions \\\n  -H "Authorization: Bearer $KEY" \\\n'
    '  -d \'{"model": "gpt-mock", "stream": true}\'\n```',
    '```json\n{"model": "gpt-mock", "max_tokens": 256, "stream": true}\n```',
)
WORD_RE = re.compile(r"\s*\S+")  # one answer token: a word with its leading whitespace
SNIPPET_TOKENS = tuple(tuple(WORD_RE.findall(snippet)) for snippet in SNIPPETS)
CACHED_PROSE_TOKENS = 512


def prose_words(seed: bytes, length: int, count: int) -> tuple[str, ...]:
    """The first `count` tokens of the `length`-token prose answer for this seed.

    Cached up to a few hundred tokens (the demo repeats prompts); longer answers are generated lazily, so a cut
    at `max_tokens` never builds the rest.
    """
    if length <= CACHED_PROSE_TOKENS:
        return _cached_prose(seed, length)[:count]
    return tuple(islice(_prose(seed, length), count))


@lru_cache(maxsize=1024)
def _cached_prose(seed: bytes, length: int) -> tuple[str, ...]:
    return tuple(_prose(seed, length))


def _prose(seed: bytes, length: int) -> Iterator[str]:
    """Blocks until exactly `length` tokens: a paragraph first, never two lists or code blocks in a row."""
    rng = random.Random(seed)  # noqa: S311 - determinism is the point
    room = length
    after_paragraph = False
    while room > 0:
        block: list[str] | None = None
        if after_paragraph:
            roll = rng.random()
            if roll < LIST_SHARE:
                block = _list(rng)
            elif roll < LIST_SHARE + CODE_SHARE:
                block = _code(rng)
            if block is not None and len(block) + CLOSING_ROOM > room:
                block = None
        after_paragraph = block is None
        if block is None:
            block = _paragraph(rng, room)
        started = room < length
        yield "\n\n" + block[0] if started else block[0]
        yield from block[1:]
        room -= len(block)


def _paragraph(rng: random.Random, room: int) -> list[str]:
    words: list[str] = []
    for _ in range(rng.randint(2, 4)):
        if len(words) == room:
            break
        left = room - len(words)
        size = min(rng.choice(SENTENCE_SIZES), left)
        if left - size < SHORTEST_ENDING:
            size = left
        words += _sentence(rng, size)
    return _spaced(words)


def _sentence(rng: random.Random, size: int) -> list[str]:
    """`size` words, capitalised, the last one carrying the end mark."""
    mark = rng.choices(END_MARKS, END_WEIGHTS)[0]
    if mark == "?" and size >= 3:
        words = _question(rng, size)
    else:
        mark = "." if mark == "?" else mark
        words = _statement(rng, size)
    words[0] = words[0][0].upper() + words[0][1:]
    words[-1] += mark
    return words


def _statement(rng: random.Random, size: int) -> list[str]:
    if size == 1:
        return [rng.choice(INTERJECTIONS)]
    if size == 2:
        return rng.choice(SHORT_SENTENCES).split()
    if size == 3:
        return [*rng.choice(SUBJECTS).split(), rng.choice(INTRANSITIVE_VERBS)]
    return [*rng.choice(SUBJECTS).split(), rng.choice(VERBS)[0], *_complement(rng, size - 3)]


def _question(rng: random.Random, size: int) -> list[str]:
    auxiliary, base = rng.choice(AUXILIARIES), rng.choice(VERBS)[1]
    if size == 3:
        return [auxiliary, rng.choice(PRONOUNS).lower(), base]
    return [auxiliary, *rng.choice(SUBJECTS).split(), base, *_complement(rng, size - 4)]


def _complement(rng: random.Random, room: int) -> list[str]:
    """Exactly `room` words after a verb: an object, then phrases, an adverb or another clause; maybe some bold.

    A clause takes at most two phrases while another clause fits, so long sentences read as joined clauses
    rather than one endless chain of "in order at once under load".
    """
    parts: list[list[str]] = []
    phrases: list[list[str]] = []  # what may go bold: objects and prepositional phrases, never a clause
    if room >= 2:
        parts.append(rng.choice(OBJECTS).split())
        phrases.append(parts[-1])
        room -= 2
    tails, adverb = 0, False
    while room:
        if room >= CLAUSE_SIZE and (tails >= 2 or rng.random() < 0.35):
            parts[-1][-1] += ","
            subject, verb, thing = rng.choice(SUBJECTS), rng.choice(VERBS)[0], rng.choice(OBJECTS)
            parts += [[rng.choice(CONJUNCTIONS), *subject.split(), verb], thing.split()]
            phrases.append(parts[-1])
            tails, adverb = 0, False
            room -= CLAUSE_SIZE
            continue
        if room == 1 or (not adverb and tails and rng.random() < 0.3):
            parts.append([rng.choice(ADVERBS)])
            adverb = True
        else:
            used = {" ".join(part) for part in parts}
            fitting = [tail for tail in TAILS if len(tail.split()) <= room and tail not in used]
            parts.append(rng.choice(fitting or ["under load"]).split())
            phrases.append(parts[-1])
            tails += 1
        room -= len(parts[-1])
    boldable = [phrase for phrase in phrases if not phrase[-1].endswith(",")]  # "answer,**" would not render
    if boldable and rng.random() < BOLD_SHARE:
        bold = rng.choice(boldable)
        bold[0], bold[-1] = "**" + bold[0], bold[-1] + "**"
    return [word for part in parts for word in part]


def _list(rng: random.Random) -> list[str]:
    """A lead-in line, a blank line, then two to four short items, each `-` (a token) and a few words."""
    tokens = _spaced(rng.choice(LIST_LEADS).split())
    for index, head in enumerate(rng.sample(ITEM_HEADS, rng.randint(2, 4))):
        tail = rng.choice(TAILS).split()
        tokens += ["\n\n-" if index == 0 else "\n-", " " + head, *(" " + word for word in tail)]
    return tokens


def _code(rng: random.Random) -> list[str]:
    """A lead-in line, then a fenced snippet whose lines' breaks and indentation ride with their first token."""
    lead = _spaced(rng.choice(CODE_LEADS).split())
    fence, *lines = rng.choice(SNIPPET_TOKENS)
    return [*lead, "\n\n" + fence, *lines]


def _spaced(words: list[str]) -> list[str]:
    return [word if index == 0 else " " + word for index, word in enumerate(words)]
