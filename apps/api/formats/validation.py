"""Shared request-body handling: size limit, JSON parsing, and pydantic errors as 400s."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from pydantic import BaseModel, BeforeValidator, Strict, ValidationError

from apps.core.errors import InvalidRequest, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)


def _a_number(value: Any) -> Any:
    """JSON numbers only: "5" is not a token count and true is not 1 (5.0 is still 5)."""
    if isinstance(value, str | bool):
        raise ValueError("Input should be a number, not a string or a boolean")
    return value


NUMBER_ONLY = BeforeValidator(_a_number)
# A bounded optional integer is `Annotated[int, Field(ge=1), NUMBER_ONLY] | None`, the bound first:
# pydantic drops it from the JSON schema when it comes after the validator or outside the union.
Integer = Annotated[int, NUMBER_ONLY]
Number = Annotated[float, Strict()]  # an int is a number; a string or a boolean is not
# A JSON escape of a UTF-16 surrogate. Pairs decode to one character; a lone one stays a surrogate,
# which no UTF-8 encoder accepts (the provider SDK, PostgreSQL): such text is refused here, as is
# NUL, which PostgreSQL cannot store in text or jsonb (conversations, stored responses).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")


def json_body(request: HttpRequest) -> dict[str, Any]:
    limit = settings.GATEWAY_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.") from None
    if len(raw) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The request body is not valid JSON.") from None
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if _SUSPECT_ESCAPE.search(raw):
        refuse_invalid_text(body)
    return body


def refuse_invalid_text(value: Any) -> None:
    """Raise InvalidRequest naming the first string (or key) holding a lone surrogate or a NUL."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _encodable(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                _encodable(key, path)
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            stack.extend((child, f"{path}.{index}" if path else str(index)) for index, child in enumerate(item))


def _encodable(text: str, path: str) -> None:
    if "\x00" in text:
        raise InvalidRequest(
            f"{path or 'body'}: the text holds a NUL character (U+0000), which cannot be stored.",
            param=path.split(".", 1)[0] or None,
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(
            f"{path or 'body'}: the text holds a lone UTF-16 surrogate, which is not valid Unicode.",
            param=path.split(".", 1)[0] or None,
        ) from None


def validated(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        location = ".".join(str(part) for part in first["loc"])
        raise InvalidRequest(f"{location or 'body'}: {first['msg']}", param=_param(first["loc"])) from None


def _param(loc: tuple) -> str | None:
    """The field the client got wrong: its top-level name, with the item index for lists.

    Deeper parts of pydantic's location name union branches (`str`, `user`), not fields."""
    if not loc:
        return None
    if len(loc) > 1 and isinstance(loc[1], int):
        return f"{loc[0]}.{loc[1]}"
    return str(loc[0])
