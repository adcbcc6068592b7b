"""Raw asyncio HTTP/1.1 peers on loopback, in the test's own event loop: they
answer exactly as told (or do not), and count the connections they get."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

#: What a peer does with one request's connection: read and write as it likes.
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def answer(body: bytes = b"{}", status: str = "200 OK", *, length: bool = True) -> bytes:
    """A whole HTTP/1.1 keep-alive answer; without ``length``, chunked."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    if length:
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
    chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b""
    return f"{head}Transfer-Encoding: chunked\r\n\r\n".encode() + chunk + b"0\r\n\r\n"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request's head (the tests' requests that matter have no body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            await reader.readexactly(int(value))
    return head


class Peer:
    """One listening port: counts accepted and still open connections."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler or self.keep_alive
        self.accepted = 0
        self.open = 0
        self.requests = 0
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def until(self, condition: Callable[[Peer], bool], seconds: float = 5) -> None:
        """Wait until ``condition(self)`` holds (checked on every change)."""
        async with asyncio.timeout(seconds), self._changed:
            await self._changed.wait_for(lambda: condition(self))

    async def keep_alive(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer ``{}`` to every request on the connection until it closes."""
        while True:
            await read_request(reader)
            await self._note("requests", +1)
            writer.write(answer())
            await writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        await self._note("accepted", +1)
        await self._note("open", +1)
        try:
            await self.handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            await self._note("open", -1)

    async def _note(self, counter: str, step: int) -> None:
        async with self._changed:
            setattr(self, counter, getattr(self, counter) + step)
            self._changed.notify_all()


@contextlib.asynccontextmanager
async def peers(*handlers: Handler | None) -> AsyncIterator[list[Peer]]:
    """Started peers, one per handler (``None``: answers ``{}``, keep-alive)."""
    started = [Peer(handler) for handler in handlers]
    for peer in started:
        await peer.start()
    try:
        yield started
    finally:
        for peer in started:
            await peer.stop()
