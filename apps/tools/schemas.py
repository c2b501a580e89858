"""JSON Schema for tool inputs (2020-12, with the maintained `jsonschema` library): a schema is
checked when it is saved, arguments are validated before a tool runs."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

MAX_SCHEMA_CHARS = 20_000


def schema_problem(schema: Any) -> str | None:
    """Why `schema` cannot describe a tool's input, in a sentence; None when it can."""
    if not isinstance(schema, dict):
        return "the input schema must be a JSON object"
    if schema.get("type", "object") != "object":
        return "a tool's input is an object: the schema's type must be 'object'"
    if len(str(schema)) > MAX_SCHEMA_CHARS:
        return f"the input schema is longer than {MAX_SCHEMA_CHARS} characters"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        return f"the input schema is not valid JSON Schema at {where}: {error.message}"
    return None


def arguments_problem(schema: dict, arguments: Any) -> str | None:
    """Why `arguments` do not match `schema` (the first error, with its place); None when they do."""
    if not isinstance(arguments, dict):
        return "the arguments must be a JSON object"
    errors = sorted(Draft202012Validator(schema).iter_errors(arguments), key=lambda error: list(error.path))
    if not errors:
        return None
    where = "/".join(str(part) for part in errors[0].absolute_path) or "the top level"
    return f"at {where}: {errors[0].message}"
