"""clusterd's websockets: uvicorn's protocol made leaner per connection, and
strawberry's graphql-transport-ws handler with the subscriptions that many
sockets share served from one execution (:mod:`.multiplex`).

:class:`ClusterdWebSocketProtocol` is uvicorn's ``websockets-sansio``
protocol (what ``ws="auto"`` picks) with three changes, found with
``scripts/bench-subscriptions --trace-memory`` at 10,000 open sockets:

- the handshake's request and response (websockets ``Headers``: about
  5 KiB a socket) are let go once the socket is accepted; the ASGI scope
  keeps its own copy of the request headers, as before;
- the ASGI receive queue and the "writable" flag are small objects of
  their own instead of an ``asyncio.Queue`` (four deques and an Event:
  about 3 KiB) and an ``asyncio.Event``;
- it offers :meth:`~ClusterdWebSocketProtocol.write_frame`: a ready
  websocket frame written to the transport at once, which the multiplexed
  subscriptions use (see below).

The handler: everything of the protocol (connection_init and its timeout,
ping/pong, the close codes 4400/4401/4403/4408/4409/4429, queries and
mutations over the socket, the other subscriptions) stays strawberry's. A
multiplexed subscription runs as a listener of its group. When its socket is
open, writable and does not compress (per-message deflate off, clusterd's
default), and nothing of it is waiting to be sent, each event is written by
the group itself as one pre-built frame: the frame of the group's encoded
payload is built once per event, and only the tail with this subscription's
id is added per socket, with no task woken and no ASGI message per
subscriber. Otherwise (a socket paused by TCP backpressure, one that
compresses, one being closed) the event is queued for the subscription's own
task, which sends it through ASGI at the socket's pace; a socket whose queue
is full is dropped alone, as before.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections import deque
from json import JSONDecodeError
from typing import TYPE_CHECKING, Any, Final, cast

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol, State

from ..schema.context import Context
from .multiplex import Listener, Multiplexer, Payload, is_too_slow, key_for, too_slow_payload

if TYPE_CHECKING:
    from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
    from uvicorn._types import ASGISendEvent
    from websockets.http11 import Request

    from ..engine.metrics import Metrics

__all__ = ["FRAMES", "ClusterdWebSocketProtocol", "TransportWSHandler", "text_frame"]

#: The key in an ASGI websocket scope's ``extensions`` under which
#: :class:`ClusterdWebSocketProtocol` offers itself (for ``write_frame``).
FRAMES: Final = "elektra_web.frames"

#: Every ``next`` message of a multiplexed subscription starts so; the
#: subscription's id comes last: ``{"type":"next","payload":P,"id":"1"}``.
NEXT_HEAD: Final = '{"type":"next","payload":'


class _Inbox:
    """What uvicorn's protocol uses of an ``asyncio.Queue``: ``put_nowait``,
    ``get``, ``empty``; with one reader (the ASGI ``receive``), nothing held
    while empty."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item


