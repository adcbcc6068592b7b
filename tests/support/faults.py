"""A fault-injecting HTTP/1.1 proxy for tests: it sits on a loopback port
between a client (clusterd) and one upstream (an elektrad) and, per rule, holds,
drops, delays or trickles the requests that match.

The proxy runs its own event loop in its own thread, so synchronous test code
and servers in other threads can drive it alike::

    with FaultProxy(elektrad_url) as proxy:
        late = proxy.hold(matching("PUT", "/kdb/"), times=1)
        ...  # point clusterd at proxy.url, start a write in the background
        late.wait_held()  # the PUT has reached the proxy and is kept there
        ...  # a newer write goes through
        late.release()  # the old PUT reaches the daemon now, after the newer one

Each client connection gets its own upstream connection; requests on it are
read one at a time (request line, headers, then a Content-Length or chunked
body), so keep-alive works and a rule sees each request. Responses are relayed
as they arrive (Content-Length, chunked, or up to the close); a ``101`` switches
the connection to a plain two-way byte pipe. Rules are tried in the order they
were added; the first one that matches and is not used up applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

#: ``match(method, path, headers)``: ``path`` is the request target as sent
#: (query included); header names are lower case.
Match = Callable[[str, str, Mapping[str, str]], bool]

R = TypeVar("R", bound="Rule")

#: Bounds: a request or response head, and a request body the proxy buffers.
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
#: How long ``close`` waits for the proxy's thread.
CLOSE_TIMEOUT = 10.0


def matching(method: str | None = None, path: str = "") -> Match:
    """A match for requests with this method (any if None) whose target starts
    with ``path``."""
    wanted = method.upper() if method else None

    def match(got_method: str, got_path: str, headers: Mapping[str, str]) -> bool:
        return (wanted is None or got_method == wanted) and got_path.startswith(path)

    return match


class _Closed(Exception):
    """A connection ended before a whole request or response was read."""


@dataclass
class _Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    raw: bytes


class Rule:
    """One rule of a :class:`FaultProxy`: ``hits`` counts the requests it took."""

    def __init__(
        self,
        proxy: FaultProxy,
        match: Match,
        times: int | None,
        kind: str,
        seconds: float = 0.0,
    ) -> None:
        self._proxy = proxy
        self.match = match
        self.times = times
        self.kind = kind  # "hold", "blackhole", "trickle" or "delay"
        self.seconds = seconds
        self.hits = 0
        self.active = True

    def remove(self) -> None:
        """Apply to no further request (held requests stay held)."""
        with self._proxy._lock:
            self.active = False

    def wait_hits(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until the rule has taken ``count`` requests; TimeoutError if not
        within ``timeout`` seconds."""
        self._proxy._wait_for(lambda: self.hits >= count, timeout, f"{count} hit(s)")

    def _take(self) -> None:  # under the proxy's lock
        self.hits += 1
        if self.times is not None and self.hits >= self.times:
            self.active = False


