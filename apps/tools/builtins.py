"""Built-in tools: Python functions registered in code. They ship live and granted to every tier;
staff may disable one in the admin (a later migration leaves it disabled)."""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.tenancy.principal import Principal


class ToolFailure(Exception):
    """A tool could not do what it was asked; the message goes back to the model."""


@dataclass(frozen=True, slots=True)
class CallContext:
    principal: Principal
    request_id: str


BuiltinFunction = Callable[[CallContext, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Builtin:
    name: str
    description: str
    input_schema: dict
    function: BuiltinFunction


BUILTINS: dict[str, Builtin] = {}


def builtin(name: str, description: str, input_schema: dict) -> Callable[[BuiltinFunction], BuiltinFunction]:
    def register(function: BuiltinFunction) -> BuiltinFunction:
        BUILTINS[name] = Builtin(name, description, input_schema, function)
        return function

    return register


# --- calculator: arithmetic from a syntax tree, never eval --------------------------------------

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}  # fmt: skip
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {
    "sqrt": math.sqrt, "abs": abs, "round": round, "min": min, "max": max, "log": math.log, "log10": math.log10,
    "exp": math.exp, "sin": math.sin, "cos": math.cos, "tan": math.tan, "floor": math.floor, "ceil": math.ceil,
}  # fmt: skip
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_EXPRESSION = 500
MAX_MAGNITUDE = 1e300


def calculate(expression: str) -> int | float:
    """The value of an arithmetic expression: numbers, + - * / // % **, parentheses, a few math
    functions and constants. Anything else (names, attributes, calls of other things) is refused."""
    if len(expression) > MAX_EXPRESSION:
        raise ToolFailure(f"the expression is longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise ToolFailure("the expression is not valid arithmetic") from None
    try:
        value = _value(tree.body)
    except ZeroDivisionError:
        raise ToolFailure("division by zero") from None
    except (OverflowError, ValueError) as error:
        raise ToolFailure(f"the expression has no finite value ({error})") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolFailure("the expression has no finite value")
    return value


def _value(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 1000 or (abs(left) > 1e6 and right > 1)):
            raise ToolFailure("the power is too large")
        result = _BINARY[type(node.op)](left, right)
        if abs(result) > MAX_MAGNITUDE:
            raise ToolFailure("the result is too large")
        return result
    if (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        and not node.keywords and 0 < len(node.args) <= 10
    ):  # fmt: skip
        return _FUNCTIONS[node.func.id](*(_value(argument) for argument in node.args))
    raise ToolFailure(f"'{ast.unparse(node)[:40]}' is not arithmetic this calculator knows")


@builtin(
    "calculator",
    "Evaluate an arithmetic expression exactly, e.g. '(17 * 23) / 4' or 'sqrt(2) ** 2'.",
    {
        "type": "object",
        "properties": {"expression": {"type": "string", "minLength": 1, "maxLength": MAX_EXPRESSION}},
        "required": ["expression"],
        "additionalProperties": False,
    },
)
async def calculator(context: CallContext, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"expression": arguments["expression"], "value": calculate(arguments["expression"])}


@builtin(
    "current_time",
    "The current date and time in a time zone (an IANA name such as 'Europe/Rome'; UTC by default).",
    {
        "type": "object",
        "properties": {"timezone": {"type": "string", "minLength": 1, "maxLength": 64, "default": "UTC"}},
        "additionalProperties": False,
    },
)
async def current_time(context: CallContext, arguments: dict[str, Any]) -> dict[str, Any]:
    name = arguments.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolFailure(f"'{name}' is not a known time zone") from None
    now = dt.datetime.now(zone)
    return {"timezone": name, "iso": now.isoformat(timespec="seconds"), "weekday": now.strftime("%A")}


@builtin(
    "search_documents",
    "Search the caller's documents (its vector stores) and return the passages that best answer a query.",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 4096},
            "vector_store_ids": {"type": "array", "items": {"type": "string", "maxLength": 64}, "maxItems": 10},
            "limit": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)
async def search_documents(context: CallContext, arguments: dict[str, Any]) -> dict[str, Any]:
    from apps.core.errors import ApiError
    from apps.retrieval import services

    store_ids = arguments.get("vector_store_ids") or await services.recent_stores(context.principal.tenant_id)
    if not store_ids:
        raise ToolFailure("the caller has no vector stores to search")
    try:
        hits, attachments = await services.find(
            context.principal, context.request_id, store_ids, [arguments["query"]], arguments.get("limit", 5), None
        )
    except ApiError as error:  # an unknown or expired store: the model is told, the run goes on
        raise ToolFailure(error.message) from None
    return {
        "results": [
            {"file_id": attachments[hit.attachment_id].file.public_id,
             "filename": attachments[hit.attachment_id].file.filename, "score": round(hit.score, 6), "text": hit.text}
            for hit in hits
        ]
    }  # fmt: skip


def install(sender=None, **kwargs) -> None:
    """After migrations: every built-in has its row, live and granted to every tier. A row staff
    disabled stays disabled; its description and schema follow the code."""
    from django.utils import timezone

    from .models import Tool, ToolKind, ToolStatus

    for spec in BUILTINS.values():
        tool, created = Tool.objects.get_or_create(
            name=spec.name,
            defaults={"kind": ToolKind.BUILTIN, "description": spec.description, "input_schema": spec.input_schema,
                      "status": ToolStatus.LIVE, "all_tiers": True, "timeout_seconds": 10.0,
                      "approved_at": timezone.now()},  # shipped approved: the code was reviewed
        )  # fmt: skip
        if not created and tool.kind == ToolKind.BUILTIN:
            Tool.objects.filter(pk=tool.pk).update(description=spec.description, input_schema=spec.input_schema)
    from .registry import tools_changed

    tools_changed()
