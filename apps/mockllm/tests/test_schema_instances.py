"""The schema filler behind tool arguments and structured output: exact instances, keyword by keyword."""

from __future__ import annotations

import json
import uuid
from datetime import time, timedelta
from decimal import Decimal
from typing import Annotated, Literal

import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import UUID4, BaseModel, Field, HttpUrl

from apps.mockllm.schema_instances import instance_for

from .structured import LINE, ORDER, REQUIRED_ORDER, STRICT_ORDER, Order

KEYWORDS = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "code": {"type": "string", "minLength": 12, "maxLength": 14},
        "short": {"type": "string", "maxLength": 3},
        "when": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"},
        "email": {"type": "string", "format": "email"},
        "site": {"type": "string", "format": "uri"},
        "key": {"type": "string", "format": "uuid"},
        "mode": {"enum": ["b", "a"]},
        "fixed": {"const": 7},
        "count": {"type": "integer", "minimum": 3, "maximum": 9},
        "below": {"type": "integer", "exclusiveMaximum": 0},
        "ratio": {"type": "number", "exclusiveMinimum": 2, "exclusiveMaximum": 3},
        "on": {"type": "boolean"},
        "nothing": {"type": "null"},
        "either": {"anyOf": [{"type": "string", "format": "email"}, {"type": "integer"}]},
        "one": {"oneOf": [{"type": "null"}, {"type": "integer"}]},
        "maybe": {"type": ["null", "boolean"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 2},
        "three": {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 3},
        "none": {"type": "array", "items": {"type": "integer"}, "maxItems": 0},
        "level": {"type": "integer", "default": 4},
        "wrong_default": {"type": "string", "default": None},
        "inner": {"type": "object", "properties": {"x": {"type": "number"}}, "additionalProperties": False},
        "point": {"$ref": "#/$defs/Point"},
        "legacy": {"$ref": "#/definitions/Legacy"},
    },
    "required": ["name", "extra"],
    "additionalProperties": False,
    "$defs": {
        "Point": {
            "type": "object",
            "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
            "required": ["x"],
        }
    },
    "definitions": {"Legacy": {"type": "string", "enum": ["v1", "v2"]}},
}
KEYWORDS_INSTANCE = {
    "name": "mock-name",
    "code": "mock-codexxx",
    "short": "moc",
    "when": "2025-01-01T00:00:00Z",
    "day": "2025-01-01",
    "email": "mock@example.com",
    "site": "https://example.com/mock",
    "key": "00000000-0000-4000-8000-000000000000",
    "mode": "b",
    "fixed": 7,
    "count": 3,
    "below": -1,
    "ratio": 2.5,
    "on": True,
    "nothing": None,
    "either": "mock@example.com",
    "one": 1,
    "maybe": True,
    "tags": ["mock-tags"],
    "pair": [1, "mock-pair"],
    "three": [1, 1, 1],
    "none": [],
    "level": 4,
    "wrong_default": "mock-wrong_default",
    "inner": {"x": 1.5},
    "point": {"x": 1, "y": 1},
    "legacy": "v1",
    "extra": "mock-extra",
}
TREE = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
    "required": ["name", "children"],
}


class Circle(BaseModel):
    kind: Literal["circle"]
    radius: float = Field(gt=0)


class Square(BaseModel):
    kind: Literal["square"]
    side: float


class Node(BaseModel):
    label: str
    children: list[Node]


class Everything(BaseModel):
    """The pydantic types whose schemas use formats, tuples, unions and recursion."""

    shape: Annotated[Circle | Square, Field(discriminator="kind")]
    tree: Node
    pair: tuple[int, str]
    unique: set[int]
    counts: dict[str, int]
    amount: Decimal
    at: time
    wait: timedelta
    key: UUID4
    plain_key: uuid.UUID
    site: HttpUrl
    code: str = Field(min_length=20, max_length=20)
    small: int = Field(ge=-5, lt=0)


