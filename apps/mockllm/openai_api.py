"""OpenAI wire format: Chat Completions (whole or streamed; text, JSON or tool calls), embeddings and the model list."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from functools import lru_cache

from .answers import (
    TOKEN_RE,
    JsonOutput,
    Reply,
    conversation_seed,
    count_tokens,
    echoed,
    embedding,
    embedding_base64,
    scripted_reply,
    text_reply,
    tool_reply,
)
from .behaviour import Behaviour, base_model
from .protocol import Frames, InvalidRequest, data_frame, dumps, optional_limit, split_frames

MODEL_IDS = ("gpt-mock", "gpt-mock-mini", "text-embedding-mock", "claude-mock")
MODELS_BODY = dumps(
    {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "mock"} for name in MODEL_IDS],
    }
)
FINISH_REASONS = {"stop": "stop", "length": "length", "tool": "tool_calls"}
DEFAULT_DIMENSIONS = 1536
MAX_DIMENSIONS = 8192
DONE = b"data: [DONE]\n\n"


def content_text(content: object) -> str:
    """A message's text: the string itself, or its text parts joined (images and audio carry no tokens here)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def chosen_tool(body: dict) -> tuple[str, object] | None:
    """The function to call: the one `tool_choice` forces, else the first; None without tools or with "none"."""
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise InvalidRequest("'tools' must be an array", "tools")
    functions: dict[str, object] = {}
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise InvalidRequest(f"tools[{index}].function must have a name", f"tools[{index}].function")
        functions.setdefault(function["name"], function.get("parameters", {}))
    choice = body.get("tool_choice")
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict) and choice.get("type") == "function":
        forced = choice.get("function")
        name = forced.get("name") if isinstance(forced, dict) else None
        if name not in functions:
            raise InvalidRequest(f"tool_choice names an unknown function: {name!r}", "tool_choice")
        return name, functions[name]
    name = next(iter(functions))
    return name, functions[name]


