"""WebSocket transport for chat (`/ws/chat/`): it adapts frames; the edge and the pipeline do the rest.

The JWT arrives as the subprotocol `bearer.<jwt>` beside `catalyst.v1` and is checked before
anything else happens; a bad one gets close code 4401 (a forbidden one, or a page on an origin
that is not allowed, 4403) and no frame. The connection ends with 4401 when the token expires,
and with 4429 when it keeps sending more frames than CHAT_FRAMES_PER_SECOND allow. With Redis
down, the handshake is refused with 1013 (try again later).
Frames are JSON objects; see SPEC "WebSocket /ws/chat/" and docs/chat.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from apps.chat import answers, frames, services
from apps.chat.models import Message, MessageStatus
from apps.core.background import spawn
from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, AuthenticationFailed, NotFound, PermissionDenied
from apps.observability import metrics
from apps.tenancy import tokens
from apps.tenancy.authentication import authorize, member_principal
from apps.tenancy.principal import Principal

from .. import edge
from ..formats import chat_frames
from . import guard, heartbeat

SUBPROTOCOL = "catalyst.v1"
BEARER = "bearer."
logger = logging.getLogger("catalyst.chat")
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_FLOODING = 4429
CLOSE_TRY_AGAIN_LATER = 1013
ATTACH_WAIT_SECONDS = 2.0


class ChatConsumer(AsyncWebsocketConsumer):
    """One chat connection. It has no channel-layer channel of its own until a frame must reach it
    from another process (a cross-process resume or cancel): most connections never need one,
    and each costs memory and a Redis receive."""

    principal: Principal
    channel_layer_alias = None
    inbox: str | None = None
    inbox_reader: asyncio.Task | None = None
    expiry: asyncio.TimerHandle | None = None
    pinged_at: float | None = None

    async def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        chosen = SUBPROTOCOL if SUBPROTOCOL in offered else None
        if not guard.origin_allowed(self.scope):
            await self._refuse(chosen, CLOSE_FORBIDDEN)
            return
        try:
            self.principal = await self._authenticate(offered)
        except PermissionDenied:
            await self._refuse(chosen, CLOSE_FORBIDDEN)
            return
        except ApiError:
            await self._refuse(chosen, CLOSE_UNAUTHENTICATED)
            return
        except edge.SERVICE_DOWN:
            logger.error("chat handshake refused: a service the gateway needs is down")
            await self._refuse(chosen, CLOSE_TRY_AGAIN_LATER)
            return
        self.listening: set[str] = set()  # ids of answers this connection receives
        self.heard: set[str] = set()
        self.listener_id = uuid.uuid4().hex
        self.budget = guard.FrameBudget(settings.CHAT_FRAMES_PER_SECOND, settings.CHAT_FRAME_BURST)
        await self.accept(SUBPROTOCOL)
        heartbeat.watch(self)
        metrics.WEBSOCKETS.inc()
        if math.isfinite(self.principal.expires_at):
            left = max(self.principal.expires_at - time.time(), 0)
            self.expiry = asyncio.get_running_loop().call_later(left, self._token_expired)
        await self.send_frame({"type": "ready", "heartbeat_seconds": settings.CHAT_HEARTBEAT_SECONDS})

    async def _authenticate(self, offered: list[str]) -> Principal:
        token = next((p[len(BEARER) :] for p in offered if p.startswith(BEARER)), "")
        if SUBPROTOCOL not in offered or not tokens.looks_like_jwt(token):
            raise AuthenticationFailed("Offer the subprotocols catalyst.v1 and bearer.<jwt>.")
        principal = await edge.principal_for(token, "chat", (self.scope.get("client") or [None])[0])
        if principal.user_id is None:
            raise PermissionDenied("Chat needs a user.")
        return principal

    def _token_expired(self) -> None:
        spawn(self._close_expired(), what="closing a chat connection whose token expired")

    async def _close_expired(self) -> None:
        expired = AuthenticationFailed(
            "The token has expired; connect again with a new one.", code=ErrorCode.EXPIRED_TOKEN
        )
        await self._error(None, expired)
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def _refuse(self, subprotocol: str | None, code: int) -> None:
        """The token was checked before accepting; accept only to say why with a close code."""
        await self.accept(subprotocol)
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "listener_id"):  # it was accepted (refused handshakes never were counted)
            metrics.WEBSOCKETS.dec()
        if self.expiry is not None:
            self.expiry.cancel()
        heartbeat.forget(self)
        if self.inbox_reader is not None:
            self.inbox_reader.cancel()
        for client_id in getattr(self, "listening", ()):
            answer = answers.running(self.principal.tenant_id, self.principal.user_id, client_id)
            if answer is not None:
                answer.detach(self.listener_id)  # the answer goes on, to be resumed

    async def _inbox(self) -> str:
        """This connection's channel on the layer, opened on first need, with a task reading it."""
        if self.inbox is None:
            layer = get_channel_layer()
            self.inbox = await layer.new_channel()
            self.inbox_reader = spawn(self._read_inbox(layer, self.inbox), what="chat inbox", lasting=True)
        return self.inbox

    async def _read_inbox(self, layer, inbox: str) -> None:
        while True:
            await self.chat_frame(await layer.receive(inbox))

    # --- frames from the client ----------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        heartbeat.heard(self)
        if not self.budget.take(time.monotonic()):
            await self._too_many_frames()
            return
        frame: dict = {}
        try:
            frame = chat_frames.parse(text_data)
            handlers = {"message": self._message, "cancel": self._cancel, "resume": self._resume, "ping": self._ping}
            await handlers.get(frame["type"], self._pong)(frame)
        except chat_frames.FrameInvalid as error:
            await self._error(error.client_id, error)
        except Exception as failure:  # a failure costs one frame, never the connection
            await self._error(frame.get("id"), edge.as_api_error(failure, "chat frame", None))

    async def _ping(self, frame: dict) -> None:
        await self.send_frame({"type": "pong"})

    async def _pong(self, frame: dict) -> None:
        """The answer to the server's heartbeat ping: hearing it was all that was needed."""

    async def _too_many_frames(self) -> None:
        if self.budget.dropped == 1:
            retry = str(max(round(1 / settings.CHAT_FRAMES_PER_SECOND), 1))
            slow_down = ApiError(
                "Too many frames; slow down.", code=ErrorCode.TOO_MANY_FRAMES, headers={"Retry-After": retry}
            )
            await self._error(None, slow_down)
        elif self.budget.dropped > settings.CHAT_FRAME_BURST:
            await self.close(code=CLOSE_FLOODING)

    async def _message(self, frame: dict) -> None:
        client_id, content, model = frame["id"], frame["content"], frame["model"]
        conversation_id, regenerate = frame["conversation_id"], frame["regenerate"]
        principal = await self._current_principal()
        if answers.running(principal.tenant_id, principal.user_id, client_id):
            await self._resume({"id": client_id, "offset": 0})
            return
        started = await database_sync_to_async(services.start_turn)(
            tenant_id=principal.tenant_id, user_id=principal.user_id, client_id=client_id, content=content,
            conversation_id=conversation_id, model=model, regenerate=regenerate,
        )  # fmt: skip
        if isinstance(started, Message):  # a re-sent message: the answer already exists
            await self._resume({"id": client_id, "offset": 0})
            return
        request_id = edge.new_request_id()
        edge.begin("chat.message", request_id)  # the answer's task inherits the root span
        answer = answers.Answer(
            principal, client_id, started, model, request_id, frame["vector_store_ids"], frame["tools"]
        )
        self._listen_to(client_id)
        await self.send_frame({"type": "typing", "id": client_id, "active": True, **answer._where()})
        answer.start(self.listener_id, self.send_frame)

    async def _current_principal(self) -> Principal:
        """Re-read per message: a suspended tenant or removed member is refused at once."""
        principal = await member_principal(self.principal.tenant_slug, self.principal.user_id)
        authorize(principal, endpoint="chat")
        self.principal = principal
        return principal

    async def _cancel(self, frame: dict) -> None:
        client_id = frame["id"]
        await self._current_principal()
        answer = answers.running(self.principal.tenant_id, self.principal.user_id, client_id)
        if answer is not None:
            answer.listeners.setdefault(self.listener_id, answers.Listener(self.send_frame))
            answer.cancel()
            return
        stored = await database_sync_to_async(services.find_answer)(
            self.principal.tenant_id, self.principal.user_id, client_id
        )
        if stored is None:
            await self._error(client_id, NotFound("No answer has this id."))
        elif stored.status == MessageStatus.STREAMING:  # running in another process
            group = answers.group_name(self.principal.tenant_id, self.principal.user_id, client_id)
            await get_channel_layer().group_send(group, {"type": "answer.cancel", "reply": await self._inbox()})
        else:
            await self._replay(stored, len(stored.content))

    async def _resume(self, frame: dict) -> None:
        client_id, offset = frame["id"], frame.get("offset", 0)
        await self._current_principal()
        answer = answers.running(self.principal.tenant_id, self.principal.user_id, client_id)
        if answer is not None:
            self._listen_to(client_id)
            await answer.attach(self.listener_id, self.send_frame, offset)
            return
        stored = await database_sync_to_async(services.find_answer)(
            self.principal.tenant_id, self.principal.user_id, client_id
        )
        if stored is None:
            await self._error(client_id, NotFound("No answer has this id."))
        elif stored.status == MessageStatus.STREAMING:
            await self._attach_remote(stored, offset)
        else:
            await self._replay(stored, offset)

    def _listen_to(self, client_id: str) -> None:
        tenant_id, user_id = self.principal.tenant_id, self.principal.user_id
        self.listening = {i for i in self.listening if answers.running(tenant_id, user_id, i)} | {client_id}

    async def _attach_remote(self, stored: Message, offset: int) -> None:
        """Ask the process writing the answer to stream it here; if none answers, it was lost."""
        group = answers.group_name(self.principal.tenant_id, self.principal.user_id, stored.client_id)
        self.heard.discard(stored.client_id)
        await get_channel_layer().group_send(
            group, {"type": "answer.attach", "reply": await self._inbox(), "offset": offset}
        )
        spawn(self._unless_heard(stored), what="chat resume check")

    async def _unless_heard(self, stored: Message) -> None:
        await asyncio.sleep(ATTACH_WAIT_SECONDS)
        if stored.client_id in self.heard:
            return
        if await database_sync_to_async(services.mark_interrupted)(stored.pk):
            interrupted = frames.failed(stored.client_id, ErrorCode.ANSWER_INTERRUPTED, "The answer was interrupted.")
            await self.send_frame(interrupted)
        else:  # it finished in the meantime: the database has it whole
            stored = await database_sync_to_async(Message.objects.get)(pk=stored.pk)
            await self._replay(stored, 0)

    async def _replay(self, stored: Message, offset: int) -> None:
        """A finished answer, from the database: the text not yet seen, then how it ended."""
        client_id = stored.client_id
        if offset < len(stored.content):
            await self.send_frame(frames.token(client_id, stored.content[offset:], offset))
        if stored.status == MessageStatus.COMPLETE:
            await self.send_frame(
                frames.done(
                    client_id,
                    stored.conversation_id,
                    stored.model,
                    stored.tokens_in,
                    stored.tokens_out,
                    stored.cost_usd,
                )
            )
        elif stored.status == MessageStatus.CANCELLED:
            await self.send_frame(frames.cancelled(client_id))
        else:
            code = stored.error_code or ErrorCode.UPSTREAM_FAILED
            await self.send_frame(frames.failed(client_id, code, "The answer failed."))

    # --- frames to the client ------------------------------------------------------------------

    async def send_frame(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def chat_frame(self, message: dict) -> None:
        """A frame from an answer running in another process (after a resume or a cancel)."""
        self.heard.add(message["frame"].get("id"))
        await self.send_frame(message["frame"])

    async def _error(self, client_id: str | None, error: ApiError) -> None:
        await self.send_frame(edge.error_frame(error, client_id))
