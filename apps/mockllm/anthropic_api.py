"""Anthropic wire format: the Messages API, whole or as the real event stream, text or tool_use."""

from __future__ import annotations

import hashlib
import secrets
import time

from .answers import (
    JsonOutput,
    Reply,
    conversation_seed,
    count_tokens,
    echoed,
    scripted_reply,
    text_reply,
    tool_reply,
)
from .behaviour import Behaviour, base_model
from .protocol import Frames, InvalidRequest, dumps, event_frame, optional_limit, split_frames

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool": "tool_use"}


def block_texts(content: object) -> list[str]:
    """The billable texts of a content value: a string, or text blocks and tool_result contents."""
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "tool_result":
            texts.extend(block_texts(block.get("content")))
    return texts


def tool_result_of(message: dict) -> str | None:
    """The joined tool_result contents of a user message, or None when it carries no tool_result."""
    content = message.get("content")
    if message.get("role") != "user" or not isinstance(content, list):
        return None
    results = [block for block in content if isinstance(block, dict) and block.get("type") == "tool_result"]
    return " ".join(" ".join(block_texts(block.get("content"))) for block in results) if results else None


def chosen_tool(body: dict) -> tuple[str, object] | None:
    """The tool to use: the one `tool_choice` names, else the first; None without tools or with "none"."""
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise InvalidRequest("tools: must be an array", "tools")
    schemas: dict[str, object] = {}
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise InvalidRequest(f"tools.{index}.name: Field required", f"tools.{index}")
        schemas.setdefault(tool["name"], tool.get("input_schema", {}))
    choice = body.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else choice
    if not schemas or kind == "none":
        return None
    if kind == "tool":
        name = choice.get("name") if isinstance(choice, dict) else None
        if name not in schemas:
            raise InvalidRequest(f"tool_choice.name: unknown tool {name!r}", "tool_choice")
        return name, schemas[name]
    name = next(iter(schemas))
    return name, schemas[name]


def json_output(body: dict) -> JsonOutput | None:
    """`output_config.format`, Anthropic's structured output: a text block holding an instance of the schema."""
    config = body.get("output_config")
    spec = config.get("format") if isinstance(config, dict) else None
    if spec is None:
        return None
    if not isinstance(spec, dict) or spec.get("type") != "json_schema" or not isinstance(spec.get("schema"), dict):
        raise InvalidRequest(
            "output_config.format: expected {'type': 'json_schema', 'schema': {...}}", "output_config.format"
        )
    return JsonOutput(spec["schema"])


# Anthropic's prompt caching, as the mock plays it: the prompt up to the last block marked
# `cache_control` is a prefix; the first request with it writes it (cache_creation_input_tokens),
# later ones within five minutes read it (cache_read_input_tokens). Forgotten on /_mock/reset.
PROMPT_CACHE_SECONDS = 300
_prompt_cache: dict[str, float] = {}


def forget_prompt_cache() -> None:
    _prompt_cache.clear()


def _cached_prefix(body: dict, model: str) -> tuple[int, bool]:
    """The marked prefix's token count, and whether it was cached already (0, False: none marked)."""
    blocks: list[dict] = []
    system = body.get("system")
    if isinstance(system, list):
        blocks.extend(b for b in system if isinstance(b, dict))
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            blocks.extend(b for b in content if isinstance(b, dict))
    marked = [index for index, block in enumerate(blocks) if block.get("cache_control")]
    if not marked:
        return 0, False
    texts = [t for block in blocks[: marked[-1] + 1] for t in block_texts([block])]
    if isinstance(system, str):
        texts.insert(0, system)
    key = hashlib.sha256("\x00".join([base_model(model), *texts]).encode("utf-8", "surrogatepass")).hexdigest()
    now = time.monotonic()
    seen = _prompt_cache.get(key, 0.0) > now
    _prompt_cache[key] = now + PROMPT_CACHE_SECONDS
    return count_tokens(texts), seen


