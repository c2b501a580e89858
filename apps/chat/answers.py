"""An answer being written: it runs the pipeline's stream, sends each frame to whoever listens,
and obeys `cancel` and `attach` from any process.

An answer outlives the connection that asked for it: when the client drops, the answer goes on
and is saved, so the client can reconnect (to any server process) and resume it. Each running
answer listens on a channel of its own, in a group named after the tenant, user and message id;
`cancel` and `attach` are group messages, so they reach the answer wherever it runs (with
channels-redis across processes, in process otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from apps.catalogue.snapshot import current_catalogue
from apps.core.background import spawn
from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError
from apps.gateway import pipeline
from apps.gateway.pipeline import StreamFailure
from apps.observability import tracing
from apps.providers.types import ChatRequest, TextDelta
from apps.tenancy.principal import Principal

from . import context, services, summary
from .models import MessageStatus
from .services import Turn

logger = logging.getLogger("catalyst.chat")

Frame = dict
Send = Callable[[Frame], Awaitable[None]]

_running: dict[tuple[int, int, str], Answer] = {}


def done_frame(
    client_id: str, conversation_id: int, model: str, tokens_in: int, tokens_out: int, cost_usd: Decimal
) -> Frame:
    return {
        "type": "done", "id": client_id, "conversation_id": conversation_id, "model": model,
        "usage": {"tokens_in": tokens_in, "tokens_out": tokens_out}, "cost_usd": str(cost_usd), "cached": False,
    }  # fmt: skip


def error_frame(client_id: str | None, code: str, message: str, retry_after: str | None = None) -> Frame:
    return {
        "type": "error", "id": client_id, "code": code, "message": message,
        "retry_after": int(retry_after) if retry_after else None,
    }  # fmt: skip


def group_name(tenant_id: int, user_id: int, client_id: str) -> str:
    digest = hashlib.sha256(client_id.encode()).hexdigest()[:32]
    return f"chat.answer.{tenant_id}.{user_id}.{digest}"


def running(tenant_id: int, user_id: int, client_id: str) -> Answer | None:
    return _running.get((tenant_id, user_id, client_id))


class Listener:
    """One destination for an answer's frames, delivered in order even across awaits."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.lock = asyncio.Lock()

    async def __call__(self, frame: Frame) -> bool:
        async with self.lock:
            try:
                await self.send(frame)
            except Exception:  # the connection is gone; the answer goes on without it
                return False
        return True


def remote(channel: str) -> Send:
    async def send(frame: Frame) -> None:
        await get_channel_layer().send(channel, {"type": "chat.frame", "frame": frame})

    return send


