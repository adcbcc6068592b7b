"""One GraphQL subscription over a graphql-transport-ws websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException
from websockets.typing import Subprotocol

from .errors import BadCredentials, ClientError, ConnectionLost, graphql_error, why

__all__ = ["PROTOCOL", "Subscription"]

PROTOCOL = Subprotocol("graphql-transport-ws")


class Subscription:
    """One GraphQL subscription on its own graphql-transport-ws websocket.

    ``async with`` starts it and closes it; iterating yields the ``data`` of
    each ``next`` message and stops when the server sends ``complete``. Any
    error ends the subscription and closes the websocket."""

    _ID = "1"  # one subscription per websocket: the id needs to be unique only there

    def __init__(
        self,
        ws_url: str,
        payload: dict[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        init_payload: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.ws_url = ws_url
        self._payload = payload
        self._headers = dict(headers or {})
        self._init = init_payload or {}
        self._timeout = timeout
        self._connection: ClientConnection | None = None
        self._started = False
        self._subscribed = False
        self._done = False

    @property
    def closed(self) -> bool:
        """Whether the subscription ended (or was never started and closed)."""
        return self._done

    async def start(self) -> None:
        """Connect, send ``connection_init`` (with the token) and wait for the
        ack, then subscribe."""
        if self._started:
            return
        self._started = True
        try:
            with _websocket_errors(self.ws_url):
                self._connection = await connect(
                    self.ws_url,
                    subprotocols=[PROTOCOL],
                    additional_headers=self._headers,
                    open_timeout=self._timeout,
                    close_timeout=2,
                    # Values are as large as an elektrad accepts (its --max-body);
                    # the server is the one we chose to trust.
                    max_size=None,
                )
                if self._connection.subprotocol != PROTOCOL:
                    raise ClientError(f"{self.ws_url} does not speak {PROTOCOL}")
                await self._send({"type": "connection_init", "payload": self._init})
                await self._wait_for_ack()
                await self._send({"id": self._ID, "type": "subscribe", "payload": self._payload})
                self._subscribed = True
        except BaseException:
            await self.aclose()
            raise

    async def _wait_for_ack(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                while True:
                    message = await self._receive()
                    if message.get("type") == "connection_ack":
                        return
                    if message.get("type") == "ping":
                        await self._send({"type": "pong"})
                    elif message.get("type") != "pong":
                        raise ClientError(f"unexpected message before connection_ack: {message}")
        except TimeoutError as exc:
            raise ConnectionLost(
                f"clusterd did not acknowledge the connection within {self._timeout:g}s"
            ) from exc

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if not self._started:
            await self.start()
        try:
            while not self._done:
                message = await self._receive()
                kind = message.get("type")
                if kind == "ping":
                    await self._send({"type": "pong"})
                elif kind == "pong" or message.get("id") != self._ID:
                    continue
                elif kind == "next":
                    payload = message.get("payload") or {}
                    if payload.get("errors"):
                        raise graphql_error(payload["errors"], payload.get("data"))
                    data: dict[str, Any] = payload.get("data") or {}
                    return data
                elif kind == "error":
                    self._done = True  # the server forgot the id: no "complete" owed
                    raise graphql_error(message.get("payload") or [], None)
                elif kind == "complete":
                    self._done = True
        except BaseException:
            await self.aclose()
            raise
        await self.aclose()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Unsubscribe (if still subscribed) and close the websocket."""
        connection, self._connection = self._connection, None
        subscribed = self._subscribed and not self._done
        self._done = True
        if connection is None:
            return
        try:
            if subscribed:
                await connection.send(json.dumps({"id": self._ID, "type": "complete"}))
            await connection.close()
        except (WebSocketException, OSError):
            pass  # already gone: nothing left to close

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._connection is not None
        with _websocket_errors(self.ws_url):
            await self._connection.send(json.dumps(message))

    async def _receive(self) -> dict[str, Any]:
        assert self._connection is not None
        with _websocket_errors(self.ws_url):
            raw = await self._connection.recv()
        try:
            message = json.loads(raw)
        except ValueError as exc:
            raise ClientError(f"not a JSON message from {self.ws_url}: {raw!r:.200}") from exc
        if not isinstance(message, dict):
            raise ClientError(f"not a graphql-transport-ws message: {message!r:.200}")
        return message


@contextmanager
def _websocket_errors(url: str) -> Iterator[None]:
    """Translate what ``websockets`` raises into ``ClientError``s."""
    try:
        yield
    except ConnectionClosed as exc:
        raise _closed(exc) from exc
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in (401, 403):
            code = "UNAUTHENTICATED" if status == 401 else "FORBIDDEN"
            raise BadCredentials(code, f"clusterd refused the websocket (HTTP {status})") from exc
        if status >= 500:  # a proxy in front of a restarting clusterd, for one
            raise ConnectionLost(f"{url}: HTTP {status}") from exc
        raise ClientError(f"{url} refused the websocket: HTTP {status}") from exc
    except InvalidURI as exc:
        raise ClientError(f"invalid URL {url}: {exc}") from exc
    except WebSocketException as exc:  # a failed handshake, for one
        raise ClientError(f"websocket to {url}: {exc}") from exc
    except OSError as exc:  # refused, reset, unreachable, timed out
        raise ConnectionLost(f"cannot reach clusterd at {url}: {why(exc)}") from exc


def _closed(exc: ConnectionClosed) -> ClientError:
    code = exc.rcvd.code if exc.rcvd is not None else 1006
    reason = exc.rcvd.reason if exc.rcvd is not None and exc.rcvd.reason else ""
    if code in (4401, 4403):
        return BadCredentials(
            "UNAUTHENTICATED" if code == 4401 else "FORBIDDEN",
            reason or f"clusterd closed the connection with {code}",
        )
    # Other 44xx are this client's protocol errors: trying again would not help.
    # 4408 (no connection_init in time) and the rest are the network's or the server's.
    if 4400 <= code < 4500 and code != 4408:
        return ClientError(f"clusterd closed the connection: {code} {reason}".rstrip())
    text = f"connection to clusterd closed ({code}{': ' + reason if reason else ''})"
    return ConnectionLost(text, close_code=code)