def messages_answer(body: dict, behaviour: Behaviour, model: str) -> MessagesAnswer:
    """Plan a message: the `calls` behaviour's tool_use blocks if set, else tool_use unless the last user turn
    carries a tool_result, else text or JSON."""
    limit = optional_limit(body, "max_tokens")
    if limit is None:
        raise InvalidRequest("max_tokens: Field required", "max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: must be a non-empty array", "messages")
    turns = [("system", text) for text in block_texts(body.get("system"))]
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{index}.role: must be 'user' or 'assistant'", f"messages.{index}")
        turns.append((message["role"], "\n".join(block_texts(message.get("content")))))
    tool = chosen_tool(body)
    output = json_output(body)
    prompt_tokens = count_tokens(text for _, text in turns)
    seed = conversation_seed(base_model(model), turns)
    result = tool_result_of(messages[-1])
    if behaviour.calls is not None:
        reply = scripted_reply(behaviour.calls, prompt_tokens, objects=True)
    elif result is None and tool is not None and behaviour.text is None:
        reply = tool_reply(tool[0], tool[1], prompt_tokens)
    else:
        reply = text_reply(
            seed,
            tokens=behaviour.tokens,
            max_tokens=limit,
            prompt_tokens=prompt_tokens,
            tool_result=result,
            text=echoed(turns, "system" if behaviour.echo_system else "user")
            if behaviour.echo or behaviour.echo_system
            else behaviour.text,
            min_tokens=behaviour.min_tokens,
            prose=behaviour.prose,
            output=output,
        )
    answer = MessagesAnswer(model, reply)
    prefix, seen = _cached_prefix(body, model)
    answer.cache_read, answer.cache_creation = (prefix, 0) if seen else (0, prefix)
    return answer


class MessagesAnswer:
    """A planned message, rendered as one `message` or as message_start ... message_stop events."""

    __slots__ = ("cache_creation", "cache_read", "id", "model", "planned_tokens", "prompt_tokens", "reply", "tool_ids")

    def __init__(self, model: str, reply: Reply) -> None:
        self.model = model
        self.reply = reply
        self.prompt_tokens = reply.prompt_tokens
        self.planned_tokens = reply.completion_tokens
        self.id = f"msg_{secrets.token_hex(12)}"
        self.tool_ids = tuple(f"toolu_{secrets.token_hex(12)}" for _ in reply.tools)
        self.cache_read = self.cache_creation = 0

    def usage(self, output_tokens: int) -> dict[str, int]:
        """As Anthropic counts: input_tokens excludes what was read from or written to the cache."""
        return {
            "input_tokens": self.prompt_tokens - self.cache_read - self.cache_creation,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": self.cache_creation,
            "cache_read_input_tokens": self.cache_read,
        }

    def message(self, content: list[dict[str, object]], stop_reason: str | None, output_tokens: int) -> dict:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": self.usage(output_tokens),
        }

    def tool_use(self, index: int, *, done: bool) -> dict[str, object]:
        """The `index`th call's tool_use block: with its input once done, with `{}` as a stream announces it."""
        call = self.reply.tools[index]
        return {
            "type": "tool_use",
            "id": self.tool_ids[index],
            "name": call.name,
            "input": call.arguments if done else {},
        }

    def body(self) -> bytes:
        if self.reply.tools:
            content = [self.tool_use(index, done=True) for index in range(len(self.reply.tools))]
        else:
            content = [{"type": "text", "text": self.reply.text}]
        return dumps(self.message(content, STOP_REASONS[self.reply.finish], self.planned_tokens))

    def frames(self) -> Frames:
        head = event_frame("message_start", {"type": "message_start", "message": self.message([], None, 1)})
        delta = {"stop_reason": STOP_REASONS[self.reply.finish], "stop_sequence": None}
        tail = event_frame(
            "message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": self.planned_tokens}}
        ) + event_frame("message_stop", {"type": "message_stop"})
        if self.reply.tools:
            return split_frames([(head, False), *self._tool_frames(), (tail, False)])
        units = (_delta(0, {"type": "text_delta", "text": word}) for word in self.reply.words)
        return Frames(head + _start(0, {"type": "text", "text": ""}) + PING, units, _stop(0) + tail)

    def _tool_frames(self) -> list[tuple[bytes, bool]]:
        """Each call as its own content block: its start (the first one followed by a ping), its input_json_delta
        pieces, one token each, and its stop."""
        frames: list[tuple[bytes, bool]] = []
        for index, call in enumerate(self.reply.tools):
            frames.append((_start(index, self.tool_use(index, done=False)) + (PING if index == 0 else b""), False))
            frames += [
                (_delta(index, {"type": "input_json_delta", "partial_json": piece}), True) for piece in call.pieces
            ]
            frames.append((_stop(index), False))
        return frames


PING = event_frame("ping", {"type": "ping"})


def _start(index: int, block: dict[str, object]) -> bytes:
    return event_frame("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})


def _delta(index: int, delta: dict[str, object]) -> bytes:
    return event_frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def _stop(index: int) -> bytes:
    return event_frame("content_block_stop", {"type": "content_block_stop", "index": index})