class Hold(Rule):
    """Requests this rule took are kept, not forwarded, until :meth:`release`."""

    def __init__(self, proxy: FaultProxy, match: Match, times: int | None) -> None:
        super().__init__(proxy, match, times, "hold")
        self._waiting: list[_Held] = []

    @property
    def held(self) -> int:
        """How many requests are being held right now."""
        with self._proxy._lock:
            return len(self._waiting)

    def wait_held(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until ``count`` requests are being held; TimeoutError if not
        within ``timeout`` seconds."""
        self._proxy._wait_for(
            lambda: len(self._waiting) >= count, timeout, f"{count} held request(s)"
        )

    def release(self, *, wait: bool = True, timeout: float = 10.0) -> None:
        """Forward the held requests now, byte for byte as they came, whether or
        not their clients are still there, and retire the rule (later requests
        pass). With ``wait``, block until the upstream has answered each (its
        response head arrived, or the upstream failed); TimeoutError if not
        within ``timeout`` seconds."""
        with self._proxy._lock:
            self.active = False
            released, self._waiting = self._waiting, []
        for held in released:
            self._proxy._call_soon(held.go.set)
        deadline = time.monotonic() + timeout
        for held in released if wait else ():
            if not held.answered.wait(max(0.0, deadline - time.monotonic())):
                raise TimeoutError("the upstream did not answer a released request in time")


@dataclass
class _Held:
    go: asyncio.Event
    answered: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Action:
    """What happens to one request."""

    kind: str  # "pass", or a rule's kind
    seconds: float = 0.0
    held: _Held | None = None


class FaultProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of ``upstream_url`` (loopback
    only), started on a free port; ``url`` is its base URL. Use it as a context
    manager or call :meth:`close`."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        host = parts.hostname or ""
        if parts.scheme != "http" or not _loopback(host):
            raise ValueError(f"the upstream must be http:// on a loopback address: {upstream_url}")
        self._upstream = ("127.0.0.1" if host == "localhost" else host, parts.port or 80)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._rules: list[Rule] = []
        self._port = 0
        self._seen: list[tuple[str, str]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        started = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(started, failure), name="fault-proxy", daemon=True
        )
        self._thread.start()
        if not started.wait(CLOSE_TIMEOUT) or failure:
            self.close()
            raise RuntimeError("the fault proxy did not start") from (
                failure[0] if failure else None
            )
        self.url = f"http://127.0.0.1:{self._port}"

    # -- rules -------------------------------------------------------------

    def hold(self, match: Match, *, times: int | None = None) -> Hold:
        """Hold matching requests (at most ``times`` of them) until released."""
        return self._add(Hold(self, match, times))

    def blackhole(self, match: Match, *, times: int | None = None) -> Rule:
        """Take matching requests and never answer; the connection stays open
        (further bytes on it are read and dropped) until the client closes it."""
        return self._add(Rule(self, match, times, "blackhole"))

    def trickle(self, match: Match, interval: float, *, times: int | None = None) -> Rule:
        """Forward matching requests, then send the upstream's answer to the
        client one byte every ``interval`` seconds."""
        return self._add(Rule(self, match, times, "trickle", interval))

    def delay(self, match: Match, seconds: float, *, times: int | None = None) -> Rule:
        """Forward matching requests ``seconds`` late."""
        return self._add(Rule(self, match, times, "delay", seconds))

    def clear(self) -> None:
        """Drop every rule: later requests pass. Requests already held stay held
        until their :meth:`Hold.release` (or :meth:`close`)."""
        with self._lock:
            for rule in self._rules:
                rule.active = False
            self._rules.clear()

    @property
    def requests(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request read so far, in arrival order."""
        with self._lock:
            return list(self._seen)

    # -- life --------------------------------------------------------------

    def close(self) -> None:
        """Close every connection (held requests are dropped) and stop the
        thread."""
        with self._lock:
            self._closed = True
        if self._loop is not None and self._stop is not None:
            self._call_soon(self._stop.set)
        self._thread.join(CLOSE_TIMEOUT)
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals: shared with the test threads ---------------------------

    def _add(self, rule: R) -> R:
        with self._lock:
            self._rules.append(rule)
        return rule

    def _wait_for(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError(f"waited {timeout} s for {what}")
                self._changed.wait(left)

    def _call_soon(self, callback: Callable[[], object]) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(callback)

    def _decide(self, request: _Request, go: asyncio.Event) -> _Action:
        """Record ``request`` and pick what happens to it (in the loop)."""
        with self._changed:
            self._seen.append((request.method, request.path))
            action = _Action("pass")
            for rule in self._rules:
                if rule.active and rule.match(request.method, request.path, request.headers):
                    rule._take()
                    action = _Action(rule.kind, rule.seconds)
                    if isinstance(rule, Hold):
                        action.held = _Held(go)
                        rule._waiting.append(action.held)
                    break
            self._changed.notify_all()
            return action

    # -- internals: the loop's thread --------------------------------------

    def _run(self, started: threading.Event, failure: list[BaseException]) -> None:
        try:
            asyncio.run(self._main(started))
        except BaseException as error:  # reported to the starter
            failure.append(error)
            started.set()

    async def _main(self, started: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD)
        self._port = server.sockets[0].getsockname()[1]
        started.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=CLOSE_TIMEOUT)
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = _Connection(self, reader, writer)
        try:
            await connection.run()
        except (
            _Closed,
            OSError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass  # a connection that breaks ends; the proxy goes on
        except asyncio.CancelledError:
            pass  # closing
        finally:
            await connection.close()
            self._tasks.discard(task)


class _Connection:
    """One client connection and its upstream connection."""

    def __init__(
        self, proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.proxy = proxy
        self.reader = reader
        self.writer = writer
        self.client_gone = False
        self.upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def run(self) -> None:
        while True:
            request = await _read_request(self.reader)
            if request is None:
                return
            held = asyncio.Event()
            action = self.proxy._decide(request, held)
            if action.kind == "blackhole":
                while await self.reader.read(65536):  # ends when the client closes
                    pass
                return
            if action.kind == "delay":
                await asyncio.sleep(action.seconds)
            if action.held is not None:
                try:
                    await held.wait()
                except asyncio.CancelledError:
                    action.held.answered.set()  # closed: it never goes; don't keep release waiting
                    raise
            interval = action.seconds if action.kind == "trickle" else 0.0
            keep_alive = await self._forward(request, interval, action.held)
            if not keep_alive or self.client_gone:
                return

    async def _forward(self, request: _Request, interval: float, held: _Held | None) -> bool:
        """Send ``request`` upstream and relay the answer; whether the
        connection may carry another request."""
        try:
            reader, writer = await self._upstream()
            writer.write(request.raw)
            await writer.drain()
            while True:
                head = await _read_head(reader)
                if head is None:
                    raise _Closed
                status, version, headers = _parse_response_head(head)
                if held is not None:
                    held.answered.set()
                await self._send(head, interval)
                if status == 101:
                    await self._pipe(reader, interval)
                    return False
                if not 100 <= status < 200:
                    break
            if request.method == "HEAD" or status in (204, 304):
                pass
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                await _copy_chunked(reader, lambda data: self._send(data, interval))
            elif "content-length" in headers:
                left = int(headers["content-length"])
                while left > 0:
                    data = await reader.read(min(left, 65536))
                    if not data:
                        raise _Closed
                    left -= len(data)
                    await self._send(data, interval)
            else:
                while data := await reader.read(65536):
                    await self._send(data, interval)
                return False
            return _keep_alive(version, headers) and _keep_alive(request.version, request.headers)
        finally:
            if held is not None:
                held.answered.set()

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The upstream connection, opened again if the upstream closed it
        while idle (a held request may wait longer than its keep-alive)."""
        if self.upstream is not None:
            reader, writer = self.upstream
            if not reader.at_eof() and not writer.is_closing():
                return self.upstream
            await _close(writer)
        self.upstream = await asyncio.open_connection(*self.proxy._upstream, limit=MAX_HEAD)
        return self.upstream

    async def _send(self, data: bytes, interval: float) -> None:
        """Write to the client, a byte per ``interval`` if set; once the client
        is gone the rest is dropped (the upstream's answer is still read)."""
        pieces = [data[i : i + 1] for i in range(len(data))] if interval else [data]
        for piece in pieces:
            if self.client_gone or self.writer.is_closing():
                self.client_gone = True
                return
            try:
                self.writer.write(piece)
                await self.writer.drain()
            except ConnectionError:
                self.client_gone = True
                return
            if interval:
                await asyncio.sleep(interval)

    async def _pipe(self, upstream: asyncio.StreamReader, interval: float) -> None:
        """After a 101: bytes both ways until either side closes."""
        assert self.upstream is not None
        up_writer = self.upstream[1]

        async def up() -> None:
            while data := await self.reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()

        async def down() -> None:
            while (data := await upstream.read(65536)) and not self.client_gone:
                await self._send(data, interval)

        tasks = [asyncio.ensure_future(up()), asyncio.ensure_future(down())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        if self.upstream is not None:
            await _close(self.upstream[1])
        await _close(self.writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    """Bytes up to and with the blank line after the headers; None at a clean
    end of the connection."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial.strip():
            raise _Closed from error
        return None


def _parse_headers(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise _Closed
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    head = await _read_head(reader)
    if head is None:
        return None
    lines = head.lstrip(b"\r\n").split(b"\r\n")[:-2]
    parts = lines[0].decode("latin-1").split(" ") if lines else []
    if len(parts) != 3:
        raise _Closed
    method, path, version = parts
    headers = _parse_headers(lines[1:])
    body = bytearray()
    if "chunked" in headers.get("transfer-encoding", "").lower():

        async def keep(data: bytes) -> None:
            if len(body) + len(data) > MAX_BODY:
                raise _Closed
            body.extend(data)

        await _copy_chunked(reader, keep)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if not 0 <= length <= MAX_BODY:
            raise _Closed
        body.extend(await reader.readexactly(length))
    return _Request(method.upper(), path, version, headers, head + bytes(body))


def _parse_response_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head.split(b"\r\n")[:-2]
    parts = lines[0].decode("latin-1").split(" ", 2) if lines else []
    if len(parts) < 2 or not parts[1].isdigit():
        raise _Closed
    return int(parts[1]), parts[0], _parse_headers(lines[1:])


async def _copy_chunked(
    reader: asyncio.StreamReader, send: Callable[[bytes], Awaitable[None]]
) -> None:
    """Pass a chunked body on as it is (sizes, data, trailers)."""
    while True:
        line = await reader.readuntil(b"\r\n")
        await send(line)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as error:
            raise _Closed from error
        if not 0 <= size <= MAX_BODY:
            raise _Closed
        if size == 0:
            break
        await send(await reader.readexactly(size + 2))
    while True:  # trailers, then the blank line
        line = await reader.readuntil(b"\r\n")
        await send(line)
        if line == b"\r\n":
            return


def _keep_alive(version: str, headers: Mapping[str, str]) -> bool:
    tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
