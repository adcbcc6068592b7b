"""A hostile elektrad for tests: an ASGI app in front of a real elektrad that
passes everything through until it is told to lie, then answers as a
compromised or broken machine would.

    with HostileElektrad(daemon.url) as hostile:
        ...  # register hostile.url with clusterd
        hostile.lie = "endless"  # every answer from now on never ends
        ...
        hostile.lie = None  # honest again

The lies (:data:`LIES`) cover what a member can do to clusterd: answers too
large (``flood``: chunked, fast, without end), answers that never end
(``endless``: a byte now and then), answers that are not JSON (``html``), and
answers that are well-formed but false: a ``/version`` with another
``instanceId`` (``other-id``), and change-feed pages rewritten from the real
ones (``feed-names``, ``feed-types``, ``feed-huge``, ``feed-backwards``,
``feed-flood``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Any, Self

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from elektra_web.connector.client import FEED_PAGE, MAX_VALUE

from .servers import serve_in_thread

__all__ = ["LIES", "HostileElektrad"]

#: Every lie, and the requests it applies to (a path prefix; "" is every one).
LIES = {
    "flood": "/kdb/",  # GET only
    "endless": "",
    "html": "",  # GET only: a 2xx write answer with a body is refused anyway
    "other-id": "/version",
    "feed-names": "/kdbChanges",
    "feed-types": "/kdbChanges",
    "feed-huge": "/kdbChanges",
    "feed-backwards": "/kdbChanges",
    "feed-flood": "/kdbChanges",
}

#: The lies that answer without asking the real elektrad.
_ANSWERS = ("flood", "endless", "html")
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


class HostileElektrad:
    """``url`` serves ``upstream``'s API, or :attr:`lie` while it is set."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        #: The lie told now (a key of :data:`LIES`), or ``None``: honest.
        self.lie: str | None = None
        self.url = ""
        self._stack = ExitStack()
        self._app = Starlette(
            routes=[Route("/{rest:path}", self._handle, methods=["GET", "PUT", "POST", "DELETE"])]
        )

    def __enter__(self) -> Self:
        self.url = self._stack.enter_context(serve_in_thread(self._app))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    async def _handle(self, request: Request) -> Response:
        lie = self.lie
        if lie in _ANSWERS and self._applies(lie, request):
            if lie == "flood":
                return StreamingResponse(_flood(), media_type="application/json")
            if lie == "endless":
                return StreamingResponse(_endless(), media_type="application/json")
            return Response("<html>not an elektrad</html>", media_type="text/html")
        honest = await self._pass(request)
        # Looked at again: a long poll sent before the lie began answers with it.
        lie = self.lie
        if lie is None or lie in _ANSWERS or not self._applies(lie, request):
            return honest
        data = json.loads(honest.body)
        if lie == "other-id":
            data["instanceId"] = "f" * 32
        else:
            _rewrite_page(lie, data, request)
        return Response(json.dumps(data), media_type="application/json")

    @staticmethod
    def _applies(lie: str, request: Request) -> bool:
        if lie in ("flood", "html") and request.method != "GET":
            return False  # reads lie, writes pass
        return request.url.path.startswith(LIES[lie])

    async def _pass(self, request: Request) -> Response:
        """The real elektrad's answer to ``request``."""
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", *_HOP_HEADERS)
        }
        async with httpx.AsyncClient(timeout=70) as http:
            answer = await http.request(
                request.method,
                self.upstream + request.url.path,
                params=request.query_params,
                content=await request.body(),
                headers=headers,
            )
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
        return Response(answer.content, status_code=answer.status_code, headers=kept)


def _rewrite_page(lie: str, data: dict[str, Any], request: Request) -> None:
    """A real change-feed page made false: the changes it holds (if any) get
    a key that is no key name, a revision that is no number or a value past
    what a write may set; or the page goes back before ``since``, or holds
    more changes than asked for."""
    changes: list[dict[str, Any]] = data["changes"]
    if lie == "feed-backwards":
        data["revision"] = int(request.query_params.get("since", "1")) - 1
        return
    if lie == "feed-flood":
        data["changes"] = [
            {"revision": data["revision"], "op": "set", "key": "user:/x", "value": "v"}
        ] * (FEED_PAGE + 1)
        return
    for change in changes:
        if lie == "feed-names":
            change["key"] = "no namespace/../at all"
        elif lie == "feed-types":
            change["revision"] = str(change["revision"])
        elif lie == "feed-huge":
            change["value"] = "x" * (MAX_VALUE + 1)


async def _flood() -> AsyncIterator[bytes]:
    chunk = b" " * (1 << 20)
    while True:
        yield chunk
        await asyncio.sleep(0)


async def _endless() -> AsyncIterator[bytes]:
    yield b'{"api": 1, "pad": "'
    while True:
        await asyncio.sleep(0.05)
        yield b"x"