def test_a_complete_instance_honours_every_supported_keyword():
    assert instance_for(KEYWORDS, complete=True) == KEYWORDS_INSTANCE


def test_tool_arguments_fill_only_the_required_properties_with_the_same_values():
    assert instance_for(KEYWORDS, complete=False) == {"name": "mock-name", "extra": "mock-extra"}
    assert instance_for(Order.model_json_schema(), complete=False) == REQUIRED_ORDER
    assert REQUIRED_ORDER["lines"] == [LINE]  # minItems 1: one line even without `complete`


@pytest.mark.parametrize(
    ("bounds", "integer", "value"),
    [
        ({}, True, 1),
        ({"minimum": 1.2}, True, 2),
        ({"exclusiveMinimum": 1}, True, 2),
        ({"maximum": -3.5}, True, -4),
        ({"minimum": 5, "exclusiveMinimum": 5}, True, 6),
        ({}, False, 1.5),
        ({"minimum": 2}, False, 2),
        ({"exclusiveMinimum": 2}, False, 3),
        ({"exclusiveMaximum": 1.5}, False, 0.5),
        ({"maximum": 1}, False, 1),
        ({"exclusiveMinimum": 0, "exclusiveMaximum": 1}, False, 0.5),
        ({"minimum": 7, "maximum": 7}, False, 7),
    ],
)
def test_a_number_is_1_or_1_5_unless_the_bounds_need_another_value_inside_them(bounds, integer, value):
    schema = {"type": "integer" if integer else "number", **bounds}

    assert instance_for(schema, complete=True) == value


def test_a_recursive_schema_nests_a_few_levels_then_stops_where_the_schema_allows():
    tree = instance_for(TREE, complete=True)
    depth = 1
    while tree["children"]:
        (tree,) = tree["children"]
        depth += 1

    assert (depth, tree) == (4, {"name": "mock-name", "children": []})


def test_a_nullable_recursion_ends_with_null_and_an_endless_one_still_returns():
    linked = {
        "type": "object",
        "properties": {"next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
        "required": ["next"],
    }
    endless = {"type": "object", "properties": {"self": {"$ref": "#"}}, "required": ["self"]}

    assert instance_for(linked, complete=True) == {"next": {"next": {"next": {"next": None}}}}
    innermost = instance_for(endless, complete=False)
    while isinstance(innermost, dict):
        innermost = innermost["self"]
    assert innermost is None


@pytest.mark.parametrize("strict", [False, True])
def test_a_pydantic_models_schema_gives_an_instance_the_model_accepts(strict):
    schema = to_strict_json_schema(Order) if strict else Order.model_json_schema()

    instance = instance_for(schema, complete=True)

    assert instance == (STRICT_ORDER if strict else ORDER)
    assert Order.model_validate_json(json.dumps(instance)).model_dump(mode="json") == instance


@pytest.mark.parametrize("strict", [False, True])
def test_unions_tuples_sets_and_recursive_pydantic_models_validate_too(strict):
    schema = to_strict_json_schema(Everything) if strict else Everything.model_json_schema()

    parsed = Everything.model_validate_json(json.dumps(instance_for(schema, complete=True)))

    assert parsed.shape == Circle(kind="circle", radius=1.5)
    assert (parsed.pair, parsed.unique, parsed.counts, parsed.amount) == ((1, "mock-pair"), {1}, {}, Decimal("1.5"))
    assert (parsed.at.isoformat(), parsed.wait, str(parsed.site)) == (
        "00:00:00+00:00",
        timedelta(days=1),
        "https://example.com/mock",
    )
    assert parsed.key == parsed.plain_key == uuid.UUID("00000000-0000-4000-8000-000000000000")
    assert (parsed.code, parsed.small) == ("mock-codexxxxxxxxxxx", -1)
    assert parsed.tree.label == "mock-label"
