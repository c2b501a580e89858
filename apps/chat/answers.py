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
from apps.core.errors import ApiError, InternalError
from apps.gateway import pipeline
from apps.gateway.pipeline import StreamFailure
from apps.observability import tracing
from apps.providers.types import ChatRequest, TextDelta
from apps.retrieval.stage import Retrieval
from apps.tenancy.principal import Principal
from apps.tools.agent import Agent, ToolCallEvent

from . import context, frames, services, summary
from .models import MessageStatus
from .services import Turn

logger = logging.getLogger("catalyst.chat")

Frame = frames.Frame
Send = Callable[[Frame], Awaitable[None]]

_running: dict[tuple[int, int, str], Answer] = {}


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
    def __init__(
        self, principal: Principal, client_id: str, turn: Turn, model: str, request_id: str,
        vector_store_ids: list[str] | None = None, tools: list[str] | None = None,
    ) -> None:  # fmt: skip
        self.principal = principal
        self.client_id = client_id
        self.turn = turn
        self.model = model
        self.vector_store_ids = vector_store_ids or []  # the message names stores: a grounded answer
        self.tools = tools or []  # the message names tools: an agent run
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
            catch_up = [{"type": "typing", "id": self.client_id, "active": True, **self._where()}]
            if offset < self.length:
                catch_up.append(frames.token(self.client_id, self.text[offset:], offset))
            if self.terminal is not None:  # ended while this request travelled: say how
                catch_up.append(self.terminal)
            self.listeners[listener_id] = listener
            try:
                for frame in catch_up:
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
            await self._finish(MessageStatus.CANCELLED, None, frames.cancelled(self.client_id))
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
        request = None
        try:
            catalogue = await current_catalogue()
            sizing = context.sizing_model(catalogue, self.principal, self.model)
            messages = context.build(
                self.turn.history, self.turn.summary, context.token_budget(sizing), context.counter(sizing)
            )
            request = pipeline.Request(
                self.principal, self.request_id, "chat", self.model, ChatRequest(messages=messages), stream=True
            )
            request.retrieval = Retrieval(self.vector_store_ids) if self.vector_store_ids else None
            request.agent = Agent(list(self.tools)) if self.tools else None
            await pipeline.start(request)
            failure = None
            # aclosing: a cancel that lands while a frame is being sent still closes the upstream
            # stream and settles its usage before the answer is saved.
            async with contextlib.aclosing(pipeline.events(request)) as events:
                async for event in events:
                    if isinstance(event, TextDelta) and event.text:
                        await self._emit(frames.token(self.client_id, event.text, self.length))
                    elif isinstance(event, ToolCallEvent):
                        await self._emit({**event.frame(), "id": self.client_id})
                    elif isinstance(event, StreamFailure):
                        failure = event.error
        except ApiError as error:
            await self._fail(error, request)
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()
            await self._finish(MessageStatus.CANCELLED, request, frames.cancelled(self.client_id))
        except Exception:
            logger.exception("chat answer failed", extra={"request_id": self.request_id})
            await self._fail(InternalError("The answer failed."), request)
        else:
            if failure is not None:
                await self._fail(failure, request)
                return
            await self._finish(MessageStatus.COMPLETE, request, self._done(request))
            summary.maybe_summarise(self.principal, self.turn.conversation_id, self.request_id)

    def _where(self) -> dict:
        return {"conversation_id": self.turn.conversation_id, "title": self.turn.title}

    def _billed(self, request: pipeline.Request | None) -> tuple[str, int, int, Decimal]:
        """The model, tokens in and out and cost the pipeline settled (nothing, without a request)."""
        usage = request.usage if request else None
        model = request.model.name if request and request.model else self.model
        tokens_in, tokens_out = (usage.input_tokens, usage.output_tokens) if usage else (0, 0)
        return model, tokens_in, tokens_out, request.cost_usd if request else Decimal(0)

    def _done(self, request: pipeline.Request | None) -> Frame:
        cached = str(request.cache_status) if request else "BYPASS"
        citations = request.retrieval.citations if request and request.retrieval else None
        agent = request.agent if request else None
        return frames.done(
            self.client_id,
            self.turn.conversation_id,
            *self._billed(request),
            cached=cached,
            citations=citations,
            steps=agent.steps if agent else None,
            finish_reason=agent.finish_reason if agent else None,
        )

    async def _emit(self, frame: Frame) -> None:
        if frame["type"] == "token":
            self.parts.append(frame["content"])
            self.length += len(frame["content"])
        for listener_id, listener in list(self.listeners.items()):
            if not await listener(frame):
                self.listeners.pop(listener_id, None)

    async def _fail(self, error: ApiError, request: pipeline.Request | None) -> None:
        frame = frames.error(self.client_id, error)
        await self._finish(MessageStatus.FAILED, request, frame, error_code=str(error.code))

    async def _finish(
        self, status: str, request: pipeline.Request | None, terminal: Frame, error_code: str = ""
    ) -> None:
        """Save the answer as it ended, then tell every listener. Once saved, the answer leaves the
        registry, so a late resume or cancel is answered from the database, which is final."""
        self.ending = True
        model, tokens_in, tokens_out, cost_usd = self._billed(request)
        await database_sync_to_async(services.finish_answer)(
            self.turn.answer_id, content=self.text, status=status, model=model, request_id=self.request_id,
            tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost_usd, error_code=error_code,
        )  # fmt: skip
        _running.pop(self.key, None)
        tracing.finish()  # ended already with the request's log line, unless it never reached one
        self.terminal = terminal
        await self._emit(terminal)
