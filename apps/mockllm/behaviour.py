"""What the mock does for a request (delays, pacing, length, failures), from flags, model suffixes and headers.

One syntax everywhere: `key=value` pairs separated by `,` (`ttft_ms=300,status=503`), used after `@` in a
model name, in the `X-Mock-Behaviour` header and, as JSON values, in scripted responses.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any, NamedTuple

SUFFIX_MARK = "@"


class BehaviourError(ValueError):
    """A behaviour override that cannot be understood; answered with a 400, never ignored."""


def _number(low: float, high: float | None = None) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        number = float(value)
        if not math.isfinite(number) or number < low or (high is not None and number > high):
            raise ValueError(f"must be between {low} and {high}" if high is not None else f"must be >= {low}")
        return number

    return convert


def _integer(low: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("must be an integer")
        number = int(value)
        if number < low:
            raise ValueError(f"must be >= {low}")
        return number

    return convert


def _status(value: object) -> int:
    status = _integer(0)(value)
    if status and not 400 <= status <= 599:
        raise ValueError("must be 0 (no failure) or an HTTP error status 400..599")
    return status


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be a boolean (1/0, true/false)")


class ScriptedCall(NamedTuple):
    """One tool call a script makes the model emit: the function's name and its arguments as JSON text.

    The text is sent as is, so a script can make the model emit arguments that are not valid JSON.
    """

    name: str
    arguments: str


CALL_KEYS = frozenset({"name", "arguments"})


def _calls(value: object) -> tuple[ScriptedCall, ...]:
    """`[{"name": ..., "arguments": {...}}, ...]`, as JSON text or parsed; arguments default to `{}`, and
    arguments given as a string are taken verbatim, even when they are not valid JSON.

    A tuple of ScriptedCall is the converted form, taken as is: coercion runs again when behaviours merge.
    """
    if isinstance(value, tuple) and value and all(isinstance(call, ScriptedCall) for call in value):
        return value
    calls = json.loads(value) if isinstance(value, str) else value
    if not isinstance(calls, list) or not calls:
        raise ValueError("must be a non-empty JSON array of {'name': ..., 'arguments': {...}} objects")
    converted: list[ScriptedCall] = []
    for index, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
            raise ValueError(f"call {index} must be an object with a non-empty string 'name'")
        if not CALL_KEYS.issuperset(call):
            raise ValueError(f"call {index} has unknown keys {sorted(set(call) - CALL_KEYS)}; known: name, arguments")
        arguments = call.get("arguments")
        if arguments is None:
            arguments = {}
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments, separators=(",", ":"))
        elif not isinstance(arguments, str):
            raise ValueError(f"call {index}: 'arguments' must be an object or a JSON-encoded string")
        converted.append(ScriptedCall(call["name"], arguments))
    return tuple(converted)


def _optional(convert: Callable[[object], object]) -> Callable[[object], object]:
    def maybe(value: object) -> object:
        if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none", "null"}):
            return None
        return convert(value)

    return maybe


CONVERTERS: dict[str, Callable[[object], object]] = {
    "ttft_ms": _number(0),
    "tps": _number(0),
    "tokens": _integer(0),
    "min_tokens": _optional(_integer(0)),
    "prose": _flag,
    "fail_rate": _optional(_number(0, 1)),
    "status": _status,
    "retry_after": _number(0),
    "hang": _flag,
    "drop_after": _optional(_integer(0)),
    "text": _optional(str),
    "echo": _flag,
    "echo_system": _flag,
    "calls": _optional(_calls),
}


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How to answer: `fail_rate=None` means "fail always if `status` is set"; a number makes failures random."""

    ttft_ms: float = 0.0
    tps: float = 0.0
    tokens: int = 20
    min_tokens: int | None = None  # a length in [min_tokens, tokens] picked by the conversation; None: `tokens`
    prose: bool = False  # sentences, paragraphs and some Markdown instead of plain words
    fail_rate: float | None = None
    status: int = 0
    retry_after: float = 1.0
    hang: bool = False
    drop_after: int | None = None
    text: str | None = None  # answer exactly this (one token per word with its leading space)
    echo: bool = False  # answer the last user message, word by word: what reached the provider
    echo_system: bool = False  # answer the system prompt instead (what a stage added to it)
    calls: tuple[ScriptedCall, ...] | None = None  # answer exactly these tool calls, whatever the request offers

    def merged(self, overrides: Mapping[str, object]) -> Behaviour:
        """This behaviour with the given fields replaced, each validated; raises BehaviourError."""
        return replace(self, **coerce(overrides)) if overrides else self

    def failure_status(self, rng: random.Random) -> int:
        """The error status to answer with, or 0; draws from the seeded PRNG only when the rate is fractional."""
        if self.fail_rate is None:
            return self.status
        if self.fail_rate <= 0 or (self.fail_rate < 1 and rng.random() >= self.fail_rate):
            return 0
        return self.status or 500


