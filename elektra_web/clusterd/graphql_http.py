"""GraphQL over HTTP as its specification says: which media type an answer
has, which status, and the shape of a request error.

- ``Accept`` picks the media type: ``application/graphql-response+json``
  (the specification's, with meaningful status codes) or ``application/json``
  (the legacy one: 200 for every well-formed request). A request with
  neither, and no streaming type, is answered 406.
- A request error (nothing ran: the document did not parse, validate or
  select an operation, or a variable did not fit) has no ``data`` entry; with
  ``application/graphql-response+json`` its status is 400.
- A mutation over GET is 405 with ``Allow: POST``; a subscription needs a
  streaming transport (a websocket, ``multipart/mixed`` or
  ``text/event-stream``).
- Malformed requests (not JSON, no query, an unsupported content type) are
  answered with a GraphQL-shaped JSON error, never plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any

from starlette.responses import JSONResponse

__all__ = [
    "GRAPHQL_RESPONSE",
    "JSON",
    "RequestError",
    "RevocableStream",
    "is_streaming",
    "negotiate",
    "status_for",
]

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

#: Media types of the streaming transports (subscriptions over HTTP).
_STREAMING = ("multipart/mixed", "text/event-stream")


def _ranges(accept: str) -> list[tuple[str, float, int]]:
    """The media ranges of an Accept header: (type, q, position)."""
    ranges = []
    for position, part in enumerate(accept.split(",")):
        kind, *params = (p.strip() for p in part.split(";"))
        if not kind:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((kind.lower(), q, position))
    return ranges


def is_streaming(accept: str) -> bool:
    """Whether the client asks for a streaming answer (a subscription)."""
    return any(kind in _STREAMING and q > 0 for kind, q, _ in _ranges(accept))


def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or None if the client accepts neither.

    No Accept header is taken as ``application/json``, as the specification
    advises while clients move over. Ties go to the specification's type.
    """
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for kind, q, _ in _ranges(accept):
        if q <= 0:
            continue
        if kind == GRAPHQL_RESPONSE:
            candidate = (q, 1, GRAPHQL_RESPONSE)
        elif kind in (JSON, "application/*", "*/*"):
            # A wildcard stands for the legacy type, which every client reads.
            candidate = (q, 0, JSON) if kind == JSON else (q - 1e-9, 0, JSON)
        else:
            continue
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else None


def status_for(body: Mapping[str, Any], media_type: str) -> int:
    """The status of a GraphQL answer: 400 for a request error (no data)
    in the specification's media type, else 200."""
    if media_type == GRAPHQL_RESPONSE and "data" not in body:
        return 400
    return 200


class RequestError(Exception):
    """A request clusterd cannot run, answered as a GraphQL error.

    ``status`` None: the status a request error has in the answer's media
    type (``status_for``)."""

    def __init__(
        self,
        message: str,
        code: str,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.headers = dict(headers or {})

    def response(self, media_type: str) -> JSONResponse:
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        status = self.status if self.status is not None else status_for(body, media_type)
        return JSONResponse(body, status_code=status, headers=self.headers, media_type=media_type)


#: The websocket close code of an endpoint going away (RFC 6455): clusterd stops.
GOING_AWAY = 1001


class RevocableStream:
    """A subscription streamed over HTTP, ended like a websocket when its
    token is revoked or clusterd stops (``events.sessions`` calls ``close``)."""

    def __init__(self, final: Callable[[str, str], str]) -> None:
        #: Encodes the last chunk sent when the stream is ended from outside:
        #: an error with this message and code.
        self._final = final
        self._closed = asyncio.Event()
        self._reason = ""
        self._code = "UNAUTHENTICATED"

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self._reason = reason or "closed"
        # Going away: subscribe again (elsewhere); else the token was revoked.
        self._code = "UNAVAILABLE" if code == GOING_AWAY else "UNAUTHENTICATED"
        self._closed.set()

    async def guard(self, chunks: AsyncIterator[str]) -> AsyncGenerator[str, None]:
        """The chunks, until the stream ends or is closed."""
        closed = asyncio.ensure_future(self._closed.wait())
        chunk: asyncio.Future[str] | None = None
        try:
            while True:
                chunk = asyncio.ensure_future(anext(chunks))
                await asyncio.wait({chunk, closed}, return_when=asyncio.FIRST_COMPLETED)
                if chunk.done():
                    try:
                        value = chunk.result()
                    except StopAsyncIteration:
                        return
                    yield value
                    continue
                chunk.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await chunk
                yield self._final(self._reason, self._code)
                return
        finally:
            closed.cancel()
            if chunk is not None and not chunk.done():
                # The client left (or clusterd stops) while the next chunk was awaited:
                # cancelling that wait ends the generators below it, and with them the
                # subscription. (aclose() would refuse, the generator being busy: the
                # subscription stayed on the bus.)
                chunk.cancel()
            elif isinstance(chunks, AsyncGenerator):
                await chunks.aclose()
