"""Deterministic content: prompt token counts, answer words, tool calls, structured output and embeddings.

Token rule: a token is a run of word characters or a single other non-space character (`TOKEN_RE`), counted
over every text a provider would bill (message texts, system prompt, tool results). Answers are words drawn
from `VOCABULARY` by a `random.Random` seeded with a sha256 of (model without suffix, roles and texts), so
the same conversation always gets the same words, and a longer answer starts with the shorter one. With
`prose`, the same seed shapes sentences and paragraphs instead (`prose.py`); with `min_tokens`, it also picks
the answer's length.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .prose import WORD_RE, prose_words
from .schema_instances import instance_for

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
VOCABULARY = (
    "the",
    "mock",
    "model",
    "answers",
    "every",
    "request",
    "with",
    "plain",
    "words",
    "drawn",
    "from",
    "a",
    "small",
    "fixed",
    "list",
    "so",
    "tests",
    "can",
    "predict",
    "each",
    "reply",
    "exactly",
    "while",
    "gateways",
    "measure",
    "latency",
    "throughput",
    "retries",
    "cancellation",
    "and",
    "cost",
    "under",
    "load",
    "quickly",
    "without",
    "real",
    "providers",
    "keys",
    "budgets",
    "networks",
    "or",
    "surprises",
    "today",
)
ARGUMENT_PIECE = 8
CACHED_ANSWER_WORDS = 512
SURROGATES = "surrogatepass"  # JSON may carry lone surrogates ("\\ud800"); hashing them must not fail


def count_tokens(texts: Iterable[str]) -> int:
    """The prompt's token count under the documented rule."""
    return sum(len(TOKEN_RE.findall(text)) for text in texts)


def conversation_seed(model: str, turns: Iterable[tuple[str, str]]) -> bytes:
    """A sha256 of the model and each (role, text) turn: the identity of a conversation."""
    digest = hashlib.sha256(model.encode(errors=SURROGATES))
    for role, text in turns:
        digest.update(b"\x1e" + role.encode(errors=SURROGATES) + b"\x1f" + text.encode(errors=SURROGATES))
    return digest.digest()


def echoed(turns: Iterable[tuple[str, str]], role: str = "user") -> str:
    """The last turn of `role`: the `echo` behaviour answers with the user's, `echo_system` with the system's."""
    return next((text for said, text in reversed(list(turns)) if said == role), "")


def answer_words(seed: bytes, count: int) -> tuple[str, ...]:
    """`count` words, the first capitalised, the others with their leading space (one streamed token each).

    Short answers are cached: seeding a Mersenne Twister costs more than the rest of a request, and
    benchmarks repeat prompts; long ones are not, so a `tokens=100000` run cannot hoard memory.
    """
    return _cached_words(seed, count) if count <= CACHED_ANSWER_WORDS else _draw_words(seed, count)


def _draw_words(seed: bytes, count: int) -> tuple[str, ...]:
    words = random.Random(seed).choices(VOCABULARY, k=count)  # noqa: S311 - determinism is the point
    return tuple(word.capitalize() if index == 0 else " " + word for index, word in enumerate(words))


_cached_words = lru_cache(maxsize=4096)(_draw_words)


def answer_length(seed: bytes, tokens: int, min_tokens: int | None) -> int:
    """`tokens`, or with `min_tokens` below it a length in [min_tokens, tokens] picked by the conversation.

    Hashed apart from the word stream, so a conversation's words do not depend on the length it got.
    """
    if min_tokens is None or min_tokens >= tokens:
        return tokens
    draw = int.from_bytes(hashlib.sha256(b"length\x1f" + seed).digest()[:8], "big")
    return min_tokens + draw % (tokens - min_tokens + 1)


def tool_result_words(seed: bytes, count: int, result: str) -> tuple[str, ...]:
    """An answer quoting a tool's result (whitespace-normalised), padded with answer words up to `count`."""
    words = ["Tool", " result:", *(" " + word for word in (result.split() or ["(empty)"]))]
    if len(words) < count:
        filler = random.Random(seed).choices(VOCABULARY, k=count - len(words))  # noqa: S311 - determinism is the point
        words += [" " + word for word in filler]
    return tuple(words)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call to one function: its name, its arguments, their JSON text as sent and the pieces it streams in.

    `arguments` is the object the text stands for: `{}` when a script made the text malformed or not an object.
    """

    name: str
    arguments: dict[str, object]
    arguments_json: str
    pieces: tuple[str, ...]


def tool_call(name: str, arguments: dict[str, object] | str) -> ToolCall:
    """A call to `name` with an arguments object (sent as compact JSON) or JSON text (sent verbatim, even malformed)."""
    if isinstance(arguments, str):
        encoded = arguments
        try:
            parsed = json.loads(encoded)
        except ValueError:
            parsed = None
        arguments = parsed if isinstance(parsed, dict) else {}
    else:
        encoded = json.dumps(arguments, separators=(",", ":"))
    pieces = tuple(encoded[start : start + ARGUMENT_PIECE] for start in range(0, len(encoded), ARGUMENT_PIECE))
    return ToolCall(name, arguments, encoded, pieces)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the model says: text tokens or tool calls (in order, in one message), why it stopped
    ("stop"/"length"/"tool"), and usage."""

    words: tuple[str, ...]
    tools: tuple[ToolCall, ...]
    finish: str
    prompt_tokens: int

    @property
    def units(self) -> tuple[str, ...]:
        """The streamed units: the words, or every call's argument pieces in turn; each is one completion token."""
        return tuple(piece for call in self.tools for piece in call.pieces) if self.tools else self.words

    @property
    def completion_tokens(self) -> int:
        return len(self.units)

    @property
    def text(self) -> str:
        return "".join(self.words)


