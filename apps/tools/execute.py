"""Running one tool call: the arguments validated against the tool's schema first, then the call
made by its kind (a built-in function, a signed HTTP POST to a checked address, an MCP server's
tool), within the tool's timeout and response cap. Every failure is a ToolResult the model can
read (timeout, HTTP status, invalid output, denied), never an exception for the caller."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from . import network
from .builtins import BUILTINS, CallContext, ToolFailure
from .schemas import arguments_problem

logger = logging.getLogger("catalyst.tools")
RESULT_MAX_CHARS = 16_000  # what the model is given of a result, at most
SIGNATURE_HEADER = "X-Catalyst-Signature"
_client: httpx.AsyncClient | None = None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A live tool as a call needs it: a snapshot of its row."""

    name: str
    description: str
    input_schema: dict
    kind: str
    timeout_seconds: float
    max_response_bytes: int
    cost_usd: Decimal = Decimal("0")
    url: str = ""
    secret: str = field(default="", repr=False)
    remote_name: str = ""
    server_url: str = ""
    server_token: str = field(default="", repr=False)
    allowed: tuple = ()  # the private destinations staff allow-listed (network.allowed_networks)

    def offered(self) -> dict:
        """The tool as a chat request offers it to a model (OpenAI's function shape)."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.input_schema}}  # fmt: skip

    def public(self) -> dict:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema,
                "kind": self.kind}  # fmt: skip


class Outcome:
    OK = "ok"
    INVALID_ARGUMENTS = "invalid_arguments"
    DENIED = "denied"
    TIMEOUT = "timeout"
    FAILED = "failed"  # the tool answered with an error (HTTP status, MCP isError, a built-in's failure)
    INVALID_OUTPUT = "invalid_output"
    WITHHELD = "withheld"  # the result looked like an injection (the indirect check)
    OVER_BUDGET = "over_budget"  # a priced tool the tenant's budget cannot pay for; not executed


@dataclass(slots=True)
class ToolResult:
    outcome: str
    content: str  # what the model reads: the result, or the error
    duration_ms: float = 0.0
    charged: Decimal = Decimal(0)  # a priced tool's price, charged to the tenant

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`: a receiver recomputes it with the
    tool's secret and refuses a stale timestamp, as with Stripe's webhooks."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def parse_arguments(raw: str) -> tuple[Any, str | None]:
    """The arguments a model sent (a JSON string), or why they are not JSON."""
    try:
        return json.loads(raw or "{}"), None
    except ValueError as error:
        return None, f"the arguments are not valid JSON ({error.msg} at character {error.pos})"


async def run(tool: ToolSpec, arguments: Any, context: CallContext, seconds: float | None = None) -> ToolResult:
    """`seconds`: what is left of the caller's own deadline, when it is shorter than the tool's timeout."""
    started = time.perf_counter()
    problem = arguments_problem(tool.input_schema, arguments)
    if problem is not None:
        return ToolResult(Outcome.INVALID_ARGUMENTS, f"Invalid arguments for {tool.name}: {problem}.")
    limit = tool.timeout_seconds if seconds is None else max(0.0, min(seconds, tool.timeout_seconds))
    try:
        async with asyncio.timeout(limit) as scope:
            content = await _call(tool, arguments, context)
        result = ToolResult(Outcome.OK, _text(content))
        if len(result.content.encode()) > tool.max_response_bytes:  # an MCP answer is capped once it is read
            raise InvalidOutput(f"the answer is larger than {tool.max_response_bytes} bytes")
    except TimeoutError:
        if not scope.expired():
            raise  # not this call's timeout
        why = f"did not answer within {tool.timeout_seconds:g} s" if limit == tool.timeout_seconds else (
            "was stopped: the run's deadline passed")  # fmt: skip
        result = ToolResult(Outcome.TIMEOUT, f"{tool.name} {why}.")
    except ToolFailure as failure:
        result = ToolResult(getattr(failure, "outcome", Outcome.FAILED), f"{tool.name} failed: {failure}.")
    except (httpx.HTTPError, OSError) as error:
        result = ToolResult(Outcome.FAILED, f"{tool.name} could not be reached ({type(error).__name__}).")
    except Exception as error:
        logger.warning("tool call failed", extra={"tool": tool.name, "error": type(error).__name__}, exc_info=True)
        result = ToolResult(Outcome.FAILED, f"{tool.name} failed ({type(error).__name__}).")
    result.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    return result


def _text(content: Any) -> str:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, default=str)
    return text if len(text) <= RESULT_MAX_CHARS else text[:RESULT_MAX_CHARS] + " …(cut)"


async def _call(tool: ToolSpec, arguments: dict, context: CallContext) -> Any:
    if tool.kind == "builtin":
        builtin = BUILTINS.get(tool.name)
        if builtin is None:
            raise ToolFailure("this built-in is not in this version of Catalyst")
        return await builtin.function(context, arguments)
    if tool.kind == "http":
        return await _post(tool, arguments, context)
    if tool.kind == "mcp":
        from . import mcp_client

        return await mcp_client.call(tool, arguments)
    raise ToolFailure(f"unknown kind '{tool.kind}'")


class InvalidOutput(ToolFailure):
    outcome = Outcome.INVALID_OUTPUT


def http_client() -> httpx.AsyncClient:
    global _client
    if _client is None:  # redirects are never followed: a 3xx could point anywhere
        _client = httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=httpx.Timeout(300.0))
    return _client


async def _post(tool: ToolSpec, arguments: dict, context: CallContext) -> Any:
    target = await network.destination(tool.url, tool.allowed)
    body = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json", "Host": target.host, "User-Agent": "Catalyst-Tools/1",
        SIGNATURE_HEADER: signature(tool.secret, int(time.time()), body), "X-Catalyst-Tool": tool.name,
        "X-Catalyst-Request-Id": context.request_id, "X-Catalyst-Tenant": context.principal.tenant_slug,
    }  # fmt: skip
    request = http_client().build_request(
        "POST", target.url, content=body, headers=headers, extensions={"sni_hostname": target.server_name}
    )
    response = await http_client().send(request, stream=True)
    try:
        if not 200 <= response.status_code < 300:
            raise ToolFailure(f"the tool answered HTTP {response.status_code}")
        data = bytearray()
        async for piece in response.aiter_bytes():
            data += piece
            if len(data) > tool.max_response_bytes:
                raise InvalidOutput(f"the answer is larger than {tool.max_response_bytes} bytes")
    finally:
        await response.aclose()
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise InvalidOutput("the answer is not UTF-8 text") from None
    if "json" in response.headers.get("content-type", ""):
        try:
            return json.loads(text)
        except ValueError:
            raise InvalidOutput("the answer says it is JSON but is not") from None
    return text
