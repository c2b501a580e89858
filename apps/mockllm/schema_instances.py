"""Deterministic instances of JSON schemas: tool-call arguments and structured output.

Real providers constrain decoding to the schema, so clients parse the answer straight into their models
(pydantic, zod). The mock does the same with fixed values, so an answer is predictable from the schema alone:
`"mock-<property>"`, 1, 1.5, true, null, the `const`, a fitting `default` or the first `enum` value, the first
non-null member of `anyOf`/`oneOf`/`allOf`, `$ref`s resolved, nested objects recursively. Tool arguments fill
the required properties only; structured output (`complete`) fills every property and gives an array one item,
as a strict-mode answer would. `pattern`, `multipleOf`, `uniqueItems` and `not` are not honoured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FORMATS = {
    "date": "2025-01-01",
    "date-time": "2025-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "mock@example.com",
    "uri": "https://example.com/mock",
    "uuid": "00000000-0000-4000-8000-000000000000",  # a valid version 4, so pydantic's UUID4 accepts it too
    "uuid4": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}
PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}
# Past FULL_DEPTH only what the schema requires is filled (no optional property, no extra array item, the null
# branch of a union), so recursive models such as a tree of nodes end; MAX_DEPTH stops schemas that never do.
FULL_DEPTH = 8
MAX_DEPTH = 32

Bound = tuple[float, bool]  # a limit and whether it is exclusive


def instance_for(schema: object, *, complete: bool) -> object:
    """A value valid against `schema` (for the keywords above); `complete` also fills what is optional."""
    return _Filler(schema if isinstance(schema, dict) else {}, complete).value("value", schema, 0)


@dataclass(frozen=True, slots=True)
class _Filler:
    root: dict
    complete: bool

    def value(self, name: str, schema: object, depth: int) -> object:
        """The instance of `schema` for the property `name` (which names its strings), `depth` levels down."""
        if depth > MAX_DEPTH:
            return None
        if not isinstance(schema, dict):
            return f"mock-{name}"  # a missing or boolean schema accepts anything
        if "const" in schema:
            return schema["const"]
        # pydantic writes `x: str = None` as {"type": "string", "default": null}: a default of another type
        # would fail validation as an explicit value, so only a fitting one is used.
        if "default" in schema and _fits(schema["default"], schema.get("type")):
            return schema["default"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[0]
        if isinstance(schema.get("$ref"), str):
            return self.value(name, self._resolve(schema["$ref"]), depth + 1)
        for key in ("anyOf", "oneOf", "allOf"):
            listed = schema.get(key)
            options = [option for option in listed if isinstance(option, dict)] if isinstance(listed, list) else []
            if options:
                return self.value(name, self._choose(options, depth), depth + 1)
        kind = _kind(schema)
        if kind == "object":
            return self._object(schema, depth + 1)
        if kind == "array":
            return self._array(name, schema, depth + 1)
        if kind in ("integer", "number"):
            return _number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return _string(name, schema)

    def _full(self, depth: int) -> bool:
        return self.complete and depth <= FULL_DEPTH

    def _resolve(self, ref: str) -> object:
        """A local JSON pointer (`#`, `#/$defs/Name`, `#/definitions/Name`); anything else is an open schema."""
        if ref != "#" and not ref.startswith("#/"):
            return {}
        node: object = self.root
        for part in ref[2:].split("/") if ref != "#" else ():
            key = part.replace("~1", "/").replace("~0", "~")
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    def _choose(self, options: list[dict], depth: int) -> dict:
        """The first option that is not null; deep down, the null one, so optional recursion ends."""
        nulls = [option for option in options if option.get("type") == "null"]
        if nulls and depth > FULL_DEPTH:
            return nulls[0]
        return next((option for option in options if option.get("type") != "null"), options[0])

    def _object(self, schema: dict, depth: int) -> dict[str, object]:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        listed = schema.get("required")
        required = [key for key in listed if isinstance(key, str)] if isinstance(listed, list) else []
        keys = [*properties, *required] if self._full(depth) else required
        return {key: self.value(key, properties.get(key, {}), depth) for key in dict.fromkeys(keys)}

    def _array(self, name: str, schema: dict, depth: int) -> list[object]:
        items = schema.get("items")
        prefix = schema.get("prefixItems")
        if isinstance(items, list):  # draft 4 tuples: `items` is the list, `additionalItems` the rest
            prefix, items = items, schema.get("additionalItems")
        prefix = prefix if isinstance(prefix, list) else []
        count = _count(schema.get("minItems")) or 0
        if self._full(depth):
            count = max(count, len(prefix) or 1)
        ceiling = _count(schema.get("maxItems"))
        if ceiling is not None:
            count = min(count, ceiling)
        return [self.value(name, prefix[index] if index < len(prefix) else items, depth) for index in range(count)]


def _kind(schema: dict) -> str:
    """The type to build: the declared one (the first non-null of a list), else what the keywords imply."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _fits(value: object, kind: object) -> bool:
    """Whether `value` has the declared JSON type (any, when none is declared); true and false are not numbers."""
    if kind is None:
        return True
    for name in kind if isinstance(kind, list) else [kind]:
        expected = PYTHON_TYPES.get(name) if isinstance(name, str) else None
        if expected is not None and isinstance(value, expected) and (name == "boolean" or not isinstance(value, bool)):
            return True
    return False


