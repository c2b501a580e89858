"""OpenAI Responses API (`POST /v1/responses`): text, a function call or structured output, whole or as events.

Stateless: `previous_response_id` and `store` are accepted and ignored, so a conversation is whatever `input`
carries. The answers are the Chat Completions ones for the same turns (same seed), so a client moving from one
API to the other sees the same words.
"""

from __future__ import annotations

import secrets
import time

from .answers import JsonOutput, Reply, conversation_seed, count_tokens, scripted_reply, text_reply, tool_reply
from .behaviour import Behaviour, base_model
from .openai_api import content_text, json_output, mentions_json
from .protocol import Frames, InvalidRequest, dumps, event_frame, optional_limit, split_frames

ROLES = ("user", "assistant", "system", "developer")
Event = tuple[str, dict[str, object]]  # an SSE event's type and payload, before it is numbered


def input_turns(body: dict) -> tuple[list[tuple[str, str]], str | None]:
    """The (role, text) turns of `instructions` and `input`, and the output of a function call when it is last."""
    instructions = body.get("instructions")
    turns = [("system", instructions)] if isinstance(instructions, str) else []
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise InvalidRequest("'input' must be a non-empty string or array", "input")
    for index, item in enumerate(items):
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message" and item.get("role") in ROLES:
            turns.append((item["role"], content_text(item.get("content"))))
        elif kind == "function_call_output":
            turns.append(("tool", content_text(item.get("output"))))
        elif kind == "function_call":
            turns.append(("assistant", ""))  # like a Chat assistant turn that only calls: no billable text
        elif kind is None or kind == "message":
            raise InvalidRequest(f"input[{index}] must be a message with a role or a typed item", f"input[{index}]")
    return turns, turns[-1][1] if turns and turns[-1][0] == "tool" else None


def chosen_function(body: dict) -> tuple[str, object] | None:
    """The function to call: the one `tool_choice` names, else the first; None without functions or with "none"."""
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise InvalidRequest("'tools' must be an array", "tools")
    functions: dict[str, object] = {}
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue  # hosted tools (web search, files) are never called by the mock
        if not isinstance(tool.get("name"), str):
            raise InvalidRequest(f"Missing required parameter: 'tools[{index}].name'.", f"tools[{index}].name")
        functions.setdefault(tool["name"], tool.get("parameters", {}))
    choice = body.get("tool_choice")
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("name")
        if name not in functions:
            raise InvalidRequest(f"tool_choice names an unknown function: {name!r}", "tool_choice")
        return name, functions[name]
    name = next(iter(functions))
    return name, functions[name]


def responses_answer(body: dict, behaviour: Behaviour, model: str) -> ResponsesAnswer:
    """Plan a response: the `calls` behaviour's function calls if set, else a function call unless the last item is
    its output, else text or structured output."""
    turns, result = input_turns(body)
    limit = optional_limit(body, "max_output_tokens")
    tool = chosen_function(body)
    config = body.get("text")
    spec = config.get("format") if isinstance(config, dict) else None
    output = json_output(spec, "text.format", nested=False)
    if output == JsonOutput() and not mentions_json([text for _, text in turns]):
        raise InvalidRequest(
            "Response input messages must contain the word 'json' in some form to use 'text.format' of type "
            "'json_object'.",
            "input",
        )
    prompt_tokens = count_tokens(text for _, text in turns)
    seed = conversation_seed(base_model(model), turns)
    if behaviour.calls is not None:
        reply = scripted_reply(behaviour.calls, prompt_tokens)
    elif result is None and tool is not None and behaviour.text is None:
        reply = tool_reply(tool[0], tool[1], prompt_tokens)
    else:
        reply = text_reply(
            seed,
            tokens=behaviour.tokens,
            max_tokens=limit,
            prompt_tokens=prompt_tokens,
            tool_result=result,
            text=None if result is not None else behaviour.text,  # `text` would hide the tool result
            min_tokens=behaviour.min_tokens,
            prose=behaviour.prose,
            output=output,
        )
    echo = {
        "instructions": body.get("instructions"),
        "max_output_tokens": limit,
        "tools": body.get("tools") or [],
        "tool_choice": body.get("tool_choice", "auto"),
        "text": {"format": spec if isinstance(spec, dict) else {"type": "text"}},
    }
    return ResponsesAnswer(model, reply, echo)