def coerce(overrides: Mapping[str, object]) -> dict[str, object]:
    """Validate and convert raw override values (strings or JSON scalars) to the field types."""
    converted: dict[str, object] = {}
    for key, value in overrides.items():
        convert = CONVERTERS.get(key)
        if convert is None:
            raise BehaviourError(f"unknown behaviour '{key}'; known: {', '.join(CONVERTERS)}")
        try:
            converted[key] = convert(value)
        except (TypeError, ValueError) as error:
            raise BehaviourError(f"behaviour '{key}={value}': {error}") from None
    return converted


_JSON = json.JSONDecoder()


def _items(text: str) -> list[str]:
    """`text` split at its commas, except those inside a value that is a JSON array or object (`calls=[...]`).

    Only a value that starts with `[` or `{` and decodes up to a comma or the end is kept whole; anything else
    splits at every comma, as it always did.
    """
    items: list[str] = []
    start = 0
    while start <= len(text):
        comma = text.find(",", start)
        end = len(text) if comma < 0 else comma
        equals = text.find("=", start, end)
        value = equals + 1 + len(text[equals + 1 : end]) - len(text[equals + 1 : end].lstrip())  # after blanks
        if equals >= 0 and text[value : value + 1] in ("[", "{"):
            try:
                stop = _JSON.raw_decode(text, value)[1]
            except ValueError:
                stop = end  # not JSON: the value ends at the comma, as before
            rest = text[stop:].lstrip()
            if not rest or rest.startswith(","):
                end = len(text) - len(rest)
        items.append(text[start:end])
        start = end + 1
    return items


@lru_cache(maxsize=1024)
def parse_pairs(text: str) -> tuple[tuple[str, object], ...]:
    """`a=1,b=2` as validated pairs; cached because the same suffixes and headers repeat in benchmarks."""
    pairs: dict[str, str] = {}
    for item in _items(text):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise BehaviourError(f"behaviour '{item.strip()}' needs the form key=value")
        pairs[key.strip()] = value.strip()
    return tuple(coerce(pairs).items())


def model_overrides(model: str) -> tuple[tuple[str, object], ...]:
    """The overrides written after `@` in a model name (`fast@tps=200,tokens=50`)."""
    _, sep, suffix = model.partition(SUFFIX_MARK)
    return parse_pairs(suffix) if sep else ()


def base_model(model: str) -> str:
    """The model name without its behaviour suffix; answers depend on it, not on the suffix."""
    return model.partition(SUFFIX_MARK)[0]


@dataclass(frozen=True, slots=True)
class MockConfig:
    """Process-wide settings: where to listen, the default behaviour, the failure seed and an optional key."""

    host: str = "127.0.0.1"
    port: int = 8100
    behaviour: Behaviour = field(default_factory=Behaviour)
    seed: int = 0
    require_key: str | None = None
    record_limit: int = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line flags, shared by `python -m apps.mockllm.server` and `manage.py runmock`."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="Delay before any answer, in milliseconds.")
    parser.add_argument("--tps", type=float, default=0.0, help="Streamed tokens per second (0: as fast as possible).")
    parser.add_argument("--tokens", type=int, default=20, help="Answer length in tokens (at most, with --min-tokens).")
    parser.add_argument(
        "--min-tokens", type=int, default=None, help="Shortest answer: each conversation gets a length in min..tokens."
    )
    parser.add_argument("--prose", action="store_true", help="Answer in sentences and paragraphs, with some Markdown.")
    parser.add_argument("--fail-rate", type=float, default=None, help="Probability (0..1) of failing with --status.")
    parser.add_argument("--status", type=int, default=0, help="Error status to answer with (429, 500, 503...).")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429.")
    parser.add_argument("--hang", action="store_true", help="Accept requests and never answer.")
    parser.add_argument("--drop-after", type=int, default=None, help="Abort the connection after N tokens.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the PRNG deciding random failures.")
    parser.add_argument("--require-key", default=None, help="Accept only this API key (any non-empty key otherwise).")
    parser.add_argument("--record-limit", type=int, default=10_000, help="How many request records to keep.")


def config_from_options(options: Mapping[str, Any]) -> MockConfig:
    """A MockConfig from parsed flags (argparse namespace vars or Django command options); raises BehaviourError."""
    names = [item.name for item in fields(Behaviour)]
    behaviour = Behaviour().merged({name: options[name] for name in names if name in options})
    return MockConfig(
        host=str(options.get("host", "127.0.0.1")),
        port=int(options.get("port", 8100)),
        behaviour=behaviour,
        seed=int(options.get("seed", 0)),
        require_key=options.get("require_key") or None,
        record_limit=int(options.get("record_limit", 10_000)),
    )
