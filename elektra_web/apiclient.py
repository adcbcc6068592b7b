"""A small client for clusterd's GraphQL API, for the ``elektra-web`` tools and
for scripts.

Queries and mutations go over HTTP (``POST /graphql``); subscriptions over a
websocket speaking ``graphql-transport-ws``, one websocket per subscription::

    async with ClusterdClient("http://127.0.0.1:33334", token=token) as client:
        data = await client.query("query($i: ID!) { instance(id: $i) { name } }", i="1")
        async with client.subscription(CHANGES, clusterId="2") as changes:
            async for data in changes:
                ...

    data = query_sync("http://127.0.0.1:33334", "{ clusters { id name } }")

Every failure is a ``ClientError``:

    ClientError           (base; also: a reply that is not GraphQL, a protocol error)
    ├── ApiError          clusterd answered with a GraphQL error: ``.code`` is its
    │                     ``extensions.code`` (NOT_FOUND, INVALID_KEY_NAME, ...)
    ├── ConnectionLost    clusterd could not be reached, or the connection broke:
    │                     trying again later may work
    └── BadCredentials    the token is missing, wrong or not allowed: UNAUTHENTICATED
                          or FORBIDDEN, HTTP 401/403, websocket close 4401/4403
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidStatus,
    InvalidURI,
    WebSocketException,
)
from websockets.typing import Subprotocol

__all__ = [
    "ApiError",
    "BadCredentials",
    "ClientError",
    "ClusterdClient",
    "ConnectionLost",
    "Subscription",
    "endpoints",
    "query_sync",
]

PROTOCOL = Subprotocol("graphql-transport-ws")
#: ``ApiError.code`` of an error without ``extensions.code`` (e.g. a query that
#: does not validate against the schema).
GRAPHQL_ERROR = "GRAPHQL_ERROR"
_CREDENTIAL_CODES = {"UNAUTHENTICATED", "FORBIDDEN"}


class ClientError(Exception):
    """Anything that went wrong talking to clusterd."""


class ApiError(ClientError):
    """clusterd answered with a GraphQL error (the first one, if several)."""

    def __init__(
        self,
        code: str,
        message: str,
        path: list[str | int] | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message
        self.path = path
        #: Every error of the response, as clusterd sent them.
        self.errors = errors or []
        #: What the response had besides the errors (partial results), if anything.
        self.data = data


class ConnectionLost(ClientError):
    """clusterd could not be reached or the connection broke."""

    def __init__(self, message: str, *, close_code: int | None = None) -> None:
        super().__init__(message)
        #: The websocket close code, when there was a websocket.
        self.close_code = close_code


class BadCredentials(ClientError):
    """clusterd refused the caller: ``code`` is UNAUTHENTICATED (no token or a
    wrong one) or FORBIDDEN (a token that may not do this)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message


def endpoints(url: str) -> tuple[str, str]:
    """The HTTP and websocket URLs of ``/graphql`` below clusterd's base URL
    (``http://host:port``, maybe with a path; ``/graphql`` itself is accepted)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/graphql"):
        path += "/graphql"
    http = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    ws = urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, path, "", ""))
    return http, ws


class ClusterdClient:
    """clusterd's API at base URL ``url``, as ``token`` (sent as a bearer token
    when given). ``http``: an httpx client to use (and not close), e.g. with a
    mock transport; otherwise one is made and closed by ``aclose()``."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        http: httpx.AsyncClient | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.http_url, self.ws_url = endpoints(url)
        self._token = token
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=connect_timeout))
        self._connect_timeout = connect_timeout

    @property
    def has_token(self) -> bool:
        """Whether requests carry a token."""
        return self._token is not None

    async def query(self, document: str, /, **variables: Any) -> dict[str, Any]:
        """Run a query or mutation; its ``data``. Raises ``ApiError`` if the
        response has errors (partial data is on the exception)."""
        try:
            response = await self._http.post(
                self.http_url,
                json={"query": document, "variables": variables},
                headers=self._headers,
            )
        except httpx.TransportError as exc:
            raise ConnectionLost(f"cannot reach clusterd at {self.url}: {_why(exc)}") from exc
        return _data(response)

    def subscription(self, document: str, /, **variables: Any) -> Subscription:
        """A subscription, not yet started: ``async with`` it (connects, waits
        for the server's ack, subscribes) and iterate over it."""
        init: dict[str, Any] = {"token": self._token} if self._token else {}
        return Subscription(
            self.ws_url,
            {"query": document, "variables": variables},
            headers=self._headers,
            init_payload=init,
            timeout=self._connect_timeout,
        )

    async def subscribe(self, document: str, /, **variables: Any) -> AsyncIterator[dict[str, Any]]:
        """The ``data`` of each event of a subscription; ends when the server
        completes it. Stopping the iteration (``break``, or ``aclose()`` of
        the iterator) unsubscribes and closes the websocket."""
        async with self.subscription(document, **variables) as events:
            async for data in events:
                yield data

    async def aclose(self) -> None:
        """Close the HTTP client if this client made it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def query_sync(
    url: str, document: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    """``ClusterdClient.query`` for scripts without an event loop."""
    http_url, _ = endpoints(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(timeout=30.0) as http:
            response = http.post(
                http_url, json={"query": document, "variables": variables}, headers=headers
            )
    except httpx.TransportError as exc:
        raise ConnectionLost(f"cannot reach clusterd at {url}: {_why(exc)}") from exc
    return _data(response)


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
                        raise _graphql_error(payload["errors"], payload.get("data"))
                    data: dict[str, Any] = payload.get("data") or {}
                    return data
                elif kind == "error":
                    self._done = True  # the server forgot the id: no "complete" owed
                    raise _graphql_error(message.get("payload") or [], None)
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
        raise ConnectionLost(f"cannot reach clusterd at {url}: {_why(exc)}") from exc


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


def _data(response: httpx.Response) -> dict[str, Any]:
    """The data of a GraphQL response, or the error it is."""
    status = response.status_code
    if status in (502, 503, 504):
        raise ConnectionLost(f"clusterd is unavailable (HTTP {status})")
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        raise _graphql_error(errors, body.get("data"))
    if status in (401, 403):
        code = "UNAUTHENTICATED" if status == 401 else "FORBIDDEN"
        raise BadCredentials(code, f"clusterd refused the request (HTTP {status})")
    if status >= 400 or not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ClientError(f"not a GraphQL response from {response.url}: HTTP {status}")
    data: dict[str, Any] = body["data"]
    return data


def _graphql_error(errors: Any, data: Any) -> ClientError:
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return ClientError(f"malformed GraphQL errors: {errors!r:.200}")
    first: dict[str, Any] = errors[0]
    extensions = first.get("extensions") or {}
    code = str(extensions.get("code") or GRAPHQL_ERROR)
    message = str(first.get("message", ""))
    if code in _CREDENTIAL_CODES:
        return BadCredentials(code, message)
    path = first.get("path")
    return ApiError(
        code,
        message,
        path if isinstance(path, list) else None,
        errors=errors,
        data=data if isinstance(data, dict) else None,
    )


def _why(exc: BaseException) -> str:
    # httpx's ConnectError and some OSErrors have an empty str().
    return str(exc) or type(exc).__name__
