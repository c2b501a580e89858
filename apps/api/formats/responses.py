"""The OpenAI Responses API on the wire: the request schema and its translation to the canonical
chat request, and the response object and streaming events the `openai` SDK (and the clients
built on it: the AI SDK, LangChain, pydantic-ai) parse.

A response's output is items: a `message` whose content is `output_text` parts, and a
`function_call` per tool call. Its input may be a string or items: messages (with `input_text`,
`input_image` and `output_text` parts), `function_call` and `function_call_output`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from apps.core import money
from apps.core.errors import ApiError, InvalidRequest
from apps.gateway.pipeline import Request
from apps.providers.types import ChatRequest, Completion, Event, Finish, TextDelta, ToolCall, ToolCallDelta

from . import sse
from .validation import NUMBER_ONLY, Number


class _Base(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InputText(_Base):
    type: Literal["input_text", "output_text", "text"]
    text: str


class InputImage(_Base):
    type: Literal["input_image"]
    image_url: str = Field(max_length=20_000_000)
    detail: Literal["auto", "low", "high"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _by_url(cls, part: Any) -> Any:
        if isinstance(part, dict) and part.get("image_url") is None:
            raise InvalidRequest("input_image needs an image_url (file ids are not supported).", param="input")
        return part


class Refusal(_Base):
    type: Literal["refusal"]
    refusal: str


Part = Annotated[InputText | InputImage | Refusal, Field(discriminator="type")]


class MessageItem(_Base):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[Part]


class FunctionCallItem(_Base):
    type: Literal["function_call"]
    call_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=64)
    arguments: str


class FunctionCallOutputItem(_Base):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1, max_length=200)
    output: str | list[InputText]


InputItem = MessageItem | FunctionCallItem | FunctionCallOutputItem


class FunctionTool(_Base):
    type: Literal["function"]
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class NamedFunction(_Base):
    type: Literal["function"]
    name: str


class PlainText(_Base):
    type: Literal["text"]


class JsonObject(_Base):
    type: Literal["json_object"]


class JsonSchema(_Base):
    type: Literal["json_schema"]
    name: str | None = Field(None, max_length=64)
    schema_: dict[str, Any] = Field(alias="schema")
    strict: StrictBool | None = None
    description: str | None = None


TextFormat = Annotated[PlainText | JsonObject | JsonSchema, Field(discriminator="type")]


class TextOptions(_Base):
    format: TextFormat | None = None


class ResponsesRequest(_Base):
    model: str = Field(min_length=1, max_length=200)
    input: Annotated[str, Field(min_length=1)] | Annotated[list[InputItem], Field(min_length=1)]
    instructions: str | None = Field(None, max_length=400_000)
    previous_response_id: str | None = Field(None, max_length=64)
    store: StrictBool = True
    stream: StrictBool = False
    tools: list[FunctionTool] | None = Field(None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | NamedFunction | None = None
    text: TextOptions | None = None
    max_output_tokens: Annotated[int, Field(ge=1), NUMBER_ONLY] | None = None
    temperature: Number | None = Field(None, ge=0, le=2)
    top_p: Number | None = Field(None, ge=0, le=1)
    parallel_tool_calls: StrictBool | None = None
    metadata: dict[str, str] | None = Field(None, max_length=16)
    user: str | None = Field(None, max_length=256)

    def input_messages(self) -> list[dict[str, Any]]:
        """This request's input as canonical chat messages (without the instructions, which do not
        carry over to responses that continue this one)."""
        if isinstance(self.input, str):
            return [{"role": "user", "content": self.input}]
        messages: list[dict[str, Any]] = []
        for item in self.input:
            if isinstance(item, MessageItem):
                messages.append(_message(item))
            elif isinstance(item, FunctionCallItem):
                call = {
                    "id": item.call_id,
                    "type": "function",
                    "function": {"name": item.name, "arguments": item.arguments},
                }
                if messages and messages[-1]["role"] == "assistant" and "tool_calls" in messages[-1]:
                    messages[-1]["tool_calls"].append(call)
                else:
                    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            else:
                output = item.output if isinstance(item.output, str) else "".join(part.text for part in item.output)
                messages.append({"role": "tool", "tool_call_id": item.call_id, "content": output})
        return messages

    def to_chat(self, history: list[dict[str, Any]]) -> ChatRequest:
        system = [{"role": "system", "content": self.instructions}] if self.instructions else []
        return ChatRequest(
            messages=[*system, *history, *self.input_messages()],
            max_tokens=self.max_output_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            tools=[_tool(tool) for tool in self.tools] if self.tools else None,
            tool_choice=_tool_choice(self.tool_choice),
            response_format=_response_format(self.text.format if self.text else None),
            parallel_tool_calls=self.parallel_tool_calls,
            user=self.user,
        )


def _message(item: MessageItem) -> dict[str, Any]:
    if isinstance(item.content, str):
        return {"role": item.role, "content": item.content}
    parts: list[dict[str, Any]] = []
    for part in item.content:
        if isinstance(part, InputText):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, Refusal):
            parts.append({"type": "text", "text": part.refusal})
        elif item.role != "user":
            raise InvalidRequest("Only user messages may hold images.", param="input")
        else:
            parts.append({"type": "image_url", "image_url": {"url": part.image_url}})
    if item.role != "user" or all(part["type"] == "text" for part in parts):
        return {"role": item.role, "content": "".join(part["text"] for part in parts)}
    return {"role": item.role, "content": parts}


def _tool(tool: FunctionTool) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": tool.name,
        "parameters": tool.parameters or {"type": "object", "properties": {}},
    }
    if tool.description:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _tool_choice(choice) -> str | dict[str, Any] | None:
    if isinstance(choice, NamedFunction):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def _response_format(text_format: TextFormat | None) -> dict[str, Any] | None:
    if text_format is None or text_format.type == "text":
        return None
    if text_format.type == "json_object":
        return {"type": "json_object"}
    assert isinstance(text_format, JsonSchema)
    schema: dict[str, Any] = {"name": text_format.name or "response", "schema": text_format.schema_}
    if text_format.strict is not None:
        schema["strict"] = text_format.strict
    return {"type": "json_schema", "json_schema": schema}


# --- the response object --------------------------------------------------------------------


def response_id(request: Request) -> str:
    return "resp_" + request.request_id.removeprefix("req_")


def _item_id(prefix: str, request: Request, index: int) -> str:
    return f"{prefix}_{request.request_id.removeprefix('req_')}{index:02d}"


def output_items(request: Request, completion: Completion, status: str = "completed") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if completion.text or not completion.tool_calls:
        text = completion.text or ""
        items.append(_message_item(request, text, status))
    for index, call in enumerate(completion.tool_calls):
        items.append(_call_item(request, index, call, status))
    return items


def _message_item(request: Request, text: str, status: str) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "message", "id": _item_id("msg", request, 0), "status": status, "role": "assistant",
            "content": [part]}  # fmt: skip


def _call_item(request: Request, index: int, call: ToolCall, status: str) -> dict[str, Any]:
    return {"type": "function_call", "id": _item_id("fc", request, index), "call_id": call.id, "name": call.name,
            "arguments": call.arguments, "status": status}  # fmt: skip


def body(
    request: Request, wire: ResponsesRequest, output: list[dict[str, Any]], status: str,
    error: ApiError | None = None, incomplete: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    used = request.tokens
    text_format = (
        wire.text.format.model_dump(by_alias=True, exclude_none=True)
        if wire.text and wire.text.format
        else {"type": "text"}
    )
    return {
        "id": response_id(request),
        "object": "response",
        "created_at": int(request.started_at),
        "status": status,
        "model": request.model_name,
        "output": output,
        "output_text": "".join(
            part["text"] for item in output if item["type"] == "message" for part in item["content"]
        ),
        "usage": {
            "input_tokens": used.input_tokens,
            "input_tokens_details": {
                "cached_tokens": used.cached_tokens,
                "cache_write_tokens": used.cache_write_tokens,
            },
            "output_tokens": used.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": used.input_tokens + used.output_tokens,
            "cost_usd": money.usd(request.cost_usd),
        },
        "error": {"code": str(error.code), "message": error.message} if error is not None else None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": wire.instructions,
        "previous_response_id": wire.previous_response_id,
        "tools": [tool.model_dump(exclude_none=True) for tool in wire.tools or ()],
        "tool_choice": wire.tool_choice.model_dump()
        if isinstance(wire.tool_choice, BaseModel)
        else wire.tool_choice or "auto",
        "parallel_tool_calls": wire.parallel_tool_calls if wire.parallel_tool_calls is not None else True,
        "text": {"format": text_format},
        "temperature": wire.temperature,
        "top_p": wire.top_p,
        "max_output_tokens": wire.max_output_tokens,
        "metadata": wire.metadata or {},
        "store": wire.store,
        "truncation": "disabled",
        "user": wire.user,
        "reasoning": {"effort": None, "summary": None},
    }


def final_status(completion: Completion) -> tuple[str, str | None]:
    """`completed`, or `incomplete` with its reason when the answer was cut by the output cap."""
    if completion.finish_reason == "length":
        return "incomplete", "max_output_tokens"
    return "completed", None


def turn_messages(wire: ResponsesRequest, completion: Completion) -> list[dict[str, Any]]:
    """What this response adds to its conversation, for a later previous_response_id."""
    answer: dict[str, Any] = {"role": "assistant", "content": completion.text}
    if completion.tool_calls:
        answer["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in completion.tool_calls
        ]
    return [*wire.input_messages(), answer]


# --- streaming ------------------------------------------------------------------------------


class Stream:
    """The Responses event sequence for one answer, numbered as the SDK expects."""

    def __init__(self, request: Request, wire: ResponsesRequest) -> None:
        self.request, self.wire = request, wire
        self.sequence = 0
        self.text: list[str] = []
        self.calls: dict[int, list[str]] = {}  # upstream index → [id, name, arguments]
        self.open_items: dict[str, int] = {}  # "message" or f"call{index}" → output index
        self.output: list[dict[str, Any]] = []
        self.finish = "stop"

    def event(self, kind: str, payload: dict[str, Any]) -> bytes:
        frame = sse.event(kind, {**payload, "sequence_number": self.sequence})
        self.sequence += 1
        return frame

    def start(self) -> list[bytes]:
        shell = body(self.request, self.wire, [], "in_progress")
        return [
            self.event("response.created", {"response": shell}),
            self.event("response.in_progress", {"response": shell}),
        ]

    def on(self, event: Event) -> list[bytes]:
        if isinstance(event, TextDelta) and event.text:
            return self._text(event.text)
        if isinstance(event, ToolCallDelta):
            return self._call(event)
        if isinstance(event, Finish):
            self.finish = event.reason
        return []

    def _text(self, delta: str) -> list[bytes]:
        frames = []
        item_id = _item_id("msg", self.request, 0)
        if "message" not in self.open_items:
            frames += self._close_calls()
            self.open_items["message"] = len(self.output)
            self.output.append(_message_item(self.request, "", "in_progress"))
            index = self.open_items["message"]
            frames.append(
                self.event(
                    "response.output_item.added", {"output_index": index, "item": {**self.output[index], "content": []}}
                )
            )
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            frames.append(
                self.event(
                    "response.content_part.added",
                    {"item_id": item_id, "output_index": index, "content_index": 0, "part": part},
                )
            )
        self.text.append(delta)
        index = self.open_items["message"]
        frames.append(
            self.event(
                "response.output_text.delta",
                {"item_id": item_id, "output_index": index, "content_index": 0, "delta": delta, "logprobs": []},
            )
        )
        return frames

    def _close_message(self) -> list[bytes]:
        if "message" not in self.open_items or self.open_items["message"] is None:
            return []
        index = self.open_items["message"]
        self.open_items["message"] = None
        text, item_id = "".join(self.text), _item_id("msg", self.request, 0)
        item = _message_item(self.request, text, "completed")
        self.output[index] = item
        part = item["content"][0]
        return [
            self.event(
                "response.output_text.done",
                {"item_id": item_id, "output_index": index, "content_index": 0, "text": text, "logprobs": []},
            ),
            self.event(
                "response.content_part.done",
                {"item_id": item_id, "output_index": index, "content_index": 0, "part": part},
            ),
            self.event("response.output_item.done", {"output_index": index, "item": item}),
        ]

    def _call(self, delta: ToolCallDelta) -> list[bytes]:
        frames = []
        key = f"call{delta.index}"
        if key not in self.open_items:
            frames += self._close_message()
            self.calls[delta.index] = [delta.id or f"call_{delta.index}", delta.name or "", ""]
            self.open_items[key] = len(self.output)
            call = ToolCall(*self.calls[delta.index])
            self.output.append(_call_item(self.request, delta.index, call, "in_progress"))
            frames.append(
                self.event(
                    "response.output_item.added", {"output_index": self.open_items[key], "item": self.output[-1]}
                )
            )
        entry = self.calls[delta.index]
        if delta.name and not entry[1]:
            entry[1] = delta.name
        if delta.arguments:
            entry[2] += delta.arguments
            item_id = _item_id("fc", self.request, delta.index)
            frames.append(
                self.event(
                    "response.function_call_arguments.delta",
                    {"item_id": item_id, "output_index": self.open_items[key], "delta": delta.arguments},
                )
            )
        return frames

    def _close_calls(self) -> list[bytes]:
        frames = []
        for upstream_index, entry in self.calls.items():
            key = f"call{upstream_index}"
            index = self.open_items.get(key)
            if index is None:
                continue
            self.open_items[key] = None
            item = _call_item(self.request, upstream_index, ToolCall(*entry), "completed")
            self.output[index] = item
            item_id = item["id"]
            frames.append(
                self.event(
                    "response.function_call_arguments.done",
                    {"item_id": item_id, "output_index": index, "name": entry[1], "arguments": entry[2]},
                )
            )
            frames.append(self.event("response.output_item.done", {"output_index": index, "item": item}))
        return frames

    def completion(self) -> Completion:
        calls = [ToolCall(*entry) for _, entry in sorted(self.calls.items())]
        text = "".join(self.text) if self.text or not calls else None
        return Completion(text, calls, self.finish, self.request.usage)

    def end(self) -> tuple[list[bytes], dict[str, Any]]:
        frames = self._close_message() + self._close_calls()
        if not self.output:  # an empty answer is still one (empty) message
            self.output.append(_message_item(self.request, "", "completed"))
        status, reason = final_status(self.completion())
        final = body(self.request, self.wire, self.output, status, incomplete=reason)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return [*frames, self.event(kind, {"response": final})], final

    def failed(self, error: ApiError) -> tuple[list[bytes], dict[str, Any]]:
        final = body(self.request, self.wire, self.output, "failed", error=error)
        return [self.event("response.failed", {"response": final})], final