class _Flag:
    """What uvicorn's protocol uses of an ``asyncio.Event`` (its "writable"
    flag): ``set``, ``clear``, ``is_set``, ``wait``; futures only while waited."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        while not self._set:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if self._waiters is not None and waiter in self._waiters:
                    self._waiters.remove(waiter)
        return True


class ClusterdWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, leaner per connection (see the
    module's documentation); ``elektra_web.clusterd.server`` serves with it."""

    # The attributes uvicorn's protocol sets (0.54), as slots: its 38 would
    # make each connection's instance dictionary an unshared one of 1.5 KiB.
    # One it adds later lands in the dictionary, as before.
    __slots__ = (
        "app", "app_state", "asgi_version", "client", "close_sent", "close_timeout",
        "close_timer", "config", "conn", "connections", "curr_msg_data_type",
        "default_headers", "disconnected", "frames", "handshake_complete",
        "handshake_initiated", "initial_response", "last_ping_rtt", "logger", "loop",
        "pending_ping_payload", "ping_interval", "ping_sent_at", "ping_timeout",
        "ping_timer", "pong_timer", "queue", "read_paused", "request", "response",
        "root_path", "scheme", "scope", "server", "tasks", "transport", "writable",
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        self.request = None  # type: ignore[assignment]  # the scope has its headers
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][FRAMES] = self

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            self.response = None  # type: ignore[assignment]  # sent; never read again
            self._forget_request()

    def _forget_request(self) -> None:
        """websockets' server parser keeps the handshake request (its headers,
        3.5 KiB) as a local variable for the connection's lifetime: once the
        socket is open and nothing of a frame has been read (the client waits
        for the 101 it was just sent), a fresh frame parser takes its place,
        at the very point where the old one waits."""
        conn = self.conn
        if conn.state is State.OPEN and not conn.reader.buffer and conn.parser_exc is None:
            parser = Protocol.parse(conn)
            next(parser)  # to where it waits for the first frame, as the old one
            conn.parser = parser

    def write_frame(self, frame: bytes) -> bool:
        """Write ``frame`` (a whole, unmasked, uncompressed websocket frame)
        now; False, writing nothing, unless the socket is open, not paused by
        backpressure and compresses nothing (then send through ASGI)."""
        if (
            self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.conn.extensions
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True


def text_frame(payload: bytes) -> bytes:
    """A whole websocket text frame (FIN, unmasked, as a server sends) of ``payload``."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + payload


def _frame(payload: Payload, tail: bytes) -> bytes:
    """The frame of ``{"type":"next","payload":P`` + ``tail``: the part up to
    the tail is built once per event and tail length (the frame's header holds
    the whole length); per socket only the tail is added."""
    frames = payload.frames
    start = frames.get(len(tail))
    if start is None:
        body = payload.body
        if body is None:
            body = payload.body = (NEXT_HEAD + payload.text).encode()
        start = text_frame(body + tail)[: -len(tail)]
        frames[len(tail)] = start
    return start + tail


class _Direct:
    """A multiplexed subscription's way to have the group write its events
    straight to its socket (:meth:`Listener.push`)."""

    __slots__ = ("handler", "operation", "protocol", "tail")

    def __init__(
        self,
        handler: TransportWSHandler,
        operation: Operation[Context, None],
        protocol: ClusterdWebSocketProtocol,
        tail: str,
    ) -> None:
        self.handler = handler
        self.operation = operation
        self.protocol = protocol
        self.tail = tail.encode()

    def deliver(self, payload: Payload) -> bool:
        operation = self.operation
        if operation.completed or self.handler.operations.get(operation.id) is not operation:
            return False  # completed or being cancelled: its task ends it
        return self.protocol.write_frame(_frame(payload, self.tail))


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Runs a multiplexable subscription as a listener of its group; its
    events are written by the group (``_Direct``) or sent by the operation's
    own task, at this socket's pace."""

    async def handle(self) -> None:
        """strawberry's, reading the messages itself: strawberry's loop keeps
        the last message received (the subscribe, its text and its decoded
        JSON: about 1.2 KiB) for as long as the socket stays quiet."""
        adapter: Any = self.websocket
        if not isinstance(getattr(adapter, "ws", None), WebSocket):
            await super().handle()
            return
        self.on_request_accepted()
        try:
            try:
                await self._receive(adapter.ws)
            except NonTextMessageReceived:
                await self.handle_invalid_message("WebSocket message type must be text")
            except NonJsonMessageReceived:
                await self.handle_invalid_message("WebSocket message must be valid JSON")
        except WebSocketDisconnected:
            pass
        finally:
            await self.shutdown()

    async def _receive(self, ws: WebSocket) -> None:
        # As strawberry's ASGI adapter (iter_json), then its handle loop.
        while ws.application_state != WebSocketState.DISCONNECTED:
            try:
                text = await ws.receive_text()
            except KeyError as exc:
                raise NonTextMessageReceived from exc
            except WebSocketDisconnect:
                return
            try:
                message = self.view.decode_json(text)
            except JSONDecodeError as exc:
                raise NonJsonMessageReceived from exc
            del text
            await self.handle_message(cast("Message", message))
            del message

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        super()._task_done(task)
        if task is self.connection_init_timeout_task:
            # Done (connection_init came, or it timed out): not kept for the
            # socket's lifetime. shutdown() skips a None.
            self.connection_init_timeout_task = None

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        multiplexer: Multiplexer | None = getattr(self.view, "multiplexer", None)
        key = (
            key_for(
                operation.query,
                operation.variables,
                operation.operation_name,
                self.context.caller.role,
            )
            if multiplexer is not None
            else None
        )
        if multiplexer is None or key is None:
            await super().run_operation(operation)
            return
        tail = f',"id":{json.dumps(operation.id)}}}'
        socket: Any = self.websocket
        protocol = socket.ws.scope.get("extensions", {}).get(FRAMES)
        direct = (
            _Direct(self, operation, protocol, tail)
            if isinstance(protocol, ClusterdWebSocketProtocol)
            else None
        )
        metrics: Metrics | None = self.context.services.metrics
        listener = multiplexer.join(key, direct, metrics)
        if metrics is not None:
            metrics.subscriptions.inc()
        try:
            await self._listen(operation, listener, tail, metrics)
        except WebSocketDisconnect:
            pass  # the socket went away: its handler is shutting down
        finally:
            if metrics is not None:
                metrics.subscriptions.dec()
            multiplexer.leave(key, listener)

    async def _listen(
        self,
        operation: Operation[Context, None],
        listener: Listener,
        tail: str,
        metrics: Metrics | None,
    ) -> None:
        # The payload was encoded once for the whole group: only the id is ours.
        while True:
            item = await listener.next()
            if isinstance(item, Payload):
                if metrics is not None:
                    metrics.subscription_events.inc()
                await self._send_next(operation, item.text, tail)
                continue
            if is_too_slow(item):
                if metrics is not None:
                    metrics.subscriptions_dropped.inc()
                payload = too_slow_payload(listener, self.view.encode_json)
                await self._send_next(operation, payload, tail)
            elif item.error is not None:
                # It could not start (e.g. a validation error): as strawberry
                # answers an unshared subscription (parse errors never get here).
                await operation.send_initial_errors(list(item.error.errors or ()))
            break
        await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _send_next(self, operation: Operation[Context, None], text: str, tail: str) -> None:
        if operation.completed:
            return
        socket: Any = self.websocket
        await socket.ws.send_text(NEXT_HEAD + text + tail)