class Answer:
    def __init__(self, principal: Principal, client_id: str, turn: Turn, model: str, request_id: str) -> None:
        self.principal = principal
        self.client_id = client_id
        self.turn = turn
        self.model = model
        self.request_id = request_id
        self.parts: list[str] = []
        self.length = 0
        self.listeners: dict[str, Listener] = {}
        self.task: asyncio.Task | None = None
        self.ending = False  # the stream is over and the answer is being saved: too late to cancel
        self.cancel_requested = False
        self.terminal: Frame | None = None  # the done, cancelled or error frame, once sent
        self.key = (principal.tenant_id, principal.user_id, client_id)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def start(self, origin: str, send: Send) -> None:
        self.listeners[origin] = Listener(send)
        _running[self.key] = self
        self.task = spawn(self._run(), what="chat answer")

    def detach(self, listener_id: str) -> None:
        self.listeners.pop(listener_id, None)

    async def attach(self, listener_id: str, send: Send, offset: int) -> None:
        """Catch a (re)connected client up from `offset`, then keep it informed.

        The listener's lock is held while it is registered and caught up, so a live frame emitted
        meanwhile queues behind the catch-up instead of overtaking it."""
        listener = Listener(send)
        async with listener.lock:
            frames = [{"type": "typing", "id": self.client_id, "active": True, **self._where()}]
            if offset < self.length:
                frames.append(self._token(self.text[offset:], offset))
            if self.terminal is not None:  # ended while this request travelled: say how
                frames.append(self.terminal)
            self.listeners[listener_id] = listener
            try:
                for frame in frames:
                    await send(frame)
            except Exception:
                self.listeners.pop(listener_id, None)

    def cancel(self) -> None:
        """Stop the answer; asking twice, or once it is ending, changes nothing."""
        if self.task is not None and not self.ending and not self.cancel_requested:
            self.cancel_requested = True
            self.task.cancel()

    # --- the answer's own task -----------------------------------------------------------------

    async def _run(self) -> None:
        layer, group, control, listening = get_channel_layer(), group_name(*self.key), None, None
        try:
            control = await layer.new_channel()
            await layer.group_add(group, control)
            listening = spawn(self._listen(control), what="chat answer control", lasting=True)
            await self._generate()
        except asyncio.CancelledError:  # cancelled before the answer began: nothing was billed
            asyncio.current_task().uncancel()
            await self._finish(MessageStatus.CANCELLED, None, {"type": "cancelled", "id": self.client_id})
        finally:
            if listening is not None:
                listening.cancel()
            _running.pop(self.key, None)
            if control is not None:
                await layer.group_discard(group, control)

    async def _listen(self, control: str) -> None:
        layer = get_channel_layer()
        while True:
            message = await layer.receive(control)
            reply = message.get("reply")
            if message["type"] == "answer.attach" and reply:
                await self.attach(reply, remote(reply), int(message.get("offset") or 0))
            elif message["type"] == "answer.cancel":
                if reply:
                    self.listeners.setdefault(reply, Listener(remote(reply)))
                self.cancel()

    async def _generate(self) -> None:
        generation = None
        try:
            catalogue = await current_catalogue()
            sizing = context.sizing_model(catalogue, self.principal, self.model)
            messages = context.build(
                self.turn.history, self.turn.summary, context.token_budget(sizing), context.counter(sizing)
            )
            generation = await pipeline.prepare(
                self.principal, request_id=self.request_id, endpoint="chat", model=self.model,
                chat=ChatRequest(messages=messages), stream=True,
            )  # fmt: skip
            failure = None
            # aclosing: a cancel that lands while a frame is being sent still closes the upstream
            # stream and settles its usage before the answer is saved.
            async with contextlib.aclosing(await pipeline.stream(generation)) as events:
                async for event in events:
                    if isinstance(event, TextDelta) and event.text:
                        await self._emit(self._token(event.text, self.length))
                    elif isinstance(event, StreamFailure):
                        failure = event
        except ApiError as error:
            await self._fail(str(error.code), error.message, error.headers.get("Retry-After"), generation)
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()
            await self._finish(MessageStatus.CANCELLED, generation, {"type": "cancelled", "id": self.client_id})
        except Exception:
            logger.exception("chat answer failed", extra={"request_id": self.request_id})
            await self._fail(ErrorCode.INTERNAL_ERROR, "The answer failed.", None, generation)
        else:
            if failure is not None:
                await self._fail(failure.code, failure.message, None, generation)
                return
            await self._finish(MessageStatus.COMPLETE, generation, self._done(generation))
            summary.maybe_summarise(self.principal, self.turn.conversation_id, self.request_id)

    def _token(self, text: str, offset: int) -> Frame:
        return {"type": "token", "id": self.client_id, "content": text, "offset": offset}

    def _where(self) -> dict:
        return {"conversation_id": self.turn.conversation_id, "title": self.turn.title}

    def _billed(self, generation) -> tuple[str, int, int, Decimal]:
        """The model, tokens in and out and cost the pipeline settled (nothing, without a generation)."""
        usage = generation.usage if generation else None
        model = generation.model.name if generation and generation.model else self.model
        tokens_in, tokens_out = (usage.input_tokens, usage.output_tokens) if usage else (0, 0)
        return model, tokens_in, tokens_out, generation.cost_usd if generation else Decimal(0)

    def _done(self, generation) -> Frame:
        return done_frame(self.client_id, self.turn.conversation_id, *self._billed(generation))

    async def _emit(self, frame: Frame) -> None:
        if frame["type"] == "token":
            self.parts.append(frame["content"])
            self.length += len(frame["content"])
        for listener_id, listener in list(self.listeners.items()):
            if not await listener(frame):
                self.listeners.pop(listener_id, None)

    async def _fail(self, code: str, message: str, retry_after: str | None, generation) -> None:
        frame = error_frame(self.client_id, code, message, retry_after)
        await self._finish(MessageStatus.FAILED, generation, frame, error_code=code)

    async def _finish(self, status: str, generation, terminal: Frame, error_code: str = "") -> None:
        """Save the answer as it ended, then tell every listener. Once saved, the answer leaves the
        registry, so a late resume or cancel is answered from the database, which is final."""
        self.ending = True
        model, tokens_in, tokens_out, cost_usd = self._billed(generation)
        await database_sync_to_async(services.finish_answer)(
            self.turn.answer_id, content=self.text, status=status, model=model, request_id=self.request_id,
            tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost_usd, error_code=error_code,
        )  # fmt: skip
        _running.pop(self.key, None)
        tracing.finish()  # ended already with the request's log line, unless it never reached one
        self.terminal = terminal
        await self._emit(terminal)