def _string(name: str, schema: dict) -> str:
    known = FORMATS.get(schema.get("format")) if isinstance(schema.get("format"), str) else None
    if known is not None:
        return known
    text = f"mock-{name}"
    shortest, longest = _count(schema.get("minLength")), _count(schema.get("maxLength"))
    if shortest is not None:
        text = text.ljust(shortest, "x")
    return text if longest is None else text[:longest]


def _number(schema: dict, *, integer: bool) -> int | float:
    """1 (or 1.5) when the bounds allow it, else the nearest value inside them."""
    lower, upper = _lower(schema), _upper(schema)
    if integer:
        value = 1
        if lower is not None:
            value = max(value, math.floor(lower[0]) + 1 if lower[1] else math.ceil(lower[0]))
        if upper is not None:
            value = min(value, math.ceil(upper[0]) - 1 if upper[1] else math.floor(upper[0]))
        return value
    candidates = [1.5]
    if lower is not None:
        candidates.append(lower[0] + 1 if lower[1] else lower[0])
    if upper is not None:
        candidates.append(upper[0] - 1 if upper[1] else upper[0])
    if lower is not None and upper is not None:
        candidates.append((lower[0] + upper[0]) / 2)  # inside even two exclusive bounds a unit apart
    return next((value for value in candidates if _inside(value, lower, upper)), candidates[-1])


def _lower(schema: dict) -> Bound | None:
    bounds = _limits(schema, "minimum", "exclusiveMinimum")
    return max(bounds) if bounds else None  # at equal limits (x, True) sorts last: the exclusive one is tighter


def _upper(schema: dict) -> Bound | None:
    bounds = _limits(schema, "maximum", "exclusiveMaximum")
    return min(bounds, key=lambda bound: (bound[0], not bound[1])) if bounds else None


def _limits(schema: dict, inclusive: str, exclusive: str) -> list[Bound]:
    """The numeric limits present (draft 4's boolean `exclusiveMinimum` is not one)."""
    return [
        (schema[key], is_exclusive)
        for key, is_exclusive in ((inclusive, False), (exclusive, True))
        if isinstance(schema.get(key), int | float) and not isinstance(schema.get(key), bool)
    ]


def _inside(value: float, lower: Bound | None, upper: Bound | None) -> bool:
    above = lower is None or value > lower[0] or (value == lower[0] and not lower[1])
    below = upper is None or value < upper[0] or (value == upper[0] and not upper[1])
    return above and below


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