class ResponsesAnswer:
    """A planned response, rendered as one `response` object or as its typed event stream."""

    __slots__ = ("call_ids", "created", "echo", "id", "item_id", "model", "planned_tokens", "prompt_tokens", "reply")

    def __init__(self, model: str, reply: Reply, echo: dict[str, object]) -> None:
        self.model = model
        self.reply = reply
        self.echo = echo
        self.prompt_tokens = reply.prompt_tokens
        self.planned_tokens = reply.completion_tokens
        self.id = f"resp_{secrets.token_hex(12)}"
        self.item_id = f"msg_{secrets.token_hex(12)}"  # the message's; each function call has its own (below)
        self.call_ids = tuple((f"fc_{secrets.token_hex(12)}", f"call_{secrets.token_hex(12)}") for _ in reply.tools)
        self.created = int(time.time())

    @property
    def status(self) -> str:
        return "incomplete" if self.reply.finish == "length" else "completed"

    def usage(self) -> dict[str, object]:
        return {
            "input_tokens": self.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": self.planned_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.prompt_tokens + self.planned_tokens,
        }

    def response(self, *, done: bool) -> dict[str, object]:
        """The response object: finished (output, usage, final status) or as it is announced at the start."""
        status = self.status if done else "in_progress"
        incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": incomplete,
            "model": self.model,
            "output": self.items() if done else [],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "temperature": 1.0,
            "top_p": 1.0,
            "truncation": "disabled",
            "metadata": {},
            "usage": self.usage() if done else None,
            **self.echo,
        }

    def items(self) -> list[dict[str, object]]:
        """The finished output: one function_call item per call, in order, or the assistant message."""
        return [self.call(index, done=True) for index in range(len(self.reply.tools))] or [self.message(done=True)]

    def call(self, index: int, *, done: bool) -> dict[str, object]:
        """The `index`th function_call item, its arguments empty until it is done."""
        call = self.reply.tools[index]
        item_id, call_id = self.call_ids[index]
        return {
            "type": "function_call",
            "id": item_id,
            "call_id": call_id,
            "name": call.name,
            "arguments": call.arguments_json if done else "",
            "status": "completed" if done else "in_progress",
        }

    def message(self, *, done: bool) -> dict[str, object]:
        """The assistant message item, empty until it is done."""
        return {
            "type": "message",
            "id": self.item_id,
            "status": self.status if done else "in_progress",
            "role": "assistant",
            "content": [self.part(self.reply.text)] if done else [],
        }

    @staticmethod
    def part(text: str) -> dict[str, object]:
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def body(self) -> bytes:
        return dumps(self.response(done=True))

    def frames(self) -> Frames:
        """response.created ... response.completed (or .incomplete after a cut), numbered in order."""
        opening = [
            ("response.created", {"response": self.response(done=False)}),
            ("response.in_progress", {"response": self.response(done=False)}),
        ]
        closing = [(f"response.{self.status}", {"response": self.response(done=True)})]
        if self.reply.tools:
            return self._call_frames(opening, closing)
        at = {"item_id": self.item_id, "output_index": 0, "content_index": 0}
        head = [
            *opening,
            ("response.output_item.added", {"output_index": 0, "item": self.message(done=False)}),
            ("response.content_part.added", {**at, "part": self.part("")}),
        ]
        tail = [
            ("response.output_text.done", {**at, "text": self.reply.text, "logprobs": []}),
            ("response.content_part.done", {**at, "part": self.part(self.reply.text)}),
            ("response.output_item.done", {"output_index": 0, "item": self.message(done=True)}),
            *closing,
        ]
        words = self.reply.words
        deltas = (
            _event("response.output_text.delta", {**at, "logprobs": [], "delta": word}, len(head) + number)
            for number, word in enumerate(words)
        )
        return Frames(_events(head, 0), deltas, _events(tail, len(head) + len(words)))

    def _call_frames(self, opening: list[Event], closing: list[Event]) -> Frames:
        """Each function_call item in turn: added, its argument deltas (one token each), arguments done, done."""
        events: list[tuple[Event, bool]] = [(event, False) for event in opening]
        for index, call in enumerate(self.reply.tools):
            at = {"item_id": self.call_ids[index][0], "output_index": index}
            events.append(
                (("response.output_item.added", {"output_index": index, "item": self.call(index, done=False)}), False)
            )
            events += [
                (("response.function_call_arguments.delta", {**at, "delta": piece}), True) for piece in call.pieces
            ]
            done = {**at, "name": call.name, "arguments": call.arguments_json}
            events.append((("response.function_call_arguments.done", done), False))
            events.append(
                (("response.output_item.done", {"output_index": index, "item": self.call(index, done=True)}), False)
            )
        events += [(event, False) for event in closing]
        return split_frames(
            (_event(kind, payload, number), token) for number, ((kind, payload), token) in enumerate(events)
        )


def _events(events: list[Event], first: int) -> bytes:
    return b"".join(_event(kind, payload, first + number) for number, (kind, payload) in enumerate(events))


def _event(kind: str, payload: dict[str, object], number: int) -> bytes:
    """One SSE event; `sequence_number` counts every event of the stream, as the SDK's accumulator expects."""
    return event_frame(kind, {"type": kind, "sequence_number": number, **payload})