def json_output(spec: object, param: str, *, nested: bool) -> JsonOutput | None:
    """`response_format` (the schema `nested` under "json_schema") or the Responses API's `text.format` (beside
    the type) as the structured output it asks for; None for plain text."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise InvalidRequest(f"Invalid type for '{param}': expected an object.", param)
    kind = spec.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return JsonOutput()
    if kind != "json_schema":
        raise InvalidRequest(
            f"Invalid value: {kind!r}. Supported values are: 'text', 'json_object', and 'json_schema'.", f"{param}.type"
        )
    holder = spec.get("json_schema") if nested else spec
    where = f"{param}.json_schema" if nested else param
    if not isinstance(holder, dict) or not isinstance(holder.get("name"), str):
        raise InvalidRequest(f"Missing required parameter: '{where}.name'.", f"{where}.name")
    schema = holder.get("schema", {"type": "object"})  # without one, any object will do: `{}`
    if not isinstance(schema, dict):
        raise InvalidRequest(f"Invalid type for '{where}.schema': expected an object.", f"{where}.schema")
    return JsonOutput(schema)


def mentions_json(texts: list[str]) -> bool:
    """OpenAI refuses `json_object` unless the prompt asks for JSON (else a model may emit whitespace forever)."""
    return any("json" in text.lower() for text in texts)


# OpenAI's automatic prompt caching, as the mock plays it: a prompt of at least 1,024 tokens whose
# first 1,024 + 128·k tokens an earlier request of the same model already sent reports them as
# prompt_tokens_details.cached_tokens. Forgotten on /_mock/reset.
CACHE_MIN_TOKENS, CACHE_STEP = 1024, 128
_seen_prefixes: set[str] = set()


def forget_prompt_prefixes() -> None:
    _seen_prefixes.clear()


def _cached_tokens(model: str, turns: list[tuple[str, str]]) -> int:
    tokens: list[str] = []
    for role, text in turns:
        tokens.append(f"<{role}>")
        tokens.extend(TOKEN_RE.findall(text))
    cached = 0
    digest = hashlib.sha256(base_model(model).encode())
    done = 0
    for length in range(CACHE_MIN_TOKENS, len(tokens) + 1, CACHE_STEP):
        digest.update("\x00".join(tokens[done:length]).encode("utf-8", "surrogatepass"))
        done = length
        key = digest.copy().hexdigest()
        if key in _seen_prefixes:
            cached = length
        _seen_prefixes.add(key)
    return min(cached, count_tokens(text for _, text in turns))


def chat_answer(body: dict, behaviour: Behaviour, model: str) -> ChatAnswer:
    """Plan a chat completion: the `calls` behaviour's tool calls if set, else a tool call unless the last message
    is a tool result, else text or JSON."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array", "messages")
    turns: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequest(f"messages[{index}] must be an object with a role", f"messages[{index}]")
        turns.append((message["role"], content_text(message.get("content"))))
    limit = optional_limit(body, "max_completion_tokens", "max_tokens")
    tool = chosen_tool(body)
    output = json_output(body.get("response_format"), "response_format", nested=True)
    if output == JsonOutput() and not mentions_json([text for _, text in turns]):
        raise InvalidRequest(
            "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
            "messages",
        )
    prompt_tokens = count_tokens(text for _, text in turns)
    seed = conversation_seed(base_model(model), turns)
    if behaviour.calls is not None:
        reply = scripted_reply(behaviour.calls, prompt_tokens)
    elif turns[-1][0] == "tool":
        reply = text_reply(
            seed,
            tokens=behaviour.tokens,
            max_tokens=limit,
            prompt_tokens=prompt_tokens,
            tool_result=turns[-1][1],
            output=output,
        )
    elif tool is not None and behaviour.text is None:  # a scripted text is the answer, tools or not
        reply = tool_reply(tool[0], tool[1], prompt_tokens)
    else:
        reply = text_reply(
            seed,
            tokens=behaviour.tokens,
            max_tokens=limit,
            prompt_tokens=prompt_tokens,
            tool_result=None,
            text=echoed(turns, "system" if behaviour.echo_system else "user")
            if behaviour.echo or behaviour.echo_system
            else behaviour.text,
            min_tokens=behaviour.min_tokens,
            prose=behaviour.prose,
            output=output,
        )
    options = body.get("stream_options")
    if options is not None and body.get("stream") is not True:
        # OpenAI's own 400: a gateway that sends stream_options on plain requests must learn it here.
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    answer = ChatAnswer(model, reply, include_usage)
    answer.cached_tokens = _cached_tokens(model, turns) if prompt_tokens >= CACHE_MIN_TOKENS else 0
    return answer