@dataclass(frozen=True, slots=True)
class JsonOutput:
    """Structured output: any JSON object (`json_object`, schema None) or an instance of `schema` (`json_schema`)."""

    schema: dict | None = None


def text_reply(
    seed: bytes,
    *,
    tokens: int,
    max_tokens: int | None,
    prompt_tokens: int,
    tool_result: str | None,
    text: str | None = None,
    min_tokens: int | None = None,
    prose: bool = False,
    output: JsonOutput | None = None,
) -> Reply:
    """A text answer of `tokens` words (or quoting `tool_result`, or exactly `text`), cut at `max_tokens`
    with finish "length"; `min_tokens` and `prose` shape only the generated answer.

    With `output`, the answer is `{"answer": <that text>}` or the schema's instance; `text` still wins, so a
    script can make the mock answer any JSON at all.
    """
    if text is not None:
        words = tuple(WORD_RE.findall(text))
    elif output is not None and output.schema is not None:
        words = json_pieces(instance_for(output.schema, complete=True))
    else:
        if tool_result is not None:
            words = tool_result_words(seed, tokens, tool_result)
        else:
            length = answer_length(seed, tokens, min_tokens)
            # Drawing only what max_tokens lets through (plus one, to tell a cut) gives the same leading tokens:
            # plain words are prefix-stable, and prose is generated front to back for its full length.
            count = length if max_tokens is None else min(length, max_tokens + 1)
            words = prose_words(seed, length, count) if prose else answer_words(seed, count)
        if output is not None:
            words = json_object_words(words)
    if max_tokens is not None and len(words) > max_tokens:
        return Reply(words[:max_tokens], (), "length", prompt_tokens)
    return Reply(words, (), "stop", prompt_tokens)


def json_pieces(value: object) -> tuple[str, ...]:
    """A JSON value as `json.dumps` spaces it (non-ASCII kept as is), one token per `\\s*\\S+` piece."""
    return tuple(WORD_RE.findall(json.dumps(value, ensure_ascii=False)))


def json_object_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words as the string of `{"answer": ...}`, still one token each.

    The opening rides with the first word and the closing with the last, so a cut leaves the closing out, as a
    real length cut does.
    """
    escaped = [json.dumps(word, ensure_ascii=False)[1:-1] for word in words] or [""]
    escaped[0] = '{"answer": "' + escaped[0]
    escaped[-1] += '"}'
    return tuple(escaped)


def tool_reply(name: str, schema: object, prompt_tokens: int) -> Reply:
    """A call to `name` with arguments built from its JSON schema; not cut by max_tokens (cut JSON is useless)."""
    return Reply((), (tool_call(name, arguments_for(schema)),), "tool", prompt_tokens)


def scripted_reply(calls: Iterable[tuple[str, str]], prompt_tokens: int, *, objects: bool = False) -> Reply:
    """Exactly the (name, arguments JSON text) calls of the `calls` behaviour, in order, whatever the request offers
    (tools, tool_choice, a tool result last): a test decides what the model calls, even a tool it was not given.

    With `objects` (Anthropic, whose `input` is always an object), text that is not a JSON object is sent as `{}`.
    """
    made = (tool_call(name, arguments) for name, arguments in calls)
    tools = tuple(tool_call(call.name, call.arguments) if objects else call for call in made)
    return Reply((), tools, "tool", prompt_tokens)


def arguments_for(schema: object) -> dict[str, object]:
    """Every required property of an object schema, filled deterministically (`schema_instances`)."""
    value = instance_for(schema, complete=False)
    return value if isinstance(value, dict) else {}


_EMBEDDED_WORD = re.compile(r"\w+")


@lru_cache(maxsize=4096)
def embedding(text: str, dimensions: int) -> tuple[float, ...]:
    """A unit vector, rounded to float32 so the float and base64 formats agree exactly.

    A text's words are hashed into it (feature hashing: each lowercased word adds ±1 at a position
    taken from its sha256), so texts that share words get close vectors and texts of the same words
    in any order or case get the same one, as a bag-of-words model would: tests of retrieval and
    of the semantic cache on a provider model mean something. Token arrays and texts without a word
    get a vector from sha256(text)."""
    words = _EMBEDDED_WORD.findall(text.lower()) if not text.startswith("\x00tokens:") else []
    if words:
        values = [0.0] * dimensions
        for word in words:
            digest = hashlib.sha256(word.encode(errors=SURROGATES)).digest()
            values[int.from_bytes(digest[:4], "little") % dimensions] += 1.0 if digest[4] & 1 else -1.0
    else:
        stream = hashlib.shake_256(hashlib.sha256(text.encode(errors=SURROGATES)).digest()).digest(2 * dimensions)
        integers = array("h", stream)
        if sys.byteorder == "big":
            integers.byteswap()
        values = [float(value) for value in integers]
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    return tuple(array("f", [value / norm for value in values]).tolist())


def embedding_base64(vector: tuple[float, ...]) -> str:
    """The vector as little-endian float32 bytes, base64-encoded (what `encoding_format=base64` returns)."""
    packed = array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()