class ChatAnswer:
    """A planned chat completion, rendered as one `chat.completion` or as `chat.completion.chunk` frames."""

    __slots__ = (
        "cached_tokens", "call_ids", "created", "id", "include_usage", "model", "planned_tokens", "prompt_tokens",
        "reply",
    )  # fmt: skip

    def __init__(self, model: str, reply: Reply, include_usage: bool) -> None:
        self.model = model
        self.reply = reply
        self.include_usage = include_usage
        self.prompt_tokens = reply.prompt_tokens
        self.planned_tokens = reply.completion_tokens
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.call_ids = tuple(f"call_{secrets.token_hex(12)}" for _ in reply.tools)
        self.created = int(time.time())
        self.cached_tokens = 0

    def usage(self) -> dict[str, object]:
        prompt, completion = self.prompt_tokens, self.planned_tokens
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }

    def body(self) -> bytes:
        tools = self.reply.tools
        message: dict[str, object] = {
            "role": "assistant",
            "content": None if tools else self.reply.text,
            "refusal": None,
        }
        if tools:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments_json}}
                for call, call_id in zip(tools, self.call_ids, strict=True)
            ]
        choice = {"index": 0, "message": message, "finish_reason": FINISH_REASONS[self.reply.finish], "logprobs": None}
        return dumps({**self._envelope("chat.completion"), "choices": [choice], "usage": self.usage()})

    def frames(self) -> Frames:
        tail = self._chunk({}, FINISH_REASONS[self.reply.finish])
        if self.include_usage:
            tail += data_frame({**self._envelope("chat.completion.chunk"), "choices": [], "usage": self.usage()})
        if self.reply.tools:
            return split_frames([*self._call_frames(), (tail + DONE, False)])
        head = self._chunk({"role": "assistant", "content": ""})
        units = (self._chunk({"content": word}) for word in self.reply.words)
        return Frames(head, units, tail + DONE)

    def _call_frames(self) -> list[tuple[bytes, bool]]:
        """Each call as OpenAI streams it: a header chunk (its index, id, name and empty arguments; the first one
        also opens the message), then its argument pieces under the same index, each one token."""
        frames: list[tuple[bytes, bool]] = []
        for index, (call, call_id) in enumerate(zip(self.reply.tools, self.call_ids, strict=True)):
            header = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            opening = {"role": "assistant", "content": None} if index == 0 else {}
            frames.append((self._chunk({**opening, "tool_calls": [header]}), False))
            frames += [
                (self._chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}), True)
                for piece in call.pieces
            ]
        return frames

    def _envelope(self, kind: str) -> dict[str, object]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "mock",
        }

    def _chunk(self, delta: dict[str, object], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        usage = {"usage": None} if self.include_usage else {}
        return data_frame({**self._envelope("chat.completion.chunk"), "choices": [choice], **usage})


def embeddings_answer(body: dict, behaviour: Behaviour, model: str) -> EmbeddingsAnswer:
    """Plan an embeddings response; inputs are strings or token arrays, one vector each."""
    raw = body.get("input")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or raw == [""]:
        raise InvalidRequest("'input' must be a non-empty string or array", "input")
    if all(isinstance(item, int) and not isinstance(item, bool) for item in raw):
        raw = [raw]
    keys: list[str] = []
    tokens = 0
    for item in raw:
        if isinstance(item, str):
            keys.append(item)
            tokens += count_tokens((item,))
        elif isinstance(item, list) and all(isinstance(token, int) and not isinstance(token, bool) for token in item):
            keys.append("\x00tokens:" + ",".join(map(str, item)))
            tokens += len(item)
        else:
            raise InvalidRequest("'input' items must be strings or arrays of token integers", "input")
    dimensions = body.get("dimensions")
    dimensions = DEFAULT_DIMENSIONS if dimensions is None else dimensions
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or not 1 <= dimensions <= MAX_DIMENSIONS:
        raise InvalidRequest(f"'dimensions' must be an integer between 1 and {MAX_DIMENSIONS}", "dimensions")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise InvalidRequest("'encoding_format' must be 'float' or 'base64'", "encoding_format")
    return EmbeddingsAnswer(model, keys, tokens, dimensions, encoding)


@lru_cache(maxsize=4096)
def _vector_json(key: str, dimensions: int, encoding: str) -> str:
    """The JSON text of one embedding value, cached: benchmarks embed the same texts again and again."""
    vector = embedding(key, dimensions)
    return json.dumps(embedding_base64(vector) if encoding == "base64" else vector)


class EmbeddingsAnswer:
    """A planned embeddings list; never streamed."""

    __slots__ = ("dimensions", "encoding", "keys", "model", "planned_tokens", "prompt_tokens")

    def __init__(self, model: str, keys: list[str], tokens: int, dimensions: int, encoding: str) -> None:
        self.model, self.keys, self.dimensions, self.encoding = model, keys, dimensions, encoding
        self.prompt_tokens = tokens
        self.planned_tokens = 0

    def body(self) -> bytes:
        items = ",".join(
            f'{{"object":"embedding","index":{index},"embedding":{_vector_json(key, self.dimensions, self.encoding)}}}'
            for index, key in enumerate(self.keys)
        )
        usage = json.dumps({"prompt_tokens": self.prompt_tokens, "total_tokens": self.prompt_tokens})
        return f'{{"object":"list","data":[{items}],"model":{json.dumps(self.model)},"usage":{usage}}}'.encode()

    def frames(self) -> Frames:
        raise NotImplementedError("embeddings are never streamed")
